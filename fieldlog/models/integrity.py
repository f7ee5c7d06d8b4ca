"""Integrity flags computed on records, and inspectors' spot-checks of them."""
from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fieldlog.extensions import db
from fieldlog.models.base import utcnow
from fieldlog.models.people import User


class Flag(db.Model):
    """A computed integrity flag on a record; never typed by anyone, only ever explained."""

    __tablename__ = "integrity_flags"
    __table_args__ = (
        UniqueConstraint("record_type", "record_id", "kind", name="uq_integrity_flags_record_kind"),
        Index("ix_integrity_flags_village_kind", "village_id", "kind"),
        Index("ix_integrity_flags_author", "author_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    record_type: Mapped[str] = mapped_column(String(16))
    record_id: Mapped[str] = mapped_column(Uuid(as_uuid=False))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    village_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    kind: Mapped[str] = mapped_column(String(32))
    # The numbers behind the plain-language explanation, as JSON (distances, speeds, times…).
    params: Mapped[str] = mapped_column(Text, default="{}")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    explained_at: Mapped[datetime | None]
    explained_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    explanation: Mapped[str | None] = mapped_column(String(500))

    explained_by: Mapped[User | None] = relationship(foreign_keys=[explained_by_id])


class Sample(db.Model):
    """A spot-check sample drawn by an inspector: reproducible from its seed."""

    __tablename__ = "spot_samples"

    id: Mapped[int] = mapped_column(primary_key=True)
    inspector_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    scope_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    period_start: Mapped[date]
    period_end: Mapped[date]
    size: Mapped[int]
    seed: Mapped[int]
    flag_weight: Mapped[float] = mapped_column(default=3.0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    inspector: Mapped[User] = relationship()
    tasks: Mapped[list["CheckTask"]] = relationship(back_populates="sample",
                                                    order_by="CheckTask.id")


class CheckTask(db.Model):
    """One sampled record to verify, with the method used and what was found."""

    __tablename__ = "check_tasks"
    __table_args__ = (Index("ix_check_tasks_record", "record_type", "record_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sample_id: Mapped[int] = mapped_column(ForeignKey("spot_samples.id"), index=True)
    record_type: Mapped[str] = mapped_column(String(16))
    record_id: Mapped[str] = mapped_column(Uuid(as_uuid=False))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    household_id: Mapped[str | None] = mapped_column(Uuid(as_uuid=False))
    flagged: Mapped[bool] = mapped_column(default=False)
    method: Mapped[str | None] = mapped_column(String(16))  # phone / site / document
    # confirmed / not_as_recorded / unreachable
    outcome: Mapped[str | None] = mapped_column(String(16))
    notes: Mapped[str] = mapped_column(Text, default="")
    done_at: Mapped[datetime | None]
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    sample: Mapped[Sample] = relationship(back_populates="tasks")
    author: Mapped[User] = relationship(foreign_keys=[author_id])


class PresenceCheck(db.Model):
    """Village-knowledge questions an inspector asked a cadre by phone, with the answers."""

    __tablename__ = "presence_checks"

    id: Mapped[int] = mapped_column(primary_key=True)
    inspector_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    cadre_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    asked_at: Mapped[datetime] = mapped_column(default=utcnow)
    # JSON list of {question, expected, answer, correct}
    answers: Mapped[str] = mapped_column(Text, default="[]")
    outcome: Mapped[str] = mapped_column(String(16))  # passed / failed / unreachable
    notes: Mapped[str] = mapped_column(Text, default="")

    cadre: Mapped[User] = relationship(foreign_keys=[cadre_id])
