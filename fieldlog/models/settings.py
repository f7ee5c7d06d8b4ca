"""County settings editable by administrators, and supervisors' manual scores."""
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fieldlog.extensions import db
from fieldlog.models.base import utcnow
from fieldlog.models.people import User


class CountySetting(db.Model):
    """One setting of a county (JSON text): attendance threshold, leave chain, scoring rubric…"""

    __tablename__ = "county_settings"
    __table_args__ = (UniqueConstraint("county_id", "key", name="uq_county_settings_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    county_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    key: Mapped[str] = mapped_column(String(48))
    value: Mapped[str] = mapped_column(Text)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ManualScore(db.Model):
    """Points a supervisor gives a cadre by hand on one rubric item for one period, with why."""

    __tablename__ = "manual_scores"
    __table_args__ = (UniqueConstraint("cadre_id", "period", "item_code",
                                       name="uq_manual_scores_item"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cadre_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    period: Mapped[str] = mapped_column(String(16))  # "2026-11", "2026-Q4", "2026"
    item_code: Mapped[str] = mapped_column(String(32))
    points: Mapped[float]
    reason: Mapped[str] = mapped_column(Text)
    scored_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    scored_at: Mapped[datetime] = mapped_column(default=utcnow)

    scored_by: Mapped[User] = relationship(foreign_keys=[scored_by_id])
