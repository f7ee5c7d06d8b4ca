"""'In the village' is one function: the boundary polygon when a village has one, else the
centre and radius. Days in the village and the integrity flag both follow it."""
from datetime import date

from fieldlog.extensions import db
from fieldlog.services.attendance.days import village_days
from fieldlog.services.integrity import rules
from fieldlog.services.org.boundaries import set_boundary
from fieldlog.services.org.fence import in_village
from tests.test_attendance import NOV, at, located_visit, stored
from tests.test_integrity import kinds, sentence
from tests.test_sync_api import sync

# V1's centre is (26.58, 106.71), radius 1500 m. Its boundary: a long strip running 5 km east
# and only 400 m wide north–south, the centre inside.
STRIP = [[106.705, 26.578], [106.760, 26.578], [106.760, 26.582], [106.705, 26.582],
         [106.705, 26.578]]
EAST_INSIDE = {"lat": 26.5800, "lon": 106.7500, "accuracy_m": 10.0}  # ~4 km east: in the strip
NORTH_OUTSIDE = {"lat": 26.5900, "lon": 106.7100, "accuracy_m": 10.0}  # ~1.1 km north: in the
# radius, ~900 m beyond the strip's northern edge


def _bound(world):
    set_boundary(world.v1, {"type": "Polygon", "coordinates": [STRIP]})
    db.session.commit()


def test_in_village_uses_the_polygon_when_there_is_one(world):
    v1 = world.v1
    assert not in_village(v1, EAST_INSIDE["lat"], EAST_INSIDE["lon"])  # beyond the radius
    assert in_village(v1, NORTH_OUTSIDE["lat"], NORTH_OUTSIDE["lon"])  # within it
    _bound(world)
    assert in_village(v1, EAST_INSIDE["lat"], EAST_INSIDE["lon"])
    assert not in_village(v1, NORTH_OUTSIDE["lat"], NORTH_OUTSIDE["lon"])
    assert not in_village(v1, None, None)


def test_days_in_the_village_follow_the_boundary(world, device):
    _bound(world)
    phone, h = device(world.sec1), world.h1[1]
    stored(sync(phone, located_visit(h, at(3, 10), EAST_INSIDE),
                located_visit(h, at(4, 10), NORTH_OUTSIDE)))
    # Both the grouped SQL path and the row-by-row one give the same answer.
    assert village_days([world.sec1.id], *NOV)[world.sec1.id] == {date(2026, 11, 3): "records"}
    set_boundary(world.v1, None)
    db.session.commit()
    assert village_days([world.sec1.id], *NOV)[world.sec1.id] == {date(2026, 11, 4): "records"}


def test_days_row_by_row_follow_the_boundary_too(world, device):
    from fieldlog.services.attendance import days

    _bound(world)
    phone, h = device(world.sec1), world.h1[1]
    stored(sync(phone, located_visit(h, at(3, 10), EAST_INSIDE),
                located_visit(h, at(4, 10), NORTH_OUTSIDE)))
    original = days._sql_days_possible
    days._sql_days_possible = lambda *_a: False
    try:
        assert village_days([world.sec1.id], *NOV)[world.sec1.id] == {
            date(2026, 11, 3): "records"}
    finally:
        days._sql_days_possible = original


def test_the_far_from_village_flag_follows_the_boundary(world, device):
    from tests.test_integrity import store

    _bound(world)
    phone, h = device(world.sec1), world.h1[1]  # h1[1] has no register position
    inside = located_visit(h, at(3, 10), EAST_INSIDE)
    outside = located_visit(h, at(3, 16), NORTH_OUTSIDE)
    store(phone, inside, outside)
    assert rules.FAR_FROM_VILLAGE not in kinds(inside["id"])
    flag = kinds(outside["id"])[rules.FAR_FROM_VILLAGE]
    assert flag["boundary"] is True and 850 < flag["distance_m"] < 950
    assert sentence(outside["id"], rules.FAR_FROM_VILLAGE).startswith(
        "Recorded 891 m outside 北堡村's boundary (GPS accuracy 10 m)")
