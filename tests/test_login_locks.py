"""Lockout slows a guesser without locking the owner out (per address, known devices).

Five wrong passwords for a known username used to lock its owner out everywhere for a quarter
of an hour: anyone could keep a cadre out of the app. Now the lock holds the source of the
failures (the client address, or a device), and a device the owner signed in on before still
gets in with the right password, even from the attacker's own address (a shared office NAT).
"""
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from fieldlog.extensions import db
from fieldlog.models import LoginLock, User
from fieldlog.models.base import utcnow
from fieldlog.services.people.login_locks import KNOWN_DEVICE_COOKIE
from tests.conftest import PASSWORD, csrf_token

ATTACKER, OWNER = "198.51.100.66", "203.0.113.7"
WRONG = "wrong-password-1"


def web(client, username="sec1", password=WRONG, ip=ATTACKER):
    return client.post("/login", environ_base={"REMOTE_ADDR": ip}, data={
        "username": username, "password": password, "csrf_token": csrf_token(client)})


def api(client, username="sec1", password=WRONG, ip=ATTACKER, **extra):
    return client.post("/api/v1/auth/login", environ_base={"REMOTE_ADDR": ip},
                       json={"username": username, "password": password, **extra})


def locked(response) -> bool:
    if response.is_json:
        return response.status_code == 401 and response.get_json()["error"] == "locked"
    return response.status_code == 401 and 'data-error="locked"' in response.get_data(
        as_text=True)


def lock_out(client, ip=ATTACKER, via=web):
    answers = [via(client, ip=ip) for _ in range(5)]
    assert not any(locked(a) for a in answers[:4]) and locked(answers[4])


def sign_out(client):
    client.post("/logout", data={"csrf_token": csrf_token(client)})


def test_the_attacker_locks_only_their_own_address(app, world):
    attacker = app.test_client()
    lock_out(attacker)
    assert locked(web(attacker, password=PASSWORD)), "a right guess is still refused while locked"
    assert locked(api(app.test_client(), password=PASSWORD))
    owner = app.test_client()
    assert web(owner, password=PASSWORD, ip=OWNER).status_code == 302
    assert api(app.test_client(), password=PASSWORD, ip=OWNER).status_code == 201
    assert locked(web(attacker, password=PASSWORD)), "the owner's success frees no one else"


def test_a_browser_that_signed_in_before_gets_in_from_the_attackers_address(app, world):
    owner = app.test_client()
    first = web(owner, password=PASSWORD, ip=ATTACKER)  # the same office, one public address
    assert first.status_code == 302
    cookie = owner.get_cookie(KNOWN_DEVICE_COOKIE)
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"
    sign_out(owner)
    attacker = app.test_client()
    lock_out(attacker)
    assert locked(web(attacker, password=PASSWORD))
    assert web(owner, password=PASSWORD, ip=ATTACKER).status_code == 302


def test_the_known_device_cookie_is_the_owners_only_and_cannot_be_forged(app, world):
    owner = app.test_client()
    assert web(owner, password=PASSWORD, ip=OWNER).status_code == 302
    cookie = owner.get_cookie(KNOWN_DEVICE_COOKIE).value
    lock_out(app.test_client())
    for _ in range(5):
        web(app.test_client(), username="sec2")
    forged = app.test_client()
    forged.set_cookie(KNOWN_DEVICE_COOKIE, cookie[:-4] + ("AAAA" if cookie[-4:] != "AAAA"
                                                         else "BBBB"))
    assert locked(web(forged, password=PASSWORD))
    sec1s = app.test_client()  # sec1's cookie says nothing about sec2
    sec1s.set_cookie(KNOWN_DEVICE_COOKIE, cookie)
    assert locked(web(sec1s, username="sec2", password=PASSWORD))
    assert web(sec1s, password=PASSWORD).status_code == 302


def test_wrong_passwords_from_a_known_device_lock_that_device(app, world):
    owner = app.test_client()
    assert web(owner, password=PASSWORD, ip=OWNER).status_code == 302
    sign_out(owner)
    lock_out(owner, ip=OWNER)  # e.g. a stolen phone whose thief guesses
    assert locked(web(owner, password=PASSWORD, ip=OWNER))
    assert web(app.test_client(), password=PASSWORD, ip="192.0.2.10").status_code == 302


def test_a_phone_that_signed_in_before_gets_in_through_the_api(app, world, device):
    phone = device(world.sec1)
    lock_out(app.test_client(), via=api)
    assert locked(api(app.test_client(), password=PASSWORD))
    response = api(app.test_client(), password=PASSWORD, device_token=phone.token)
    assert response.status_code == 201
    foreign = device(world.sec2)  # a token of another user is no proof for sec1
    assert locked(api(app.test_client(), password=PASSWORD, device_token=foreign.token))
    assert locked(api(app.test_client(), password=PASSWORD, device_token="made-up"))


def test_each_further_lock_of_one_address_lasts_twice_as_long(app, world):
    app.config["LOGIN_RATE_LIMIT_USER"] = "100/minute"  # the username's limit is tested apart

    def lock_minutes() -> float:
        db.session.expire_all()
        lock = db.session.scalar(select(LoginLock).where(LoginLock.source == f"ip:{ATTACKER}"))
        return (lock.locked_until - utcnow()).total_seconds() / 60

    lock_out(app.test_client())
    assert 14 < lock_minutes() <= 15
    with time_machine.travel(utcnow() + timedelta(minutes=16), tick=False):
        lock_out(app.test_client())  # once the lock runs out, five more failures lock again
        assert 29 < lock_minutes() <= 30
    with time_machine.travel(utcnow() + timedelta(minutes=47), tick=False):
        assert web(app.test_client(), password=PASSWORD).status_code == 302  # it runs out
        db.session.expire_all()
        assert db.session.scalar(select(LoginLock).where(
            LoginLock.source == f"ip:{ATTACKER}")) is None, "a success clears the address"


def test_the_admin_page_shows_and_unlock_lifts_every_lock(app, client, world, login):
    app.config["LOGIN_RATE_LIMIT_USER"] = "100/minute"
    lock_out(app.test_client())
    lock_out(app.test_client(), ip="198.51.100.99")
    db.session.expire_all()
    user = db.session.get(User, world.sec1.id)
    assert user.locked_until is not None and user.locked_until > utcnow()
    session = login("admin")
    page = client.get("/admin/users?role=secretary").get_data(as_text=True)
    assert page.count('data-testid="locked"') == 1
    client.post(f"/admin/users/{world.sec1.id}/unlock", data={"csrf_token": session.csrf})
    assert db.session.scalar(select(LoginLock).where(LoginLock.user_id == world.sec1.id)) is None
    assert web(app.test_client(), password=PASSWORD).status_code == 302


@pytest.mark.parametrize("via", [web, api])
def test_the_username_rate_limit_does_not_hold_back_a_known_device(app, world, device, via):
    app.config["LOGIN_RATE_LIMIT_USER"] = "3/minute"
    owner = app.test_client()
    phone = device(world.sec1)
    assert web(owner, password=PASSWORD, ip=OWNER).status_code == 302
    sign_out(owner)
    for n in range(1, 10):  # spread over addresses, so no address locks, until the limit bites
        if via(app.test_client(), ip=f"198.51.100.{n}").status_code == 429:
            break
    assert via(app.test_client(), password=PASSWORD, ip=OWNER).status_code == 429
    if via is web:
        assert web(owner, password=PASSWORD, ip=OWNER).status_code == 302
    else:
        assert api(app.test_client(), password=PASSWORD, ip=OWNER,
                   device_token=phone.token).status_code == 201
