"""Point-in-polygon (ray casting, holes, MultiPolygon) and the GCJ-02 → WGS-84 inverse."""
import pytest

from fieldlog.services.common.geo import (
    bbox_of,
    distance_to_boundary_m,
    gcj02_to_wgs84,
    point_in_polygon,
    wgs84_to_gcj02,
)
from tests.test_mapdata import REFERENCE

SQUARE = [[106.70, 26.57], [106.72, 26.57], [106.72, 26.59], [106.70, 26.59], [106.70, 26.57]]
HOLE = [[106.705, 26.575], [106.715, 26.575], [106.715, 26.585], [106.705, 26.585],
        [106.705, 26.575]]
FAR_SQUARE = [[p[0] + 0.1, p[1]] for p in SQUARE]


def test_a_point_inside_a_polygon_is_in_and_outside_is_out():
    square = {"type": "Polygon", "coordinates": [SQUARE]}
    assert point_in_polygon(26.58, 106.71, square)
    assert not point_in_polygon(26.60, 106.71, square)  # north of it
    assert not point_in_polygon(26.58, 106.69, square)  # west of it


def test_a_hole_is_outside():
    with_hole = {"type": "Polygon", "coordinates": [SQUARE, HOLE]}
    assert not point_in_polygon(26.58, 106.71, with_hole)  # in the hole
    assert point_in_polygon(26.572, 106.71, with_hole)  # between the hole and the edge


def test_a_multipolygon_holds_the_points_of_each_part():
    multi = {"type": "MultiPolygon", "coordinates": [[SQUARE, HOLE], [FAR_SQUARE]]}
    assert point_in_polygon(26.58, 106.81, multi)  # the second part
    assert point_in_polygon(26.572, 106.71, multi)
    assert not point_in_polygon(26.58, 106.71, multi)  # the first part's hole
    assert not point_in_polygon(26.58, 106.76, multi)  # between the parts


def test_a_concave_polygon():
    # A "U": the notch between its arms is outside.
    u = [[0, 0], [3, 0], [3, 3], [2, 3], [2, 1], [1, 1], [1, 3], [0, 3], [0, 0]]
    geometry = {"type": "Polygon", "coordinates": [u]}
    assert point_in_polygon(2.0, 0.5, geometry)  # lat 2 in the left arm (lon 0.5)
    assert not point_in_polygon(2.0, 1.5, geometry)  # the notch
    assert point_in_polygon(2.0, 2.5, geometry)  # the right arm


def test_bbox_and_distance_to_the_boundary():
    square = {"type": "Polygon", "coordinates": [SQUARE]}
    assert bbox_of(square) == (26.57, 106.70, 26.59, 106.72)
    # 0.01° of latitude north of the top edge is about 1.1 km.
    assert distance_to_boundary_m(26.60, 106.71, square) == pytest.approx(1113, rel=0.01)


@pytest.mark.parametrize(("wgs", "gcj"), REFERENCE)
def test_gcj02_to_wgs84_inverts_the_published_reference_pairs(wgs, gcj):
    lat, lon = gcj02_to_wgs84(*gcj)
    tolerance = 1e-5 if wgs == (39.90872, 116.39748) else 1e-7  # the brief's pair: 5 places
    assert lat == pytest.approx(wgs[0], abs=tolerance)
    assert lon == pytest.approx(wgs[1], abs=tolerance)


def test_gcj02_to_wgs84_round_trips_to_well_under_a_metre_across_china():
    for lat in range(19, 52, 4):
        for lon in range(76, 134, 5):
            back = gcj02_to_wgs84(*wgs84_to_gcj02(lat + 0.37, lon + 0.61))
            assert abs(back[0] - lat - 0.37) < 1e-8 and abs(back[1] - lon - 0.61) < 1e-8


def test_outside_china_gcj02_is_wgs84():
    assert gcj02_to_wgs84(48.8566, 2.3522) == (48.8566, 2.3522)
