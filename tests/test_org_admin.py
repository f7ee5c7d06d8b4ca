"""The org tree pages: an admin manages their own unit's subtree only; a city admin every
county of the city; supervisors never reach them. Moves rewrite paths; retiring keeps
history; deleting refuses a unit anything refers to; every change is audited."""
import pytest
from sqlalchemy import select

from fieldlog.extensions import db
from fieldlog.models import AuditEntry, OrgUnit, User
from fieldlog.permissions import scope_village_ids
from fieldlog.services.org.settings import county_id_of
from fieldlog.services.org.units import add_unit
from tests.conftest import PASSWORD


@pytest.fixture
def other(world, password_hash):
    """County B (with a township and a village) and its admin; a city above both counties
    with its admin, built as the CLI would (the city made, C and B moved under it)."""
    from fieldlog.services.org.units import reparent

    county_b = add_unit(None, "520200", "乙县")
    town_b = add_unit(county_b, "520200100", "乙镇")
    village_b = add_unit(town_b, "520200100201", "乙村", lat=27.0, lon=107.0, geofence_m=900)
    city = add_unit(None, "5201", "丙市", kind="city")
    reparent(world.county, city)
    reparent(county_b, city)
    users = {}
    for name, unit in (("admin_b", county_b), ("admin_city", city)):
        users[name] = User(username=name, display_name=name, role="admin",
                           scope_unit_id=unit.id, password_hash=password_hash)
        db.session.add(users[name])
    db.session.commit()
    return type("Other", (), {"county": county_b, "town": town_b, "village": village_b,
                              "city": db.session.get(OrgUnit, city.id), **users})


def signed_in(client, username):
    from tests.conftest import csrf_token

    token = csrf_token(client)
    response = client.post("/login", data={"username": username, "password": PASSWORD,
                                           "csrf_token": token})
    assert response.status_code == 302
    return csrf_token(client)


def audit_actions() -> list[str]:
    return list(db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def test_the_tree_page_shows_the_admins_county_only(world, other, client):
    signed_in(client, "admin")
    page = client.get("/admin/org").get_data(as_text=True)
    assert "北堡村" in page and "河湾村" in page and "测试县" in page
    assert "乙村" not in page and "丙市" not in page
    assert client.get(f"/admin/org/{other.village.id}").status_code == 404
    assert client.get(f"/admin/org/{world.v1.id}").status_code == 200


def test_a_city_admin_sees_every_county_and_creates_one(world, other, client):
    token = signed_in(client, "admin_city")
    page = client.get("/admin/org").get_data(as_text=True)
    assert "丙市" in page and "测试县" in page and "乙村" in page
    response = client.post(f"/admin/org/new?parent={other.city.id}", data={
        "csrf_token": token, "name": "丁县", "code": "520300"})
    assert response.status_code == 302
    county = db.session.scalar(select(OrgUnit).where(OrgUnit.name == "丁县"))
    assert county.kind == "county" and county.path == f"{other.city.path}{county.id}/"
    assert "org.create" in audit_actions()


def test_a_supervisor_is_refused(world, client):
    signed_in(client, "sup_county")
    assert client.get("/admin/org").status_code == 403
    assert client.get("/admin/org/import").status_code == 403


def test_create_a_village_checks_every_field(world, client):
    token = signed_in(client, "admin")
    client.get("/lang/en")
    bad = client.post(f"/admin/org/new?parent={world.t1.id}", data={
        "csrf_token": token, "name": "", "code": "12345", "lat": "95", "lon": "x",
        "geofence_m": "10"})
    assert bad.status_code == 422
    text = bad.get_data(as_text=True)
    for message in ("12 digits", "between -90 and 90", "Longitude must be a number",
                    "between 50 and 20000"):
        assert message in text.replace("&#39;", "'"), message
    ok = client.post(f"/admin/org/new?parent={world.t1.id}", data={
        "csrf_token": token, "name": "新村", "code": "520000000123", "lat": "26.6",
        "lon": "106.7", "geofence_m": ""})
    assert ok.status_code == 302
    village = db.session.scalar(select(OrgUnit).where(OrgUnit.code == "520000000123"))
    assert (village.kind, village.parent_id, village.geofence_m) == ("village", world.t1.id,
                                                                      1000)
    dup = client.post(f"/admin/org/new?parent={world.t1.id}", data={
        "csrf_token": token, "name": "又一村", "code": "520000000123", "lat": "26.6",
        "lon": "106.7"})
    assert dup.status_code == 422 and "already used" in dup.get_data(as_text=True)


def test_rename_and_move_a_township_rewrites_the_paths_below(world, other, client):
    token = signed_in(client, "admin_city")
    response = client.post(f"/admin/org/{world.t2.id}/move", data={
        "csrf_token": token, "parent": other.county.id})
    assert response.status_code == 302
    db.session.expire_all()
    t2, v3 = db.session.get(OrgUnit, world.t2.id), db.session.get(OrgUnit, world.v3.id)
    assert t2.parent_id == other.county.id
    assert v3.path == f"{other.county.path}{t2.id}/{v3.id}/"
    # V3's records now belong to county B's scope: its admin sees V3, county C's does not.
    admin_b = db.session.get(User, other.admin_b.id)
    assert v3.id in set(db.session.scalars(scope_village_ids(admin_b)))
    assert v3.id not in set(db.session.scalars(scope_village_ids(world.admin)))
    assert county_id_of(v3) == other.county.id
    # A village cannot hang under a county.
    client.post(f"/admin/org/{v3.id}/move", data={"csrf_token": token,
                                                  "parent": other.county.id})
    db.session.expire_all()
    assert db.session.get(OrgUnit, v3.id).parent_id == t2.id
    client.post(f"/admin/org/{t2.id}", data={"csrf_token": token, "name": "西川镇",
                                             "code": "T2"})
    db.session.expire_all()
    assert db.session.get(OrgUnit, t2.id).name == "西川镇"
    assert {"org.move", "org.update"} <= set(audit_actions())


def test_a_county_admin_cannot_move_into_another_county(world, other, client):
    token = signed_in(client, "admin")
    client.post(f"/admin/org/{world.v3.id}/move", data={"csrf_token": token,
                                                        "parent": other.town.id})
    db.session.expire_all()
    assert db.session.get(OrgUnit, world.v3.id).parent_id == world.t2.id


def test_retire_restore_and_delete(world, client):
    token = signed_in(client, "admin")
    # A township with villages in use cannot be retired; a village can, and comes back.
    client.post(f"/admin/org/{world.t1.id}/state", data={"csrf_token": token,
                                                         "action": "retire"})
    db.session.expire_all()
    assert db.session.get(OrgUnit, world.t1.id).retired_at is None
    client.post(f"/admin/org/{world.v2.id}/state", data={"csrf_token": token,
                                                         "action": "retire"})
    db.session.expire_all()
    assert db.session.get(OrgUnit, world.v2.id).retired
    # Retired: gone from the parent choices, still on the tree page, history kept.
    assert "已停用" in client.get("/admin/org").get_data(as_text=True) or \
        "Retired" in client.get("/admin/org").get_data(as_text=True)
    client.post(f"/admin/org/{world.v2.id}/state", data={"csrf_token": token,
                                                         "action": "restore"})
    db.session.expire_all()
    assert not db.session.get(OrgUnit, world.v2.id).retired
    # V1 has households and a secretary: deleting is refused, nothing lost.
    response = client.post(f"/admin/org/{world.v1.id}/state", data={
        "csrf_token": token, "action": "delete"}, follow_redirects=True)
    assert db.session.get(OrgUnit, world.v1.id) is not None
    assert "retire it instead" in response.get_data(as_text=True) or \
        "改为停用" in response.get_data(as_text=True)
    # An empty new village can be deleted.
    empty = add_unit(world.t2, "520000000777", "空村", lat=26.4, lon=106.6, geofence_m=500)
    db.session.commit()
    client.post(f"/admin/org/{empty.id}/state", data={"csrf_token": token, "action": "delete"})
    db.session.expire_all()
    assert db.session.get(OrgUnit, empty.id) is None
    assert {"org.retire", "org.restore", "org.delete"} <= set(audit_actions())


def test_pages_speak_chinese_and_english(world, client):
    signed_in(client, "admin")
    assert "组织架构" in client.get("/admin/org").get_data(as_text=True)
    client.get("/lang/en")
    assert "Organisation" in client.get("/admin/org").get_data(as_text=True)
