"""Versions of records and the review decisions made on them."""
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fieldlog.extensions import db
from fieldlog.models.base import utcnow
from fieldlog.models.people import User


class RecordVersion(db.Model):
    """The content of one version of a record, as the phone sent it (JSON text)."""

    __tablename__ = "record_versions"
    __table_args__ = (UniqueConstraint("record_type", "record_id", "version",
                                       name="uq_record_versions_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    record_type: Mapped[str] = mapped_column(String(16))
    record_id: Mapped[str] = mapped_column(Uuid(as_uuid=False))
    version: Mapped[int]
    data: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    device_id: Mapped[str | None] = mapped_column(Uuid(as_uuid=False))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReviewDecision(db.Model):
    """A reviewer approved or returned one version of a record."""

    __tablename__ = "review_decisions"
    __table_args__ = (Index("ix_review_decisions_record", "record_type", "record_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    record_type: Mapped[str] = mapped_column(String(16))
    record_id: Mapped[str] = mapped_column(Uuid(as_uuid=False))
    version: Mapped[int]
    decision: Mapped[str] = mapped_column(String(16))  # approved | returned
    comment: Mapped[str] = mapped_column(Text, default="")
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    decided_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    reviewer: Mapped[User] = relationship()
