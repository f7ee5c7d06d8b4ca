"""The org tree: (city →) county → township → village."""
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fieldlog.extensions import db

KINDS = ("city", "county", "township", "village")


class OrgUnit(db.Model):
    """A node of the org tree; villages carry a centre point, a geofence radius and optionally
    a boundary polygon (GeoJSON geometry, WGS-84) with its bounding box."""

    __tablename__ = "org_units"
    __table_args__ = (CheckConstraint("kind IN ('city', 'county', 'township', 'village')",
                                      name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    # The 统计用区划代码: 12 digits for a village (shorter prefixes for the levels above).
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    # Materialised path ("/1/4/17/") so a scope is one indexed LIKE 'prefix%' query.
    path: Mapped[str] = mapped_column(String(255), index=True, default="")
    lat: Mapped[float | None]
    lon: Mapped[float | None]
    geofence_m: Mapped[int | None]
    # Retired: gone from pickers and new assignments; its records and history stay.
    retired_at: Mapped[datetime | None]
    # A GeoJSON Polygon or MultiPolygon geometry ([lon, lat] pairs, WGS-84) and its box, so a
    # query can leave out points clearly outside before the exact test.
    boundary: Mapped[str | None] = mapped_column(Text)
    bbox_min_lat: Mapped[float | None]
    bbox_min_lon: Mapped[float | None]
    bbox_max_lat: Mapped[float | None]
    bbox_max_lon: Mapped[float | None]

    parent: Mapped["OrgUnit | None"] = relationship(remote_side=[id])

    @property
    def retired(self) -> bool:
        return self.retired_at is not None

    def __repr__(self) -> str:
        return f"<OrgUnit {self.kind} {self.code} {self.name}>"
