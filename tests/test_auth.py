"""Signing in and out, where each role lands, lockout, the audit trail and session expiry."""
import re
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from fieldlog.extensions import db
from fieldlog.models import AuditEntry, DeviceToken, LoginLock, User
from fieldlog.models.base import utcnow
from tests.conftest import PASSWORD, csrf_token


def test_secretary_lands_on_the_phone_home(client, world, login):
    assert login("sec1").response.headers["Location"].endswith("/m/")


def test_supervisor_lands_on_review(client, world, login):
    assert login("sup_t1").response.headers["Location"].endswith("/review/")


def test_wrong_password_is_refused_with_a_message(client, world):
    response = client.post("/login", data={"username": "sec1", "password": "nope",
                                           "csrf_token": csrf_token(client)})
    assert response.status_code == 401
    assert client.get("/m/").status_code == 302


def test_login_form_needs_csrf(client, world):
    response = client.post("/login", data={"username": "sec1", "password": "x"})
    assert response.status_code == 400


def test_logout_revokes_this_devices_token(client, world, login, device):
    phone = device(world.sec1)
    session = login("sec1")
    client.post("/logout", data={"csrf_token": session.csrf, "device_id": phone.device_id})
    token = db.session.scalar(select(DeviceToken).where(DeviceToken.id == phone.device_id))
    assert token.revoked_at is not None
    assert client.get("/m/").status_code == 302


def test_logout_with_a_garbage_device_id_still_signs_out(client, world, login):
    session = login("sec1")
    response = client.post("/logout", data={"csrf_token": session.csrf, "device_id": "nope"})
    assert response.status_code == 302 and client.get("/m/").status_code == 302


def test_roles_are_kept_to_their_pages(client, world, login):
    login("sup_t1")
    assert client.get("/m/").status_code == 403


def test_language_switch(client, world, login):
    login("sec1")
    client.get("/lang/en")
    assert "Record a visit" in client.get("/m/").get_data(as_text=True)


# Lockout, audit and sessions ----------------------------------------------------------------


def _try(client, username, password="wrong-password-1"):
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": csrf_token(client)})


def _error_text(response) -> str:
    match = re.search(r'data-testid="login-error">(.*?)</p>', response.get_data(as_text=True),
                      re.S)
    return match.group(1).strip() if match else ""


def _audit(action: str) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)
                                   .order_by(AuditEntry.id)))


def test_five_failures_lock_the_account_for_a_quarter_hour(client, world):
    wrong = [_error_text(_try(client, "sec1")) for _ in range(4)]
    fifth = _try(client, "sec1")
    assert fifth.status_code == 401 and _error_text(fifth) not in wrong
    db.session.expire_all()
    user = db.session.get(User, world.sec1.id)
    assert timedelta(minutes=14) < user.locked_until - utcnow() <= timedelta(minutes=15)
    locked = _try(client, "sec1", PASSWORD)  # the right password does not open it now
    assert locked.status_code == 401 and _error_text(locked) == _error_text(fifth)
    lockouts = _audit("login.lockout")
    assert len(lockouts) == 1 and lockouts[0].object_id == str(world.sec1.id)


def test_an_unknown_username_answers_exactly_like_a_real_one(client, world):
    real = [_error_text(_try(client, "sec1")) for _ in range(6)]
    ghost = [_error_text(_try(client, "nobody-here")) for _ in range(6)]
    assert real == ghost and real[0] != real[4]  # the 5th answer says "locked", for both


def test_an_unknown_username_costs_one_scrypt_check_like_a_real_one(client, world, monkeypatch):
    from fieldlog.services.people import auth

    user = db.session.get(User, world.sec1.id)
    user.password_hash = auth.hash_password(PASSWORD)  # the app's own cost (tests use a cheap one)
    db.session.commit()
    calls = []
    real_check = auth.check_password_hash
    monkeypatch.setattr(auth, "check_password_hash",
                        lambda h, p: calls.append(h.split("$")[0]) or real_check(h, p))
    _try(client, "sec1")
    _try(client, "nobody-here")
    assert calls == ["scrypt:32768:8:1", "scrypt:32768:8:1"]


def test_success_resets_the_failure_count(client, world, login):
    for _ in range(4):
        _try(client, "sec1")
    login("sec1")
    db.session.expire_all()
    assert db.session.get(User, world.sec1.id).failed_logins == 0


def test_a_lock_runs_out(client, world, login):
    db.session.add(LoginLock(user_id=world.sec1.id, source="ip:127.0.0.1", lockouts=1,
                             locked_until=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    login("sec1")


def test_inactive_users_cannot_sign_in(client, world):
    world.sec1.active = False
    db.session.commit()
    assert _try(client, "sec1", PASSWORD).status_code == 401
    assert _audit("login.failure")[-1].details == '{"channel": "web", "reason": "inactive"}'


def test_sign_in_and_failures_are_audited(client, world, login):
    _try(client, "nobody-" + "x" * 80)
    login("sec1")
    failure, = _audit("login.failure")
    # An unknown "username" may be a mistyped password: only a fingerprint of it is kept.
    assert failure.actor_id is None and failure.actor_name.startswith("?")
    assert "nobody" not in failure.actor_name and len(failure.actor_name) == 13
    success, = _audit("login.success")
    assert success.actor_id == world.sec1.id and success.object_id == str(world.sec1.id)


def test_logout_and_device_tokens_are_audited(client, world, login, device):
    phone = device(world.sec1)
    session = login("sec1")
    client.post("/logout", data={"csrf_token": session.csrf, "device_id": phone.device_id})
    assert [e.object_id for e in _audit("device.issue")] == [phone.device_id]
    assert [e.object_id for e in _audit("device.revoke")] == [phone.device_id]
    assert [e.actor_id for e in _audit("logout")] == [world.sec1.id]


def test_browser_device_registration_is_audited(client, world, login):
    session = login("sec1")
    response = client.post("/api/v1/devices", json={"label": "Android Chrome"},
                           headers={"X-CSRFToken": session.csrf})
    issued, = _audit("device.issue")
    assert issued.object_id == response.get_json()["device_id"]
    assert '"via": "session"' in issued.details


def test_api_sign_in_locks_and_audits_too(client, world):
    for _ in range(4):
        response = client.post("/api/v1/auth/login", json={"username": "sec1", "password": "x"})
        assert response.status_code == 401 and response.get_json()["error"] == "wrong_credentials"
    response = client.post("/api/v1/auth/login", json={"username": "sec1", "password": "x"})
    assert response.get_json()["error"] == "locked"
    response = client.post("/api/v1/auth/login", json={"username": "sec1", "password": PASSWORD})
    assert response.status_code == 401 and response.get_json()["error"] == "locked"
    assert all('"channel": "api"' in e.details for e in _audit("login.failure"))


def test_api_sign_in_issues_an_audited_token(client, world):
    response = client.post("/api/v1/auth/login",
                           json={"username": "sec1", "password": PASSWORD, "label": "cli"})
    assert response.status_code == 201
    issued, = _audit("device.issue")
    assert issued.object_id == response.get_json()["device_id"] and '"password"' in issued.details


def test_sign_in_sets_a_session_cookie_without_remember_me(client, world, login):
    cookies = login("sec1").response.headers.getlist("Set-Cookie")
    assert not any(c.startswith("remember_token=") for c in cookies)
    session_cookie, = [c for c in cookies if c.startswith("session=")]
    assert "HttpOnly" in session_cookie and "SameSite=Lax" in session_cookie
    assert "Expires=" in session_cookie  # permanent: it outlives closing the browser


def test_session_cookie_is_secure_when_configured(app, client, world, login):
    app.config["SESSION_COOKIE_SECURE"] = True
    cookies = login("sec1").response.headers.getlist("Set-Cookie")
    assert any(c.startswith("session=") and "Secure" in c for c in cookies)


def _age_session(client, *, login_ago=0.0, seen_ago=0.0):
    with client.session_transaction() as session:
        now = int(time.time())
        session["login_at"] = now - int(login_ago)
        session["seen_at"] = now - int(seen_ago)


@pytest.mark.parametrize(("username", "idle", "home", "signed_out"), [
    ("sec1", timedelta(days=6), "/m/", False),
    ("sec1", timedelta(days=7, minutes=1), "/m/", True),
    ("admin", timedelta(hours=7), "/review/", False),
    ("admin", timedelta(hours=8, minutes=1), "/review/", True),
])
def test_idle_sessions_end(client, world, login, username, idle, home, signed_out):
    login(username)
    _age_session(client, login_ago=idle.total_seconds(), seen_ago=idle.total_seconds())
    response = client.get(home)
    assert (response.status_code == 302) is signed_out
    assert len(_audit("session.expire")) == int(signed_out)
    if signed_out:
        assert '"reason": "idle"' in _audit("session.expire")[0].details
        assert 'class="flash' in client.get("/login").get_data(as_text=True)


def test_sessions_end_after_thirty_days_however_active(client, world, login):
    login("sec1")
    _age_session(client, login_ago=timedelta(days=30, minutes=1).total_seconds())
    assert client.get("/m/").status_code == 302


def test_use_keeps_a_session_alive(client, world, login):
    login("sec1")
    _age_session(client, login_ago=3600 * 24 * 20, seen_ago=3600 * 24 * 6)
    assert client.get("/m/").status_code == 200
    with client.session_transaction() as session:
        assert time.time() - session["seen_at"] < 5


def test_a_session_from_before_the_expiry_rules_is_ended(client, world, login):
    login("sec1")
    with client.session_transaction() as session:
        del session["login_at"]
    assert client.get("/m/").status_code == 302


def test_expiry_does_not_touch_device_tokens(client, world, login, device):
    phone = device(world.sec1)
    login("sec1")
    _age_session(client, login_ago=timedelta(days=31).total_seconds())
    assert client.get("/m/").status_code == 302
    assert phone.get("/api/v1/me").status_code == 200  # offline replay goes on


def test_switching_a_user_off_ends_their_session(client, world, login):
    login("sec1")
    world.sec1.active = False
    db.session.commit()
    assert client.get("/m/").status_code == 302  # Flask-Login: an inactive user is anonymous
