"""Rate limits on signing in: per client address and per username, shared through Redis."""
import json
import os
import secrets
import subprocess
import sys

import pytest

from fieldlog import create_app
from fieldlog.extensions import db
from fieldlog.ratelimit import _digest
from tests.conftest import PASSWORD, ROOT, csrf_token

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _form_login(client, username, password="wrong-password-1", ip="10.0.0.1"):
    return client.post("/login", environ_base={"REMOTE_ADDR": ip}, data={
        "username": username, "password": password, "csrf_token": csrf_token(client)})


def _api_login(client, username, password="wrong-password-1", ip="10.0.0.1"):
    return client.post("/api/v1/auth/login", environ_base={"REMOTE_ADDR": ip},
                       json={"username": username, "password": password})


def test_refused_sign_ins_from_one_address_are_limited(app, client, world):
    app.config["LOGIN_RATE_LIMIT_IP"] = "3/minute"
    for n in range(3):  # different usernames, so no account locks
        assert _form_login(client, f"guess{n}").status_code == 401
    response = _form_login(client, "guess9")
    assert response.status_code == 429
    assert 'data-testid="too-many"' in response.get_data(as_text=True)
    assert 0 < int(response.headers["Retry-After"]) <= 60
    assert _form_login(client, "guess9", ip="10.0.0.2").status_code == 401  # another address


def test_successful_sign_ins_do_not_use_up_the_address_limit(app, client, world):
    app.config["LOGIN_RATE_LIMIT_IP"] = "2/minute"
    for username in ("sec1", "sec2", "sec3", "sup_t1"):  # one office behind one address
        assert _form_login(client, username, PASSWORD).status_code == 302


def test_every_attempt_counts_towards_the_address_flood_limit(app, client, world):
    app.config["LOGIN_RATE_LIMIT_IP_ALL"] = "3/minute"
    for username in ("sec1", "sec2", "sec3"):
        assert _form_login(client, username, PASSWORD).status_code == 302
    assert _form_login(client, "sup_t1", PASSWORD).status_code == 429


def test_attempts_on_one_username_are_limited_across_addresses(app, client, world):
    app.config["LOGIN_RATE_LIMIT_USER"] = "3/minute"
    app.config["LOGIN_MAX_FAILURES"] = 50
    for n in range(3):
        assert _form_login(client, "sec1", ip=f"10.0.1.{n}").status_code == 401
    assert _form_login(client, "SEC1 ", ip="10.0.1.9").status_code == 429
    assert _form_login(client, "sec2", PASSWORD, ip="10.0.1.9").status_code == 302


def test_the_api_answers_429_in_the_error_shape(app, client, world):
    app.config["LOGIN_RATE_LIMIT_IP"] = "2/minute"
    for _ in range(2):
        assert _api_login(client, "nobody").status_code == 401
    response = _api_login(client, "nobody")
    assert response.status_code == 429 and "Retry-After" in response.headers
    body = response.get_json()
    assert body["error"] == "rate_limited" and body["message"] and body["fields"] == {}


def test_the_sync_api_is_not_limited(app, world, device):
    app.config["LOGIN_RATE_LIMIT_IP_ALL"] = "1/minute"
    phone = device(world.sec1)
    assert all(phone.get("/api/v1/me").status_code == 200 for _ in range(5))


def test_the_limit_message_is_a_page_in_the_users_language(app, client, world):
    app.config["LOGIN_RATE_LIMIT_IP"] = "1/minute"
    client.get("/lang/en")
    _form_login(client, "nobody")
    page = _form_login(client, "nobody").get_data(as_text=True)
    assert "Wait a minute" in page and 'href="/login"' in page


_CHILD = """
import json, sys
from fieldlog import create_app
from fieldlog.extensions import db
config = json.loads(sys.argv[1])
app = create_app(config)
with app.app_context():
    client = app.test_client()
    answers = [client.post("/api/v1/auth/login", environ_base={"REMOTE_ADDR": config["IP"]},
                           json={"username": config["NAME"], "password": "wrong-pass-1"}
                           ).get_json()["error"] for _ in range(2)]
print(json.dumps(answers))
"""


@pytest.mark.real_clock  # Redis expires the counters by its own clock
def test_processes_share_their_counters_through_redis(app, world):
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.exceptions.RedisError:
        pytest.skip(f"Redis is not reachable at {REDIS_URL}")
    ip = f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.{secrets.randbelow(250)}"
    name = f"ghost-{secrets.token_hex(4)}"
    config = {"TESTING": True, "SECRET_KEY": "test-secret", "PHOTO_DIR": app.config["PHOTO_DIR"],
              "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
              "RATELIMIT_STORAGE_URI": REDIS_URL, "LOGIN_RATE_LIMIT_IP": "6/minute",
              "LOGIN_MAX_FAILURES": 3, "IP": ip, "NAME": name}
    # Two app processes behind one balancer: this one, then a child on the same database.
    here_app = create_app(config)
    here = here_app.test_client()
    try:
        answers = [_api_login(here, name, ip=ip).get_json()["error"] for _ in range(3)]
        assert answers == ["wrong_credentials", "wrong_credentials", "locked"]
        child = subprocess.run([sys.executable, "-c", _CHILD, json.dumps(config)], cwd=ROOT,
                               capture_output=True, text=True, timeout=120, check=True)
        # The child sees the lock of an unknown username set here ...
        assert json.loads(child.stdout.strip().splitlines()[-1]) == ["locked", "locked"]
        # ... and this process counts the child's refusals: 3 + 2 + 1 = 6, then no more.
        assert _api_login(here, name, ip=ip).status_code == 401
        assert _api_login(here, name, ip=ip).status_code == 429
    finally:
        with here_app.app_context():
            db.engine.dispose()  # its own connection pool, not the fixture's
        client = redis.Redis.from_url(REDIS_URL)
        digest = _digest(name)
        for key in client.scan_iter(match="*fieldlog*"):
            if ip in key.decode() or digest in key.decode():
                client.delete(key)
