"""Records a secretary makes on the phone: visits, meetings, six-one actions, term goals.

Every record type shares `RecordMixin`: a UUID made by the phone, the author and village, device
and server times, an optional GPS fix, a version that each edit increments, a review status and
the hash of its content (a replay with the same UUID and content is a no-op).
"""
from datetime import date, datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from fieldlog.extensions import db
from fieldlog.models.base import utcnow
from fieldlog.models.households import Household
from fieldlog.models.org import OrgUnit
from fieldlog.models.people import User

# Review status of a record: submitted (waiting for a reviewer, editable by its author),
# returned (sent back with a comment, editable), approved (locked).
STATUSES = ("submitted", "returned", "approved")


class RecordMixin:
    """Columns every synced, versioned, reviewable record carries."""

    id: Mapped[str] = mapped_column(Uuid(as_uuid=False), primary_key=True)

    @declared_attr
    def author_id(cls) -> Mapped[int]:
        return mapped_column(ForeignKey("users.id"))

    @declared_attr
    def village_id(cls) -> Mapped[int]:
        return mapped_column(ForeignKey("org_units.id"))

    # Times are UTC. occurred_at is what the device claims; received_at is the server's own clock.
    occurred_at: Mapped[datetime]
    device_created_at: Mapped[datetime]
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # How far the phone's clock was ahead (+) or behind (−) the server's when it sent this
    # version, in seconds; null when within a few minutes. The device times above are then
    # already corrected by it (services/records/device_clock.py).
    clock_offset_s: Mapped[int | None]
    updated_at: Mapped[datetime | None]  # server time of the latest version, if edited
    lat: Mapped[float | None]
    lon: Mapped[float | None]
    accuracy_m: Mapped[float | None]
    located_at: Mapped[datetime | None]
    photo_count: Mapped[int] = mapped_column(default=0)  # photos the phone said it would send
    device_id: Mapped[str | None] = mapped_column(Uuid(as_uuid=False))
    version: Mapped[int] = mapped_column(default=1)
    status: Mapped[str] = mapped_column(String(16), default="submitted")
    content_hash: Mapped[str] = mapped_column(String(64))

    @declared_attr
    def author(cls) -> Mapped[User]:
        return relationship(User, foreign_keys=[cls.author_id])

    @declared_attr
    def village(cls) -> Mapped[OrgUnit]:
        return relationship(OrgUnit, foreign_keys=[cls.village_id])


class Visit(RecordMixin, db.Model):
    """A household visit (走访)."""

    __tablename__ = "visits"
    __table_args__ = (
        # Covering on PostgreSQL, so the progress table and attendance read the index only.
        Index("ix_visits_village_occurred", "village_id", "occurred_at",
              postgresql_include=["household_id", "author_id"]),
        Index("ix_visits_author_occurred", "author_id", "occurred_at",
              postgresql_include=["village_id", "lat", "lon"]),
        Index("ix_visits_status_village", "status", "village_id"),  # the review queue
        # Home: a household's visit this month and its last visit, from the index alone.
        Index("ix_visits_household_occurred", "household_id", "occurred_at"),
    )

    household_id: Mapped[str] = mapped_column(Uuid(as_uuid=False), ForeignKey("households.id"))
    heard: Mapped[str] = mapped_column(Text, default="")  # 民情
    requests: Mapped[str] = mapped_column(Text, default="")  # 诉求
    follow_up: Mapped[bool] = mapped_column(Boolean, default=False)

    household: Mapped[Household] = relationship()


# 三会一课 and the other meetings a secretary minutes.
MEETING_TYPES = ("branch_assembly", "branch_committee", "party_group", "party_lecture",
                 "villagers_say", "two_committees", "other")


class Meeting(RecordMixin, db.Model):
    """Minutes of a meeting (会议记录); occurred_at is when it started."""

    __tablename__ = "meetings"
    __table_args__ = (
        Index("ix_meetings_village_occurred", "village_id", "occurred_at"),
        Index("ix_meetings_author_occurred", "author_id", "occurred_at"),
    )

    meeting_type: Mapped[str] = mapped_column(String(24))
    title: Mapped[str] = mapped_column(String(200), default="")
    place: Mapped[str] = mapped_column(String(120), default="")
    host: Mapped[str] = mapped_column(String(64), default="")
    expected_count: Mapped[int | None]
    attended_count: Mapped[int | None]
    attendees: Mapped[str] = mapped_column(Text, default="")  # names, free text
    topics: Mapped[str] = mapped_column(Text, default="")
    decisions: Mapped[str] = mapped_column(Text, default="")


# The five typed six-one actions; 走访一遍农户 (visit_all) comes from coverage, never typed.
ACTION_TYPES = ("party_lecture", "practical_deed", "activity", "plan", "pledge")
ACTION_STATES = ("planned", "under_way", "done")


class Action(RecordMixin, db.Model):
    """A six-one action (六个一) with its state; occurred_at is when it was recorded or done."""

    __tablename__ = "actions"
    __table_args__ = (Index("ix_actions_author_occurred", "author_id", "occurred_at"),)

    action_type: Mapped[str] = mapped_column(String(24))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(16), default="planned")
    due_date: Mapped[date | None]  # a pledge's promised date
    done_on: Mapped[date | None]
    evidence: Mapped[str] = mapped_column(Text, default="")  # what shows it was done


# The term's five-one goals (五个一).
GOAL_TYPES = ("strong_team", "new_members", "highlights", "project", "stability")


class Goal(RecordMixin, db.Model):
    """A five-one goal of a term; records are linked to it as evidence (GoalLink)."""

    __tablename__ = "goals"
    __table_args__ = (Index("ix_goals_author", "author_id"),)

    goal_type: Mapped[str] = mapped_column(String(24))
    title: Mapped[str] = mapped_column(String(200))
    target: Mapped[str] = mapped_column(Text, default="")  # what the cadre commits to reach
    progress: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(16), default="under_way")


class GoalLink(db.Model):
    """A record offered as evidence of a goal."""

    __tablename__ = "goal_links"
    __table_args__ = (UniqueConstraint("goal_id", "record_type", "record_id",
                                       name="uq_goal_links_record"),
                      Index("ix_goal_links_record", "record_type", "record_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    goal_id: Mapped[str] = mapped_column(Uuid(as_uuid=False),
                                         ForeignKey("goals.id", ondelete="CASCADE"), index=True)
    record_type: Mapped[str] = mapped_column(String(16))
    record_id: Mapped[str] = mapped_column(Uuid(as_uuid=False))
    linked_at: Mapped[datetime] = mapped_column(default=utcnow)
