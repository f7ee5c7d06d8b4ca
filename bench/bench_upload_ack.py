"""Time the photo upload's answer (PUT /api/v1/photos/<id>): in-process jobs vs the Redis queue.

In-process (no JOB_QUEUE) the answer waits for decoding, the served sizes and the flags; with
JOB_QUEUE it waits only for the checks and the stored original. Runs through the WSGI app (no
network) on a fresh SQLite file and a local photo store; with the queue, a real `flask jobs
worker --burst` then drains what was queued, and that time is shown too.

Run from the repository: .venv/bin/python bench/bench_upload_ack.py [--runs N] [--redis URL]
"""
from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # a script in bench/ is not on the package's path by itself

from flask_migrate import upgrade  # noqa: E402
from werkzeug.datastructures import FileStorage  # noqa: E402
from werkzeug.test import encode_multipart  # noqa: E402

from fieldlog import create_app  # noqa: E402
from fieldlog.extensions import db  # noqa: E402

TESTDATA = Path(os.environ.get("FIELDLOG_TESTDATA")
                or ROOT.parent / "shared" / "testdata" / "photos")
CASES = [("Nokia 8.3 5G JPEG (2.2 MB)", "jpg_mobile_HMD_Nokia_8.3_5G.jpg"),
         ("iPhone 13 Pro Max HEIC (2.2 MB)", "heic_mobile_iphone_13_pro_max.HEIC")]


def _app(tmp: Path, queue: str | None, name: str):
    config = {"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp / 'bench.db'}",
              "PHOTO_DIR": str(tmp / "photos"), "SECRET_KEY": "bench", "SERVER_NAME": None,
              "PHOTO_QUOTA_BYTES_PER_DAY": 10**12, "JOB_QUEUE": queue or "",
              "JOB_QUEUE_NAME": name}
    return create_app(config)


def _setup(app) -> tuple[str, list[str]]:
    """Migrate, build a small county, sync visits; return a phone token and visit IDs."""
    from fieldlog.services.people.auth import hash_password, issue_device_token
    from tests.fixtures.world import build_world
    from tests.test_sync_api import visit_payload

    upgrade(directory=str(ROOT / "migrations"))
    world = build_world(hash_password("bench-password-1"))
    _token, raw = issue_device_token(world.sec1, "bench")
    client = app.test_client()
    visits = [visit_payload(world.h1[n % len(world.h1)]) for n in range(40)]
    answer = client.post("/api/v1/sync", json={"records": visits},
                         headers={"Authorization": f"Bearer {raw}"})
    assert answer.status_code == 200, answer.get_data(as_text=True)[:300]
    return raw, [v["id"] for v in visits]


def _time_uploads(app, token: str, visits: list[str], data: bytes, runs: int) -> list[float]:
    client = app.test_client()
    times = []
    for n in range(runs + 1):  # the first is a warm-up (plugins, colour tables, caches)
        boundary, body = encode_multipart({
            "file": FileStorage(io.BytesIO(data), "photo"), "record_type": "visit",
            "record_id": visits[n % len(visits)]})
        started = time.perf_counter()
        answer = client.put(f"/api/v1/photos/{uuid.uuid4()}", data=body,
                            content_type=f"multipart/form-data; boundary={boundary}",
                            headers={"Authorization": f"Bearer {token}"})
        elapsed = (time.perf_counter() - started) * 1000
        assert answer.status_code == 201, answer.get_data(as_text=True)[:300]
        if n:
            times.append(elapsed)
    return times


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[-1]


def _drain(app, tmp: Path) -> float:
    env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
           "PHOTO_DIR": app.config["PHOTO_DIR"], "SECRET_KEY": "bench", "FLASK_APP": "app",
           "JOB_QUEUE": app.config["JOB_QUEUE"], "JOB_QUEUE_NAME": app.config["JOB_QUEUE_NAME"]}
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "flask", "jobs", "worker", "--burst"], cwd=ROOT,
                   env=env, check=True, capture_output=True, timeout=1200)
    return time.perf_counter() - started


def _cleanup(url: str, name: str) -> None:
    from redis import Redis

    client = Redis.from_url(url)
    for key in client.scan_iter(match="rq:job:*"):
        if client.type(key) == b"hash" and client.hget(key, "origin") == name.encode():
            client.delete(key, key + b":results")
    for key in client.scan_iter(match=f"rq:*{name}*"):
        client.delete(key)


def run(mode: str, redis_url: str | None, runs: int) -> None:
    name = f"bench-{uuid.uuid4().hex[:10]}"
    with tempfile.TemporaryDirectory() as tmp:
        app = _app(Path(tmp), redis_url if mode == "redis" else None, name)
        try:
            with app.app_context():
                token, visits = _setup(app)
                for label, filename in CASES:
                    data = (TESTDATA / filename).read_bytes()
                    times = _time_uploads(app, token, visits, data, runs)
                    print(f"{mode:<10} {label:<32} ack median {statistics.median(times):6.1f} ms"
                          f"  p95 {_p95(times):6.1f} ms  ({runs} uploads)", flush=True)
                if mode == "redis":
                    db.session.remove()
                    seconds = _drain(app, Path(tmp))
                    print(f"{'':<10} one worker processed the {2 * (runs + 1)} queued photos "
                          f"(and their flags) in {seconds:.1f} s, start-up included", flush=True)
                db.session.remove()
                db.engine.dispose()
        finally:
            if mode == "redis":
                _cleanup(redis_url, name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--redis", default=os.environ.get("JOB_QUEUE")
                        or "redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, local photo store, SQLite; "
          "WSGI in-process (no network)")
    run("in-process", None, args.runs)
    run("redis", args.redis, args.runs)


if __name__ == "__main__":
    main()
