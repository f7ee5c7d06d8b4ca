"""The admin's people pages: new user, edit, deactivate, terms, teams and the cadre import."""
import io
import re
from datetime import date

import pytest
from sqlalchemy import select

from fieldlog.extensions import db
from fieldlog.models import Assignment, User
from tests.conftest import PASSWORD, csrf_token
from tests.test_cadre_import import xlsx


def _new_form(token: str, world, **overrides) -> dict:
    return {"csrf_token": token, "username": "wang_xin", "display_name": "王新",
            "phone": "13900001111", "role": "secretary", "scope_unit_id": world.v2.id,
            "locale": "", **overrides}


def _password(page: str) -> str:
    match = re.search(r'data-testid="issued-password">([^<]+)<', page)
    assert match, "no one-time password on the page"
    return match.group(1)


def test_an_admin_creates_a_user_and_sees_the_password_once(client, app, world, login):
    session = login("admin")
    response = client.post("/admin/users/new", data=_new_form(session.csrf, world))
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    password = _password(page)
    assert "这些密码只显示这一次" in page and "账号发放单" in page
    user = db.session.scalar(select(User).where(User.username == "wang_xin"))
    assert user.must_change_password and password not in user.password_hash
    # It is not on the user's page afterwards.
    assert password not in client.get(f"/admin/users/{user.id}").get_data(as_text=True)
    # The new user must change it at the first sign-in.
    phone = app.test_client()
    token = csrf_token(phone)
    answer = phone.post("/login", data={"username": "wang_xin", "password": password,
                                        "csrf_token": token})
    assert answer.headers["Location"].endswith("/account/password")
    assert phone.get("/m/").headers["Location"].endswith("/account/password")


def test_a_bad_form_answers_422_with_the_fields_and_creates_nothing(client, world, login):
    session = login("admin")
    world.sec3.phone = "13900002222"
    db.session.commit()
    response = client.post("/admin/users/new", data=_new_form(
        session.csrf, world, username="sec1", phone="13900002222"))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'data-testid="error-username"' in page and "SEC3（sec3）" in page
    assert db.session.scalar(select(User).where(User.display_name == "王新")) is None


def test_a_township_admin_cannot_reach_people_outside_it(client, world, login, password_hash):
    db.session.add(User(username="admin_t1", display_name="ADMIN T1", role="admin",
                        scope_unit_id=world.t1.id, password_hash=password_hash))
    world.sec3.phone = "13900002222"
    db.session.commit()
    session = login("admin_t1")
    assert client.get(f"/admin/users/{world.sec3.id}").status_code == 404
    assert client.get(f"/admin/users/{world.admin.id}").status_code == 404
    assert client.post(f"/admin/users/{world.sec3.id}/deactivate",
                       data={"csrf_token": session.csrf}).status_code == 404
    assert db.session.get(User, world.sec3.id).active
    response = client.post("/admin/users/new", data=_new_form(
        session.csrf, world, role="admin", scope_unit_id=world.county.id, phone=""))
    assert response.status_code == 422
    page = client.get("/admin/users/new").get_data(as_text=True)
    assert "北堡村" in page and "河湾村" not in page and "测试县" not in page
    # A phone held outside the township is refused without naming its holder.
    page = client.post("/admin/users/new", data=_new_form(
        session.csrf, world, phone="13900002222")).get_data(as_text=True)
    assert "管辖范围以外" in page and "SEC3" not in page


@pytest.mark.parametrize("url", ["/admin/users/new", "/admin/teams", "/admin/cadres/import"])
def test_other_roles_are_refused(client, world, login, url):
    login("sup_county")
    assert client.get(url).status_code == 403


def test_deactivating_stops_sign_in_and_reactivating_restores_it(client, app, world, login):
    session = login("admin")
    response = client.post(f"/admin/users/{world.sec2.id}/deactivate",
                           data={"csrf_token": session.csrf})
    assert response.status_code == 302
    assert "已停用" in client.get(f"/admin/users/{world.sec2.id}").get_data(as_text=True)
    other = app.test_client()
    answer = other.post("/login", data={"username": "sec2", "password": "correct-pass-1",
                                        "csrf_token": csrf_token(other)})
    assert answer.status_code != 302
    answer = other.post("/login", data={"username": "sec2", "password": PASSWORD,
                                        "csrf_token": csrf_token(other)})
    assert answer.status_code != 302
    client.post(f"/admin/users/{world.sec2.id}/reactivate", data={"csrf_token": session.csrf})
    answer = other.post("/login", data={"username": "sec2", "password": PASSWORD,
                                        "csrf_token": csrf_token(other)})
    assert answer.status_code == 302


def test_moving_a_cadre_from_the_page(client, world, login, today_is):
    today_is(date(2026, 11, 16))
    session = login("admin")
    page = client.get(f"/admin/users/{world.sec1.id}").get_data(as_text=True)
    assert "北堡村" in page and 'data-testid="move-form"' in page
    response = client.post(f"/admin/users/{world.sec1.id}/terms/move", data={
        "csrf_token": session.csrf, "village_id": world.v3.id, "start": "2026-11-16",
        "end": "", "dispatching_unit": "县农业农村局", "post": "first_secretary"})
    assert response.status_code == 422  # V3 has a running first secretary
    assert "已有第一书记" in response.get_data(as_text=True)
    response = client.post(f"/admin/users/{world.sec1.id}/terms/move", data={
        "csrf_token": session.csrf, "village_id": world.v3.id, "start": "2026-11-16",
        "end": "", "dispatching_unit": "县农业农村局", "post": "team_member"})
    assert response.status_code == 302
    assert db.session.get(User, world.sec1.id).scope_unit_id == world.v3.id
    teams = client.get("/admin/teams").get_data(as_text=True)
    v3_row = teams[teams.index('data-village="V3"'):].split("</tr>")[0]
    assert "SEC3" in v3_row and "SEC1" in v3_row
    ended = db.session.scalar(select(Assignment).where(
        Assignment.user_id == world.sec1.id, Assignment.village_id == world.v1.id))
    assert ended.end_date == date(2026, 11, 15)


def test_the_cadre_import_page_previews_then_shows_the_passwords(client, world, login):
    session = login("admin")
    data = xlsx([["张明", "13911110001", "县人社局", "工作队员", "V2", "2026-03-01", ""]])
    response = client.post("/admin/cadres/import", data={
        "csrf_token": session.csrf, "file": (io.BytesIO(data), "cadres.xlsx")})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "1 名新干部" in page and "V2-1" in page
    assert db.session.scalar(select(User).where(User.username == "V2-1")) is None
    response = client.post("/admin/cadres/import", data={
        "csrf_token": session.csrf, "confirm": "1", "file": (io.BytesIO(data), "cadres.xlsx")})
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    password = _password(response.get_data(as_text=True))
    assert db.session.scalar(select(User).where(User.username == "V2-1")).must_change_password
    assert password


def test_the_cadre_import_page_lists_row_errors(client, world, login):
    session = login("admin")
    data = xlsx([["张明", "13911110001", "县人社局", "书记", "无此村", "2026-03-01", ""]])
    response = client.post("/admin/cadres/import", data={
        "csrf_token": session.csrf, "confirm": "1", "file": (io.BytesIO(data), "c.xlsx")})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "未导入任何数据" in page
    assert "第 2 行" in page
    assert db.session.scalar(select(User).where(User.display_name == "张明")) is None
