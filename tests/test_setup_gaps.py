"""Gaps between the set-up parts (issue 13): retired units in pickers, a cadre's village on the
day, records saved offline before a move, reports after a move, a city admin's county."""
import io
from datetime import date

from sqlalchemy import select

from fieldlog.extensions import db
from fieldlog.models import Assignment, Household, User
from fieldlog.models.base import utcnow
from fieldlog.services.org.units import add_unit
from fieldlog.services.people.cadre_import import preview_cadres
from tests.test_cadre_import import xlsx

# --- retired units are not offered for new things -----------------------------------------


def _retired_village(world):
    village = add_unit(world.t1, "520000100299", "旧村", lat=26.6, lon=106.7, geofence_m=800)
    village.retired_at = utcnow()
    db.session.commit()
    return village


def _options(page: str, name: str) -> str:
    start = page.index(f'name="{name}"')
    return page[start:page.index("</select>", start)]


def test_people_pickers_leave_retired_units_out_but_keep_a_users_own(client, world, login):
    old = _retired_village(world)
    session = login("admin")
    new_page = client.get("/admin/users/new").get_data(as_text=True)
    assert "旧村" not in _options(new_page, "scope_unit_id")
    assert "北堡村" in _options(new_page, "scope_unit_id")
    terms = client.get(f"/admin/users/{world.sec1.id}").get_data(as_text=True)
    assert "旧村" not in _options(terms, "village_id")
    # A user still in a retired unit sees it on their own form (history is kept).
    world.sup_t1.scope_unit_id = old.id
    db.session.commit()
    own = client.get(f"/admin/users/{world.sup_t1.id}").get_data(as_text=True)
    assert "旧村" in _options(own, "scope_unit_id")
    # Posting the retired unit for someone else, or a term there, is refused.
    answer = client.post("/admin/users/new", data={
        "csrf_token": session.csrf, "username": "wang_xin", "display_name": "王新",
        "phone": "13900001111", "role": "secretary", "scope_unit_id": old.id, "locale": ""})
    assert answer.status_code == 422 and "旧村 已停用" in answer.get_data(as_text=True)
    assert db.session.scalar(select(User).where(User.username == "wang_xin")) is None
    term = client.post(f"/admin/users/{world.sec3.id}/terms/move", data={
        "csrf_token": session.csrf, "village_id": old.id, "start": "2026-06-01",
        "dispatching_unit": "县财政局", "post": "team_member"})
    assert term.status_code == 422 and "旧村 已停用" in term.get_data(as_text=True)
    assert db.session.scalar(select(Assignment).where(Assignment.village_id == old.id)) is None


def test_the_cadre_import_names_a_retired_village(world):
    old = _retired_village(world)
    sheet = preview_cadres(world.admin, xlsx([
        ["张明", "13911110001", "县人社局", "工作队员", "旧村", "2026-03-01", ""],
        ["李华", "13911110002", "县人社局", "工作队员", old.code, "2026-03-01", ""]]))
    assert not sheet.rows
    assert [e.row for e in sheet.errors] == [2, 3]
    assert all("已停用" in e.message and old.code in e.message for e in sheet.errors)


def test_the_register_chooser_leaves_retired_villages_out_and_refuses_an_import(
        client, world, login):
    old = _retired_village(world)
    session = login("admin")
    chooser = client.get("/register/").get_data(as_text=True)
    assert "旧村" not in chooser and "北堡村" in chooser
    assert "旧村" in client.get("/register/coverage").get_data(as_text=True)  # history
    assert client.get(f"/register/?village={old.id}").status_code == 200  # its page stays
    answer = client.post(f"/register/import?village={old.id}", data={
        "csrf_token": session.csrf, "file": (io.BytesIO(
            "户主姓名,门牌号\n王五,1号\n".encode()), "r.csv")},
        content_type="multipart/form-data")
    assert answer.status_code == 422 and "已停用" in answer.get_data(as_text=True)
    assert db.session.scalar(select(Household).where(Household.village_id == old.id)) is None


_unused = date
