"""Records a secretary makes on the phone. Visits first; meetings and actions come later."""
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fieldlog.extensions import db
from fieldlog.models.base import utcnow
from fieldlog.models.households import Household
from fieldlog.models.org import OrgUnit
from fieldlog.models.people import User


class Visit(db.Model):
    """A household visit (走访), keyed by the UUID the phone made for it."""

    __tablename__ = "visits"
    __table_args__ = (
        Index("ix_visits_village_occurred", "village_id", "occurred_at"),
        Index("ix_visits_author_occurred", "author_id", "occurred_at"),
    )

    id: Mapped[str] = mapped_column(Uuid(as_uuid=False), primary_key=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    village_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    household_id: Mapped[str] = mapped_column(
        Uuid(as_uuid=False), ForeignKey("households.id"), index=True
    )
    # Times are UTC. occurred_at is what the device claims; received_at is the server's own clock.
    occurred_at: Mapped[datetime]
    device_created_at: Mapped[datetime]
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    heard: Mapped[str] = mapped_column(Text, default="")  # 民情
    requests: Mapped[str] = mapped_column(Text, default="")  # 诉求
    follow_up: Mapped[bool] = mapped_column(Boolean, default=False)
    lat: Mapped[float | None]
    lon: Mapped[float | None]
    accuracy_m: Mapped[float | None]
    located_at: Mapped[datetime | None]
    photo_count: Mapped[int] = mapped_column(default=0)  # photos the phone said it would send
    device_id: Mapped[str | None] = mapped_column(Uuid(as_uuid=False))
    version: Mapped[int] = mapped_column(default=1)
    status: Mapped[str] = mapped_column(String(16), default="submitted")
    # sha256 of the canonical payload: a replay with the same UUID and content is a no-op.
    content_hash: Mapped[str] = mapped_column(String(64))

    author: Mapped[User] = relationship()
    village: Mapped[OrgUnit] = relationship()
    household: Mapped[Household] = relationship()
