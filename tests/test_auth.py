"""Signing in and out, and where each role lands."""
from sqlalchemy import select

from fieldlog.extensions import db
from fieldlog.models import DeviceToken
from tests.conftest import csrf_token


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
