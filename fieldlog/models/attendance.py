"""Attendance (考勤) without a check-in: days a cadre marks, and leave with its approvals."""
from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fieldlog.extensions import db
from fieldlog.models.base import utcnow
from fieldlog.models.people import User
from fieldlog.models.records import RecordMixin

# present: in the village without a located record that day (the reason says why);
# official: away on reported official business (报备), which counts as a village day.
DAY_KINDS = ("present", "official")
OFFICIAL_REASONS = ("meeting", "training", "project", "other")
LEAVE_TYPES = ("personal", "sick", "annual", "other")
# pending → approved / rejected; the author may cancel while pending.
LEAVE_STATES = ("pending", "approved", "rejected", "cancelled")


class DayMark(RecordMixin, db.Model):
    """A day the cadre marks as present in the village or away on official business."""

    __tablename__ = "day_marks"
    __table_args__ = (UniqueConstraint("author_id", "day", name="uq_day_marks_author_day"),)

    day: Mapped[date]
    kind: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(16), default="other")
    note: Mapped[str] = mapped_column(Text, default="")


class LeaveRequest(RecordMixin, db.Model):
    """Leave asked for on the phone; approved step by step along the county's chain."""

    __tablename__ = "leave_requests"
    __table_args__ = (Index("ix_leave_requests_author_start", "author_id", "start_date"),)

    leave_type: Mapped[str] = mapped_column(String(16))
    start_date: Mapped[date]
    end_date: Mapped[date]
    days: Mapped[int]
    reason: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    # The approval chain fixed when the request arrived: JSON list of levels, e.g.
    # ["township", "county"]; `step` is the index of the level that must act next.
    chain: Mapped[str] = mapped_column(String(200), default="[]")
    step: Mapped[int] = mapped_column(default=0)
    decided_at: Mapped[datetime | None]


class LeaveDecision(db.Model):
    """One approver's decision on one step of a leave request."""

    __tablename__ = "leave_decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    leave_id: Mapped[str] = mapped_column(
        Uuid(as_uuid=False), ForeignKey("leave_requests.id", ondelete="CASCADE"), index=True)
    step: Mapped[int]
    level: Mapped[str] = mapped_column(String(16))
    approver_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    decision: Mapped[str] = mapped_column(String(16))  # approved | rejected
    comment: Mapped[str] = mapped_column(Text, default="")
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)

    approver: Mapped[User] = relationship()
