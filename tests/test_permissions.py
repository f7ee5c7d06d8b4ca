"""Scope predicates on their own."""
from fieldlog.extensions import db
from fieldlog.permissions import (
    can_record_in,
    can_view_records_of,
    scope_village_ids,
    unit_in_scope,
)


def village_ids(user) -> set[int]:
    return set(db.session.scalars(scope_village_ids(user)))


def test_scope_follows_the_org_tree(world):
    assert village_ids(world.sec1) == {world.v1.id}
    assert village_ids(world.sup_t1) == {world.v1.id, world.v2.id}
    assert village_ids(world.sup_t2) == {world.v3.id}
    assert village_ids(world.sup_county) == {world.v1.id, world.v2.id, world.v3.id}


def test_path_prefix_does_not_leak_into_sibling_ids(world):
    """'/1/2/' must not match '/1/20/': paths end with a slash for that reason."""
    from fieldlog.services.org.units import add_unit

    for n in range(10):  # push ids past 10 so a bare prefix would collide
        add_unit(world.t2, f"X{n}", f"测试{n}村", lat=26.0, lon=106.0, geofence_m=500)
    db.session.commit()
    assert village_ids(world.sup_t1) == {world.v1.id, world.v2.id}


def test_predicates(world):
    assert can_record_in(world.sec1, world.v1)
    assert not can_record_in(world.sec1, world.v2)
    assert not can_record_in(world.sup_t1, world.v1)
    assert can_view_records_of(world.sup_t1, world.v2)
    assert not can_view_records_of(world.sup_t2, world.v1)
    assert unit_in_scope(world.admin, world.v3)
