"""The account page: password policy and change, devices, signing out everywhere."""
import re

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from fieldlog.extensions import db
from fieldlog.models import AuditEntry, DeviceToken, User
from fieldlog.services.people import password_policy
from tests.conftest import PASSWORD, csrf_token

NEW_PASSWORD = "beibao-cun-2026"


def _audit(action: str) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def _change(client, csrf, current=PASSWORD, new=NEW_PASSWORD, confirm=None):
    return client.post("/account/password", data={
        "current_password": current, "new_password": new,
        "confirm_password": new if confirm is None else confirm, "csrf_token": csrf})


@pytest.mark.parametrize("username", ["sec1", "sup_t1", "inspector", "admin"])
def test_every_role_has_an_account_page(client, world, login, device, username):
    user = db.session.scalar(select(User).where(User.username == username))
    device(user)
    login(username)
    page = client.get("/account").get_data(as_text=True)
    assert user.display_name in page and user.scope_unit.name in page
    assert page.count('data-testid="device-row"') == 1
    assert "/account/password" in page and "/account/sign-out-everywhere" in page


def test_the_device_list_names_browsers_and_shows_revoked_ones(client, world, login, device):
    phone = device(world.sec1)
    db.session.get(DeviceToken, phone.device_id).label = (
        "Mozilla/5.0 (Linux; Android 13; V2148A) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0 Mobile Safari/537.36")
    db.session.commit()
    session = login("sec1")
    assert "Chrome · Android" in client.get("/account").get_data(as_text=True)
    client.post(f"/account/devices/{phone.device_id}/revoke", data={"csrf_token": session.csrf})
    page = client.get("/account").get_data(as_text=True)
    assert 'data-testid="revoke-device"' not in page and "is-revoked" in page


@pytest.mark.parametrize(("password", "problem"), [
    ("short1", "at least 10"),
    ("onlyletterslong", "letters and digits"),
    ("12345678901234", "letters and digits"),
    ("Password2024!", "too common"),
    ("woaini1314520", "too common"),
    ("sec1-my-garden-9", "username"),
    ("aaaaaaaaa1", "different characters"),
])
def test_the_policy_refuses_weak_passwords(app, password, problem):
    with app.test_request_context(), force_locale("en"):
        found = " ".join(password_policy.problems(password, "sec1"))
    assert problem in found


def test_the_policy_accepts_good_ones_and_ships_a_common_list(app):
    with app.test_request_context():
        assert password_policy.problems(NEW_PASSWORD, "sec1") == []
        assert password_policy.problems("窗前明月光2026年", "sec1") == []
    assert len(password_policy.COMMON) >= 200


def test_temporary_passwords_pass_the_policy_and_differ(app):
    with app.test_request_context():
        temporary = {password_policy.temporary_password() for _ in range(50)}
        assert len(temporary) == 50
        assert all(password_policy.problems(t, "sec1") == [] for t in temporary)
    assert all(re.fullmatch(r"[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}", t) for t in temporary)


def test_change_password_ends_other_sessions_but_keeps_device_tokens(app, client, world, login,
                                                                     device):
    phone = device(world.sec1)
    other = app.test_client()
    other.post("/login", data={"username": "sec1", "password": PASSWORD,
                               "csrf_token": csrf_token(other)})
    assert other.get("/m/").status_code == 200
    session = login("sec1")
    response = _change(client, session.csrf)
    assert response.status_code == 302 and response.headers["Location"].endswith("/m/")
    assert client.get("/m/").status_code == 200  # this browser stays signed in
    assert other.get("/m/").status_code == 302  # the other one does not
    assert phone.get("/api/v1/me").status_code == 200  # queued records still go
    db.session.expire_all()
    user = db.session.get(User, world.sec1.id)
    assert user.password_changed_at is not None and not user.must_change_password
    change, = _audit("password.change")
    assert change.actor_id == world.sec1.id and change.details == '{"forced": false}'
    fresh = app.test_client()
    assert fresh.post("/login", data={"username": "sec1", "password": NEW_PASSWORD,
                                      "csrf_token": csrf_token(fresh)}).status_code == 302


@pytest.mark.parametrize(("current", "new", "confirm", "field"), [
    ("wrong-current-1", NEW_PASSWORD, None, "current_password"),
    (PASSWORD, "short1", None, "new_password"),
    (PASSWORD, NEW_PASSWORD, NEW_PASSWORD + "x", "confirm_password"),
    (PASSWORD, PASSWORD, None, "new_password"),
])
def test_change_password_explains_what_is_wrong(client, world, login, current, new, confirm,
                                                field):
    session = login("sec1")
    response = _change(client, session.csrf, current, new, confirm)
    assert response.status_code == 422
    assert f'data-testid="error-{field}"' in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, world.sec1.id).password_changed_at is None
    assert _audit("password.change") == []


def test_change_password_needs_csrf(client, world, login):
    login("sec1")
    response = client.post("/account/password", data={
        "current_password": PASSWORD, "new_password": NEW_PASSWORD,
        "confirm_password": NEW_PASSWORD})
    assert response.status_code == 400


def test_sign_out_everywhere_ends_sessions_and_tokens_and_a_phone_recovers(app, client, world,
                                                                           login, device):
    phone, laptop = device(world.sec1), device(world.sec1)
    other = app.test_client()
    other.post("/login", data={"username": "sec1", "password": PASSWORD,
                               "csrf_token": csrf_token(other)})
    session = login("sec1")
    response = client.post("/account/sign-out-everywhere", data={"csrf_token": session.csrf})
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    assert client.get("/m/").status_code == 302 and other.get("/m/").status_code == 302
    for token in (phone, laptop):
        refused = token.post("/api/v1/sync", json={"records": []})
        assert refused.status_code == 401 and "signed out" in refused.get_json()["message"]
    revoke_all, = _audit("session.revoke_all")
    assert revoke_all.details == '{"devices_revoked": 2}'
    # What sync.js does on that 401 once the user has signed in again: ask for a new token.
    session = login("sec1")
    issued = client.post("/api/v1/devices", json={"label": "phone"},
                         headers={"X-CSRFToken": session.csrf})
    assert issued.status_code == 201
    fresh = app.test_client().get("/api/v1/me", headers={
        "Authorization": f"Bearer {issued.get_json()['token']}"})
    assert fresh.status_code == 200


def test_revoke_one_device(client, world, login, device):
    phone, laptop = device(world.sec1), device(world.sec1)
    session = login("sec1")
    response = client.post(f"/account/devices/{phone.device_id}/revoke",
                           data={"csrf_token": session.csrf})
    assert response.status_code == 302
    assert phone.get("/api/v1/me").status_code == 401
    assert laptop.get("/api/v1/me").status_code == 200
    assert [e.object_id for e in _audit("device.revoke")] == [phone.device_id]
    again = client.post(f"/account/devices/{phone.device_id}/revoke",
                        data={"csrf_token": session.csrf})
    assert again.status_code == 302 and len(_audit("device.revoke")) == 1


def test_someone_elses_device_cannot_be_revoked(client, world, login, device):
    theirs = device(world.sec2)
    session = login("sec1")
    response = client.post(f"/account/devices/{theirs.device_id}/revoke",
                           data={"csrf_token": session.csrf})
    assert response.status_code == 404
    assert theirs.get("/api/v1/me").status_code == 200


def test_a_temporary_password_leads_to_the_change_page_only(client, world, login, device):
    phone = device(world.sec1)
    world.sec1.must_change_password = True
    db.session.commit()
    session = login("sec1")
    assert session.response.headers["Location"].endswith("/account/password")
    for path in ("/m/", "/account", "/review/", "/"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"].endswith("/account/password"), path
    assert 'data-testid="must-change"' in client.get("/account/password").get_data(as_text=True)
    assert phone.get("/api/v1/me").status_code == 200  # a token issued earlier keeps syncing
    refused = client.post("/api/v1/devices", json={}, headers={"X-CSRFToken": session.csrf})
    assert refused.status_code == 403 and refused.get_json()["error"] == "password_change_required"
    assert _change(client, session.csrf).status_code == 302
    assert client.get("/m/").status_code == 200
    assert _audit("password.change")[0].details == '{"forced": true}'


def test_a_temporary_password_gets_no_device_token_by_api(client, world):
    world.sec1.must_change_password = True
    db.session.commit()
    response = client.post("/api/v1/auth/login", json={"username": "sec1", "password": PASSWORD})
    assert response.status_code == 403
    assert response.get_json()["error"] == "password_change_required"
    assert db.session.scalar(select(DeviceToken)) is None
