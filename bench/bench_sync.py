"""Time the sync API: a 100-visit batch and a 12-megapixel photo, on SQLite and PostgreSQL;
then the ingest rate: records/s in batches against one record per request.

Usage: .venv/bin/python bench/bench_sync.py [--runs 20] [--pg postgresql+psycopg://...]
                                            [--ingest 3000] [--ingest-only]
Without --pg, uses $BENCH_DATABASE_URL when set; SQLite always runs. Prints medians in ms.
The ingest rate is measured with the integrity flags computed in the request (as the app does
without a job queue) and without them (records_committed muted: what the request does when a
queue worker computes the flags), through the app in-process (one client, no HTTP server).
"""
import argparse
import io
import itertools
import os
import statistics
import sys
import tempfile
import time
import uuid
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PIL import Image  # noqa: E402
from werkzeug.datastructures import FileStorage  # noqa: E402
from werkzeug.test import encode_multipart  # noqa: E402

from bench.common import migrated_app  # noqa: E402
from fieldlog.extensions import db  # noqa: E402
from fieldlog.services.people.auth import hash_password, issue_device_token  # noqa: E402
from fieldlog.services.records.events import records_committed  # noqa: E402
from tests.fixtures.world import build_world  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def visit(household_id: str, day: int = 0, n: int = 0) -> dict:
    """A visit on `day` days ago, the n-th of that batch, a few minutes after the previous one.

    Spread like a real cadre's records, so the integrity checks that look at a cadre's
    neighbouring records see a realistic neighbourhood, not 2,000 records at one instant.
    """
    now = datetime.now(UTC) - timedelta(days=day, hours=2) + timedelta(minutes=3 * n)
    return {"type": "visit", "id": str(uuid.uuid4()), "household_id": household_id,
            "occurred_at": now.isoformat(), "device_created_at": now.isoformat(),
            "heard": "老人腿脚不便，儿子在外打工，家中两亩茶园无人管护。" * 3,
            "requests": "希望协调修缮屋后排水沟。", "follow_up": True,
            "location": {"lat": 26.58, "lon": 106.71, "accuracy_m": 12,
                         "located_at": now.isoformat()},
            "photo_ids": [str(uuid.uuid4())]}


def photo_12mp() -> bytes:
    """A 4000x3000 JPEG with camera-like noise, so it compresses like a real photo."""
    noise = Image.effect_noise((4000, 3000), 40).convert("RGB")
    gradient = Image.linear_gradient("L").resize((4000, 3000)).convert("RGB")
    image = Image.blend(noise, gradient, 0.5)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def run(url: str, runs: int, photo: bytes) -> None:
    app = migrated_app(url, "fieldlog-bench-")
    with app.app_context():
        world = build_world(hash_password("bench-password"))
        _token, raw = issue_device_token(world.sec1, "bench")
        households = [h.id for h in world.h1]
        client = app.test_client()
        headers = {"Authorization": f"Bearer {raw}"}
        batch_ms, replay_ms = [], []
        for run_no in range(runs):
            records = [visit(households[n % len(households)], run_no, n) for n in range(100)]
            for bucket in (batch_ms, replay_ms):  # first apply, then an identical replay
                start = time.perf_counter()
                response = client.post("/api/v1/sync", json={"records": records}, headers=headers)
                bucket.append((time.perf_counter() - start) * 1000)
                assert response.status_code == 200
                assert all(r["status"] == "stored" for r in response.get_json()["results"])
        photo_ms = []
        for n in range(max(3, runs // 4)):
            form = {"file": FileStorage(io.BytesIO(photo), "p.jpg"), "record_type": "visit",
                    "record_id": records[n]["id"]}
            boundary, body = encode_multipart(form)
            start = time.perf_counter()
            response = client.put(f"/api/v1/photos/{uuid.uuid4()}", data=body, headers=headers,
                                  content_type=f"multipart/form-data; boundary={boundary}")
            photo_ms.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 201, response.get_json()
        db.session.remove()
        db.engine.dispose()
    name = url.split(":")[0]
    print(f"{name:22} 100-visit batch: median {statistics.median(batch_ms):6.1f} ms, "
          f"max {max(batch_ms):6.1f} ms | replay: median {statistics.median(replay_ms):6.1f} ms"
          f" | 12 MP photo upload ({len(photo) / 1e6:.1f} MB): median "
          f"{statistics.median(photo_ms):6.1f} ms, max {max(photo_ms):6.1f} ms")


def ingest(url: str, total: int) -> None:
    """Print records/s: `total` visits in batches of 100 and 500, and total/10 one at a time."""
    app = migrated_app(url, "fieldlog-bench-")
    with app.app_context():
        world = build_world(hash_password("bench-password"))
        _token, raw = issue_device_token(world.sec1, "bench")
        households = [h.id for h in world.h1]
        client = app.test_client()
        headers = {"Authorization": f"Bearer {raw}"}
        day = itertools.count(1)

        def rate(size: int, count: int) -> float:
            batches = [[visit(households[n % len(households)], d % 400, n) for n in range(size)]
                       for d in itertools.islice(day, max(1, count // size))]
            client.post("/api/v1/sync", json={"records": batches[0][:1]}, headers=headers)
            start, cpu = time.perf_counter(), time.process_time()
            for records in batches:
                response = client.post("/api/v1/sync", json={"records": records},
                                       headers=headers)
                assert response.status_code == 200
                assert all(r["status"] == "stored" for r in response.get_json()["results"])
            done = size * len(batches)
            return done / (time.perf_counter() - start), done / (time.process_time() - cpu)

        name = url.split(":")[0]
        for label, muted in (("flags in the request", False), ("flags off the request", True)):
            with records_committed.muted() if muted else nullcontext():
                single = rate(1, max(50, total // 10))
                rates = {size: rate(size, total) for size in (100, 500)}
            # records/s of wall time, and per second of this process's CPU (the app's side
            # alone: on a shared machine the wall rate depends on what else runs)
            print(f"{name:22} ingest, {label}: one per request {single[0]:5.0f} rec/s "
                  f"({single[1]:5.0f}/CPU-s) | " + " | ".join(
                      f"batches of {size} {wall:5.0f} rec/s ({cpu:5.0f}/CPU-s, "
                      f"{wall / single[0]:4.1f}x)" for size, (wall, cpu) in rates.items()),
                  flush=True)
        db.session.remove()
        db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--pg", default=os.environ.get("BENCH_DATABASE_URL"))
    parser.add_argument("--ingest", type=int, default=3000,
                        help="visits per batch-size measurement of the ingest rate")
    parser.add_argument("--ingest-only", action="store_true")
    args = parser.parse_args()
    if not args.ingest_only:
        photo = photo_12mp()
        with tempfile.TemporaryDirectory() as tmp:
            run(f"sqlite:///{tmp}/bench.db", args.runs, photo)
        if args.pg:
            run(args.pg, args.runs, photo)
    if args.pg:  # the ingest rate that matters is PostgreSQL's; SQLite when there is none
        ingest(args.pg, args.ingest)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            ingest(f"sqlite:///{tmp}/bench.db", args.ingest)


if __name__ == "__main__":
    main()
