"""Geodesic distances (WGS-84) with geopy."""
from geopy.distance import geodesic


def distance_m(lat1: float | None, lon1: float | None,
               lat2: float | None, lon2: float | None) -> float | None:
    """Return the geodesic distance in metres, or None when a point is missing."""
    if None in (lat1, lon1, lat2, lon2):
        return None
    return geodesic((lat1, lon1), (lat2, lon2)).meters
