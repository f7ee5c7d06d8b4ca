"""The administrator's users page: scope, filters, password reset and unlock."""
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from fieldlog.extensions import db
from fieldlog.models import AuditEntry, DeviceToken, User
from fieldlog.models.base import utcnow
from tests.conftest import PASSWORD, csrf_token


def _audit(action: str) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def _rows(response) -> list[str]:
    return re.findall(r'data-testid="user-row" data-username="([^"]+)"',
                      response.get_data(as_text=True))


@pytest.mark.parametrize(("username", "status"), [("sec1", 403), ("sup_county", 403),
                                                  ("inspector", 403), ("admin", 200)])
def test_only_admins_open_the_users_page(client, world, login, username, status):
    login(username)
    assert client.get("/admin/users").status_code == status


def test_signed_out_visitors_are_sent_to_sign_in(client, world):
    assert client.get("/admin/users").status_code == 302


def test_users_are_listed_and_filtered_by_role_and_name(client, world, login):
    login("admin")
    assert len(_rows(client.get("/admin/users"))) == 8
    assert _rows(client.get("/admin/users?role=secretary")) == ["sec1", "sec2", "sec3"]
    assert _rows(client.get("/admin/users?q=SUP_T")) == ["sup_t1", "sup_t2"]
    assert _rows(client.get("/admin/users?role=nonsense")) != []


def test_a_township_admin_sees_and_resets_only_its_own_people(client, world, login,
                                                               password_hash):
    db.session.add(User(username="admin_t1", display_name="ADMIN T1", role="admin",
                        scope_unit_id=world.t1.id, password_hash=password_hash))
    db.session.commit()
    session = login("admin_t1")
    assert sorted(_rows(client.get("/admin/users"))) == ["admin_t1", "sec1", "sec2", "sup_t1"]
    assert client.get(f"/admin/users/{world.sec3.id}/reset-password").status_code == 404
    response = client.post(f"/admin/users/{world.sec3.id}/reset-password",
                           data={"csrf_token": session.csrf})
    assert response.status_code == 404 and _audit("password.reset") == []
    assert client.post(f"/admin/users/{world.sec3.id}/unlock",
                       data={"csrf_token": session.csrf}).status_code == 404


def test_reset_shows_a_temporary_password_once_and_forces_a_change(app, client, world, login,
                                                                   device):
    phone = device(world.sec1)
    secretary = app.test_client()
    secretary.post("/login", data={"username": "sec1", "password": PASSWORD,
                                   "csrf_token": csrf_token(secretary)})
    session = login("admin")
    confirm = client.get(f"/admin/users/{world.sec1.id}/reset-password")
    assert 'data-testid="reset-form"' in confirm.get_data(as_text=True)
    response = client.post(f"/admin/users/{world.sec1.id}/reset-password",
                           data={"csrf_token": session.csrf})
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    temporary = re.search(r'data-testid="temporary-password">([^<]+)<',
                          response.get_data(as_text=True)).group(1)
    assert secretary.get("/m/").status_code == 302  # every session of theirs ended
    assert phone.get("/api/v1/me").status_code == 401  # and every device token
    db.session.expire_all()
    user = db.session.get(User, world.sec1.id)
    assert user.must_change_password and user.password_changed_at is not None
    reset, = _audit("password.reset")
    assert reset.actor_id == world.admin.id and reset.object_id == str(world.sec1.id)
    assert temporary not in reset.details and '"devices_revoked": 1' in reset.details
    # The secretary signs in with it and must choose a password before anything else.
    fresh = app.test_client()
    signed_in = fresh.post("/login", data={"username": "sec1", "password": temporary,
                                           "csrf_token": csrf_token(fresh)})
    assert signed_in.headers["Location"].endswith("/account/password")
    assert fresh.get("/m/").headers["Location"].endswith("/account/password")
    changed = fresh.post("/account/password", data={
        "current_password": temporary, "new_password": "nanping-2026-ok",
        "confirm_password": "nanping-2026-ok", "csrf_token": csrf_token(fresh)})
    assert changed.status_code == 302 and fresh.get("/m/").status_code == 200


def test_an_admin_cannot_reset_their_own_password_here(client, world, login):
    session = login("admin")
    response = client.post(f"/admin/users/{world.admin.id}/reset-password",
                           data={"csrf_token": session.csrf})
    assert response.status_code == 302 and _audit("password.reset") == []


def test_reset_needs_csrf(client, world, login):
    login("admin")
    response = client.post(f"/admin/users/{world.sec1.id}/reset-password")
    assert response.status_code == 400
    assert db.session.scalar(select(DeviceToken)) is None and _audit("password.reset") == []


def test_unlock_lets_a_locked_user_sign_in_again(app, client, world, login):
    world.sec1.locked_until = utcnow() + timedelta(minutes=10)
    world.sec1.failed_logins = 2
    db.session.commit()
    session = login("admin")
    page = client.get("/admin/users?role=secretary").get_data(as_text=True)
    assert page.count('data-testid="locked"') == 1
    response = client.post(f"/admin/users/{world.sec1.id}/unlock",
                           data={"csrf_token": session.csrf, "next": "/admin/users?role=secretary"})
    assert response.headers["Location"].endswith("/admin/users?role=secretary")
    db.session.expire_all()
    user = db.session.get(User, world.sec1.id)
    assert user.locked_until is None and user.failed_logins == 0
    unlock, = _audit("user.unlock")
    assert unlock.actor_id == world.admin.id
    secretary = app.test_client()
    assert secretary.post("/login", data={"username": "sec1", "password": PASSWORD,
                                          "csrf_token": csrf_token(secretary)}).status_code == 302


def test_unlock_ignores_a_foreign_next(client, world, login):
    session = login("admin")
    response = client.post(f"/admin/users/{world.sec1.id}/unlock",
                           data={"csrf_token": session.csrf, "next": "https://evil.example/"})
    assert response.headers["Location"].endswith("/admin/users")
