"""Gaps between the set-up parts (issue 13): retired units in pickers, a cadre's village on the
day, records saved offline before a move, reports after a move, a city admin's county."""
import io
from datetime import date

from sqlalchemy import select

from fieldlog.extensions import db
from fieldlog.models import Assignment, Household, Meeting, User, Visit
from fieldlog.models.base import utcnow
from fieldlog.services.org.units import add_unit
from fieldlog.services.people import terms
from fieldlog.services.people.cadre_import import preview_cadres
from tests.test_cadre_import import xlsx
from tests.test_sync_api import sync, visit_payload
from tests.test_sync_records import meeting

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




# --- a cadre's village is the one of the term running on the day --------------------------


def _move(world, user, village, start: str):
    return terms.move_cadre(world.admin, user, {
        "village_id": str(village.id), "start": start, "end": "",
        "dispatching_unit": "县财政局", "post": "team_member"})


def test_a_move_dated_later_takes_effect_on_its_day(client, world, device, login, today_is):
    today_is(date(2026, 11, 16))
    _move(world, world.sec1, world.v2, "2026-11-20")
    phone = device(world.sec1)
    assert db.session.get(User, world.sec1.id).scope_unit_id == world.v1.id
    assert sync(phone, visit_payload(world.h2[0]))[0]["status"] == "forbidden"
    today_is(date(2026, 11, 20))
    # The phone's first sync of the day finds the cadre in the new village.
    assert sync(phone, visit_payload(world.h2[0]))[0]["status"] == "stored"
    assert db.session.get(User, world.sec1.id).scope_unit_id == world.v2.id

    # By session (pages), from the first request of the day too.
    today_is(date(2026, 11, 16))
    _move(world, world.sec3, world.v1, "2026-11-21")
    today_is(date(2026, 11, 21))
    assert db.session.get(User, world.sec3.id).scope_unit_id == world.v3.id
    login("sec3")
    assert "北堡村" in client.get("/m/").get_data(as_text=True)
    assert db.session.get(User, world.sec3.id).scope_unit_id == world.v1.id


# --- records saved offline before a move ---------------------------------------------------


def test_offline_records_of_the_old_term_are_accepted_in_the_old_village(world, device,
                                                                         today_is):
    today_is(date(2026, 11, 16))
    phone = device(world.sec1)
    saved_before = "2026-11-16T09:30:00+08:00"  # on the phone, no signal, in 北堡村
    _move(world, world.sec1, world.v2, "2026-11-17")
    today_is(date(2026, 11, 18))
    old_visit = visit_payload(world.h1[0], occurred_at=saved_before,
                              device_created_at=saved_before)
    old_meeting = meeting(occurred_at=saved_before, device_created_at=saved_before)
    new_meeting = meeting()
    late = visit_payload(world.h1[1])  # 北堡村 after the move: not theirs any more
    elsewhere = visit_payload(world.h3[0], occurred_at=saved_before,
                              device_created_at=saved_before)
    answers = sync(phone, old_visit, old_meeting, new_meeting, late, elsewhere)
    assert [a["status"] for a in answers] == ["stored", "stored", "stored", "forbidden",
                                              "forbidden"]
    assert db.session.get(Visit, old_visit["id"]).village_id == world.v1.id
    assert db.session.get(Meeting, old_meeting["id"]).village_id == world.v1.id
    assert db.session.get(Meeting, new_meeting["id"]).village_id == world.v2.id


# --- reports after a move ------------------------------------------------------------------


def test_last_months_figures_stay_with_the_old_village_after_a_move(world, device, today_is):
    from fieldlog.services.reporting.period import Period
    from fieldlog.services.reporting.table import TableQuery, progress_table

    today_is(date(2026, 10, 10))
    assert sync(device(world.sec1), visit_payload(world.h1[0]))[0]["status"] == "stored"
    today_is(date(2026, 11, 16))
    _move(world, world.sec1, world.v3, "2026-11-01")  # to 河湾村, in the other township
    assert db.session.get(User, world.sec1.id).scope_unit_id == world.v3.id

    october, november = Period.parse("2026-10"), Period.parse("2026-11")
    old = {r.user_id: r for r in progress_table(world.sup_t1, october, TableQuery())}
    assert old[world.sec1.id].village == "北堡村" and old[world.sec1.id].visits["total"] == 1
    assert world.sec1.id not in {
        r.user_id for r in progress_table(world.sup_t2, october, TableQuery())}
    now = {r.user_id: r for r in progress_table(world.sup_t2, november, TableQuery())}
    assert now[world.sec1.id].village == "河湾村" and now[world.sec1.id].visits["total"] == 0
    assert world.sec1.id not in {
        r.user_id for r in progress_table(world.sup_t1, november, TableQuery())}
    county = {r.user_id: r.village for r in progress_table(world.sup_county, october,
                                                           TableQuery())}
    assert county[world.sec1.id] == "北堡村"


# --- a city administrator chooses the county of a settings page ----------------------------


def test_a_city_admin_chooses_the_county_of_the_attendance_settings(client, world, login,
                                                                   password_hash):
    from fieldlog.services.org.settings import county_setting
    from fieldlog.services.org.units import reparent

    city = add_unit(None, "520100", "丙市", kind="city")
    reparent(world.county, city)
    other = add_unit(city, "520101", "甲县")  # first by code: the page used to act on it
    db.session.add(User(username="city_admin", display_name="市委组织部", role="admin",
                        scope_unit_id=city.id, password_hash=password_hash))
    db.session.commit()
    session = login("city_admin")
    page = client.get("/admin/settings/attendance").get_data(as_text=True)
    assert 'data-testid="county-picker"' in page and 'data-testid="settings-form"' not in page
    assert "甲县" in page and "测试县" in page
    url = f"/admin/settings/attendance?county={world.county.id}"
    assert 'data-testid="settings-form"' in client.get(url).get_data(as_text=True)
    answer = client.post(url, data={"csrf_token": session.csrf, "threshold": "18",
                                    "level_0": "township", "from_0": "1"})
    assert answer.status_code == 302 and answer.headers["Location"].endswith(url)
    county = db.session.get(type(city), world.county.id)
    assert county_setting(county, "attendance_days_per_month") == 18
    assert county_setting(db.session.get(type(city), other.id),
                          "attendance_days_per_month") == 20
    # A county outside the city is not offered, nor acted on.
    assert 'data-testid="settings-form"' not in client.get(
        "/admin/settings/attendance?county=999999").get_data(as_text=True)


def test_a_county_under_a_city_keeps_its_own_attendance_threshold(app, client, world, login,
                                                                     today_is):
    """The days a county asks of its cadres are the county's, also when a city sits above it
    (the first unit on a village's path is then the city, not the county)."""
    from fieldlog.services.org.settings import set_county_setting
    from fieldlog.services.org.units import reparent
    from tests.test_figures_agree import row, tag

    today_is(date(2026, 11, 3))
    city = add_unit(None, "5201", "丙市", kind="city")
    reparent(world.county, city)
    add_unit(city, "520100", "甲县")  # the city's first county by code, with the default 20
    set_county_setting(world.admin, world.county, "attendance_days_per_month", 15)
    login("sup_t1")
    page = client.get(f"/progress/cadre/{world.sec1.id}?period=2026-10").get_data(as_text=True)
    assert tag(page, "stat-days")["expected"] == "15"
    page = client.get("/progress/?period=2026-10").get_data(as_text=True)
    assert "/ 15<" in row(page, "progress-row", world.sec1.id)
    page = client.get("/attendance?month=2026-10").get_data(as_text=True)
    cadre_row = row(page, "cadre-row", world.sec1.id)
    assert tag(cadre_row, "days-expected", cadre_row)["text"] == "/15"
    # …and its own visit intervals (the register's coverage).
    from fieldlog.services.register.coverage import intervals_for

    app.config["COUNTY_VISIT_INTERVALS"] = {world.county.code: {"default": 9}}
    assert intervals_for(db.session.get(type(world.v1), world.v1.id))[1] == 9


def test_a_city_admin_chooses_the_county_of_the_rubric_and_exports_name_the_city(
        client, world, login, password_hash):
    import json

    from fieldlog.services.org.settings import county_setting
    from fieldlog.services.org.units import reparent
    from fieldlog.services.reporting.scoring import rubric_for

    city = add_unit(None, "520100", "丙市", kind="city")
    reparent(world.county, city)
    other = add_unit(city, "520101", "甲县")  # first by code: the page used to act on it
    db.session.add(User(username="city_admin", display_name="市委组织部", role="admin",
                        scope_unit_id=city.id, password_hash=password_hash))
    db.session.commit()
    session = login("city_admin")
    page = client.get("/admin/scoring").get_data(as_text=True)
    assert 'data-testid="county-picker"' in page and 'data-testid="rubric-form"' not in page
    url = f"/admin/scoring?county={world.county.id}"
    page = client.get(url).get_data(as_text=True)
    assert 'data-testid="rubric-form"' in page and "测试县" in page
    rubric = rubric_for(world.county)
    rubric["bands"][0]["min"] -= 1
    answer = client.post(url, data={"csrf_token": session.csrf,
                                    "rubric": json.dumps(rubric, ensure_ascii=False)})
    assert answer.status_code == 302 and answer.headers["Location"].endswith(url)
    unit = db.session.get(type(city), world.county.id)
    assert county_setting(unit, "scoring_rubric")["bands"][0]["min"] == rubric["bands"][0]["min"]
    assert county_setting(db.session.get(type(city), other.id), "scoring_rubric") != rubric
    # An office export made by the city's administrator names the city, not a county of it.
    from openpyxl import load_workbook

    answer = client.get("/exports/attendance.xlsx?period=2026-10")
    assert answer.status_code == 200
    data = answer.get_data()
    answer.close()
    sheet = load_workbook(io.BytesIO(data)).active
    assert str(sheet["A1"].value).startswith("丙市"), sheet["A1"].value
