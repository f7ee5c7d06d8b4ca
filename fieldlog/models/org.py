"""The org tree: county → township → village."""
from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fieldlog.extensions import db

KINDS = ("county", "township", "village")


class OrgUnit(db.Model):
    """A node of the org tree; villages carry a centre point and a geofence radius."""

    __tablename__ = "org_units"
    __table_args__ = (CheckConstraint("kind IN ('county', 'township', 'village')", name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    # Materialised path ("/1/4/17/") so a scope is one indexed LIKE 'prefix%' query.
    path: Mapped[str] = mapped_column(String(255), index=True, default="")
    lat: Mapped[float | None]
    lon: Mapped[float | None]
    geofence_m: Mapped[int | None]

    parent: Mapped["OrgUnit | None"] = relationship(remote_side=[id])

    def __repr__(self) -> str:
        return f"<OrgUnit {self.kind} {self.code} {self.name}>"
