"""Whether a point is in a village: inside its boundary polygon when it has one, else within
the geofence radius of its centre. Every check of "in the village" (days in the village, the
integrity flag far from the village) goes through here.
"""
import json
import math
from functools import cached_property

from fieldlog.models import OrgUnit
from fieldlog.services.common.geo import (
    bbox_of,
    distance_m,
    distance_to_boundary_m,
    point_in_polygon,
)

_M_PER_DEG = 111_320.0  # metres per degree of latitude (and of longitude at the equator)


class Fence:
    """A village's area: its boundary polygon when it has one, else a circle around its centre
    (with a cheap pre-test so geopy runs only near the circle's edge)."""

    def __init__(self, lat: float | None, lon: float | None, radius: int | None,
                 boundary: str | dict | None = None):
        self.lat, self.lon, self.radius = lat, lon, radius
        self.geometry = json.loads(boundary) if isinstance(boundary, str) else boundary
        self.usable = self.geometry is not None or None not in (lat, lon, radius)
        if None not in (lat, lon):
            self.m_lat = _M_PER_DEG
            self.m_lon = _M_PER_DEG * math.cos(math.radians(lat))

    @classmethod
    def of(cls, unit: OrgUnit) -> "Fence":
        return cls(unit.lat, unit.lon, unit.geofence_m, unit.boundary)

    @property
    def has_boundary(self) -> bool:
        return self.geometry is not None

    @cached_property
    def _box(self) -> tuple[float, float, float, float]:
        return bbox_of(self.geometry)

    def contains(self, lat: float, lon: float) -> bool:
        """Return whether the point is in the village."""
        if self.geometry is not None:
            min_lat, min_lon, max_lat, max_lon = self._box
            if not (min_lat <= lat <= max_lat and min_lon <= lon <= max_lon):
                return False
            return point_in_polygon(lat, lon, self.geometry)
        if not self.usable:
            return False
        dy, dx = (lat - self.lat) * self.m_lat, (lon - self.lon) * self.m_lon
        rough = math.hypot(dx, dy)  # within ~0.5 % of the geodesic distance at village scale
        if rough < self.radius * 0.95:
            return True
        if rough > self.radius * 1.05:
            return False
        return distance_m(lat, lon, self.lat, self.lon) <= self.radius

    def outside_by_m(self, lat: float, lon: float) -> float:
        """Return how far outside the village the point lies (0 inside): metres beyond the
        boundary, or beyond the circle's edge."""
        if self.contains(lat, lon):
            return 0.0
        if self.geometry is not None:
            return distance_to_boundary_m(lat, lon, self.geometry)
        if None in (self.lat, self.lon, self.radius):
            return 0.0
        return max(0.0, distance_m(lat, lon, self.lat, self.lon) - self.radius)


def in_village(unit: OrgUnit, lat: float | None, lon: float | None) -> bool:
    """Return whether (lat, lon) lies in the village: inside its boundary polygon when it has
    one, else within its geofence radius of the centre."""
    if lat is None or lon is None:
        return False
    return Fence.of(unit).contains(lat, lon)
