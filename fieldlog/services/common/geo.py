"""Geodesic distances (WGS-84) with geopy, point-in-polygon, and GCJ-02 → WGS-84."""
import math

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


# -- polygons (GeoJSON geometry: [lon, lat] pairs) ----------------------------------------------

def _in_ring(lat: float, lon: float, ring: list) -> bool:
    """Ray casting: whether the point lies inside a closed ring (an edge point may go either
    way; a boundary is never drawn to the metre)."""
    inside = False
    j = len(ring) - 1
    for i in range(len(ring)):
        xi, yi = ring[i][0], ring[i][1]
        xj, yj = ring[j][0], ring[j][1]
        if (yi > lat) != (yj > lat) and lon < (xj - xi) * (lat - yi) / (yj - yi) + xi:
            inside = not inside
        j = i
    return inside


def polygons_of(geometry: dict) -> list:
    """Return the polygons of a Polygon or MultiPolygon geometry (each a list of rings)."""
    if geometry.get("type") == "Polygon":
        return [geometry["coordinates"]]
    if geometry.get("type") == "MultiPolygon":
        return list(geometry["coordinates"])
    return []


def point_in_polygon(lat: float, lon: float, geometry: dict) -> bool:
    """Return whether (lat, lon) lies inside a GeoJSON Polygon or MultiPolygon: inside a
    polygon's outer ring and in none of its holes."""
    for rings in polygons_of(geometry):
        if rings and _in_ring(lat, lon, rings[0]) and not any(
                _in_ring(lat, lon, hole) for hole in rings[1:]):
            return True
    return False


def bbox_of(geometry: dict) -> tuple[float, float, float, float]:
    """Return (min_lat, min_lon, max_lat, max_lon) of a Polygon or MultiPolygon."""
    points = [p for rings in polygons_of(geometry) for ring in rings for p in ring]
    lons, lats = [p[0] for p in points], [p[1] for p in points]
    return min(lats), min(lons), max(lats), max(lons)


def distance_to_boundary_m(lat: float, lon: float, geometry: dict) -> float:
    """Return the distance in metres from a point to the nearest edge of the geometry (a local
    equirectangular projection: exact enough within a few kilometres)."""
    m_lat = 111_320.0
    m_lon = 111_320.0 * math.cos(math.radians(lat))
    best = math.inf
    for rings in polygons_of(geometry):
        for ring in rings:
            for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1], strict=False):
                ax, ay = (x1 - lon) * m_lon, (y1 - lat) * m_lat
                bx, by = (x2 - lon) * m_lon, (y2 - lat) * m_lat
                dx, dy = bx - ax, by - ay
                length = dx * dx + dy * dy
                t = 0.0 if length == 0 else max(0.0, min(1.0, -(ax * dx + ay * dy) / length))
                best = min(best, math.hypot(ax + t * dx, ay + t * dy))
    return best


# -- GCJ-02 (the offset datum of 高德/腾讯 maps) ---------------------------------------------------
# The published forward transform (Krasovsky 1940 ellipsoid); its inverse has no closed form,
# so it is found by fixed-point iteration, to well under a millimetre in a few steps.

_A = 6378245.0  # the Krasovsky 1940 ellipsoid the GCJ-02 formula uses
_EE = 0.00669342162296594323


def out_of_china(lat: float, lon: float) -> bool:
    """Return whether a point lies outside the box where GCJ-02 is defined."""
    return not (72.004 <= lon <= 137.8347 and 0.8293 <= lat <= 55.8271)


def gcj_delta(lat: float, lon: float) -> tuple[float, float]:
    """Return the GCJ-02 offset (degrees of latitude, longitude) at a WGS-84 point."""
    x, y = lon - 105.0, lat - 35.0
    sin, pi = math.sin, math.pi
    common = (20.0 * sin(6.0 * x * pi) + 20.0 * sin(2.0 * x * pi)) * 2.0 / 3.0
    root = math.sqrt(abs(x))
    d_lat = (-100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * root + common
             + (20.0 * sin(y * pi) + 40.0 * sin(y / 3.0 * pi)) * 2.0 / 3.0
             + (160.0 * sin(y / 12.0 * pi) + 320.0 * sin(y * pi / 30.0)) * 2.0 / 3.0)
    d_lon = (300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * root + common
             + (20.0 * sin(x * pi) + 40.0 * sin(x / 3.0 * pi)) * 2.0 / 3.0
             + (150.0 * sin(x / 12.0 * pi) + 300.0 * sin(x / 30.0 * pi)) * 2.0 / 3.0)
    rad_lat = lat / 180.0 * pi
    magic = 1 - _EE * math.sin(rad_lat) ** 2
    sqrt_magic = math.sqrt(magic)
    d_lat = d_lat * 180.0 / ((_A * (1 - _EE)) / (magic * sqrt_magic) * pi)
    d_lon = d_lon * 180.0 / (_A / sqrt_magic * math.cos(rad_lat) * pi)
    return d_lat, d_lon


def wgs84_to_gcj02(lat: float, lon: float) -> tuple[float, float]:
    """Convert a WGS-84 point to GCJ-02; unchanged outside China (where GCJ-02 is undefined)."""
    if out_of_china(lat, lon):
        return lat, lon
    d_lat, d_lon = gcj_delta(lat, lon)
    return lat + d_lat, lon + d_lon


def gcj02_to_wgs84(lat: float, lon: float) -> tuple[float, float]:
    """Convert a GCJ-02 point (高德/腾讯) to WGS-84: iterate wgs ← gcj − offset(wgs) until the
    forward transform of the answer lands on the given point (under 1e-9°, about 0.1 mm)."""
    if out_of_china(lat, lon):
        return lat, lon
    w_lat, w_lon = lat, lon
    for _ in range(20):
        g_lat, g_lon = wgs84_to_gcj02(w_lat, w_lon)
        e_lat, e_lon = g_lat - lat, g_lon - lon
        if abs(e_lat) < 1e-9 and abs(e_lon) < 1e-9:
            break
        w_lat, w_lon = w_lat - e_lat, w_lon - e_lon
    return w_lat, w_lon
