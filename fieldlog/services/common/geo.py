"""Geodesic distances (WGS-84) with geopy."""
from geopy.distance import geodesic


def distance_m(lat1: float | None, lon1: float | None,
               lat2: float | None, lon2: float | None) -> float | None:
    """Return the geodesic distance in metres, or None when a point is missing."""
    if None in (lat1, lon1, lat2, lon2):
        return None
    return geodesic((lat1, lon1), (lat2, lon2)).meters


def sketch(centre: tuple[float, float], radius_m: float, points: dict[str, tuple | None],
           size: int = 280) -> dict:
    """Project a village's geofence and named points into a square SVG of `size` pixels.

    Returns {"size", "cx", "cy", "r", "points": {name: (x, y)}} for a template to draw; a
    local equirectangular projection is exact enough at village scale.
    """
    lat0, lon0 = centre
    metres_per_deg_lat = geodesic((lat0 - 0.5, lon0), (lat0 + 0.5, lon0)).meters
    metres_per_deg_lon = geodesic((lat0, lon0 - 0.5), (lat0, lon0 + 0.5)).meters

    def offset(lat: float, lon: float) -> tuple[float, float]:
        return (lon - lon0) * metres_per_deg_lon, (lat - lat0) * metres_per_deg_lat

    offsets = {name: offset(*p[:2]) for name, p in points.items() if p and None not in p[:2]}
    extent = max([radius_m] + [max(abs(x), abs(y)) for x, y in offsets.values()]) * 1.15 or 1
    scale = (size / 2) / extent
    half = size / 2
    return {
        "size": size, "cx": half, "cy": half, "r": radius_m * scale, "scale": scale,
        "points": {n: (round(half + x * scale, 1), round(half - y * scale, 1))
                   for n, (x, y) in offsets.items()},
    }
