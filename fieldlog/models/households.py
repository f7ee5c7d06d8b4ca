"""Households of a village register and their category tags."""
from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fieldlog.extensions import db
from fieldlog.models.base import utcnow


class Household(db.Model):
    """One household (户) of a village; keyed by UUID so a phone may create one offline later."""

    __tablename__ = "households"
    __table_args__ = (UniqueConstraint("village_id", "house_label", name="uq_households_label"),)

    id: Mapped[str] = mapped_column(Uuid(as_uuid=False), primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    head_name: Mapped[str] = mapped_column(String(40))
    house_label: Mapped[str] = mapped_column(String(40))  # 门牌号
    member_count: Mapped[int] = mapped_column(default=1)
    phone: Mapped[str | None] = mapped_column(String(20))
    lat: Mapped[float | None]
    lon: Mapped[float | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    anonymised_at: Mapped[datetime | None]

    tag_rows: Mapped[list["HouseholdTag"]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="HouseholdTag.tag"
    )

    @property
    def tags(self) -> list[str]:
        return [row.tag for row in self.tag_rows]


class HouseholdTag(db.Model):
    """A category tag (see fieldlog.domain.TAGS) on a household."""

    __tablename__ = "household_tags"

    household_id: Mapped[str] = mapped_column(
        Uuid(as_uuid=False), ForeignKey("households.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(24), primary_key=True, index=True)
