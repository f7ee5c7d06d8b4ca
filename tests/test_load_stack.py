"""The pieces of `make serve` and `make load`: gunicorn workers serve, the load test's records
are what the sync API takes. The 5-minute load itself is not part of the suite (docs/deploy.md).
"""
import random
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

import pytest

from bench.load.payloads import KIND_WEIGHTS, evening_batch, phone_photos, record
from bench.stack import gunicorn_command, stack_env
from fieldlog import clock
from fieldlog.services.records.kinds import KINDS

ROOT = Path(__file__).resolve().parent.parent


def test_the_locustfile_imports():
    """Locust patches the process with gevent when imported: import it in a child process."""
    done = subprocess.run([sys.executable, "-c", "import bench.load.locustfile as f; "
                           "print(sorted(c.__name__ for c in (f.Cadre, f.Supervisor, "
                           "f.Inspector)))"], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert "['Cadre', 'Inspector', 'Supervisor']" in done.stdout


def test_every_load_record_passes_the_sync_schema(app):
    rng = random.Random(7)
    now = clock.now()
    with app.app_context():
        for kind in KIND_WEIGHTS:
            KINDS[kind].schema.load(record(kind, 30, rng, now, []))
        kinds = set()
        for _ in range(50):
            records, photos = evening_batch(30, rng, now)
            assert 1 <= len(records) <= 6 and len(photos) <= 3
            for data in records:
                KINDS[data["type"]].schema.load(data)  # raises ValidationError if not
                kinds.add(data["type"])
            visits = {r["id"]: r for r in records if r["type"] == "visit"}
            for photo_id, record_id in photos.items():
                assert photo_id in visits[record_id]["photo_ids"]
        assert kinds == set(KIND_WEIGHTS)


def test_phone_photos_are_phone_sized_jpegs(tmp_path):
    made = phone_photos(tmp_path, ["jpg_gps_DSCN0010.jpg"])
    assert made[0][:2] == b"\xff\xd8" and 150_000 < len(made[0]) < 500_000
    assert list(tmp_path.iterdir())  # made in the given folder, never in the repository


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def gunicorn(tmp_path):
    """Two gunicorn workers of the stack's command line on a migrated temp SQLite file."""
    from bench.common import migrated_app

    url = f"sqlite:///{tmp_path}/served.db"
    with migrated_app(url, "fieldlog-serve-test-").app_context():
        from fieldlog.extensions import db

        db.engine.dispose()
    env = stack_env(url, secret="serve-test-secret", redis_url="memory://", s3_endpoint=None,
                    proxies=0)
    env.update(PHOTO_DIR=str(tmp_path / "photos"))
    port = _free_port()
    log = (tmp_path / "gunicorn.log").open("wb")
    process = subprocess.Popen(gunicorn_command(2, f"127.0.0.1:{port}"), cwd=ROOT, env=env,
                               stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(base + "/healthz", timeout=1).close()
            break
        except OSError:
            assert process.poll() is None, (tmp_path / "gunicorn.log").read_text()
            assert time.monotonic() < deadline, "gunicorn did not answer within 30 s"
            time.sleep(0.2)
    yield base
    process.terminate()
    process.wait(20)
    log.close()


def test_gunicorn_workers_serve_and_share_the_secret(gunicorn):
    with urllib.request.urlopen(gunicorn + "/healthz") as answer:
        assert answer.status == 200 and b'"ok"' in answer.read()
        assert answer.headers["Cache-Control"] == "no-store"
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    with opener.open(gunicorn + "/login") as answer:
        page = answer.read().decode()
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    # Several posts land on both workers: each accepts the session and CSRF token the other
    # signed (one SECRET_KEY), and refuses the unknown user with 401, never 400 (bad CSRF).
    for _ in range(6):
        body = urllib.parse.urlencode({"csrf_token": token, "username": "nobody",
                                       "password": "wrong-password"}).encode()
        with pytest.raises(urllib.error.HTTPError) as refused:
            opener.open(gunicorn + "/login", data=body)
        assert refused.value.code == 401
        refused.value.close()
