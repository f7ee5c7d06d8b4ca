"""Time the map's data endpoint with 100,000 visits, on SQLite and PostgreSQL.

Usage: .venv/bin/python bench/bench_map.py [--visits 100000] [--runs 5] [--pg postgresql+psycopg://...]
Without --pg, uses $BENCH_DATABASE_URL when set; SQLite always runs. Prints medians in ms and
the answer's size, plain and gzipped, for WGS-84 and for GCJ-02 (converted) tiles.
"""
import argparse
import os
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, select  # noqa: E402

from bench.common import migrated_app  # noqa: E402
from fieldlog.extensions import db  # noqa: E402
from fieldlog.models import Household, OrgUnit, User, Visit  # noqa: E402
from fieldlog.services.people.auth import hash_password  # noqa: E402
from tests.fixtures.world import build_world  # noqa: E402

PASSWORD = "bench-password"


def seed_map_visits(session, count: int, *, days: int = 60, households_per_village: int = 40,
                    seed: int = 7, batch: int = 10_000) -> tuple[datetime, datetime]:
    """Insert `count` located visits by the world's secretaries in bulk; return their time span.

    Each village gets extra households; most visits fall within about 1 km of the village
    centre (a tenth further out, as records made away from the village are), spread over
    the last `days` days. Returns (earliest, latest) as naive UTC.
    """
    rng = random.Random(seed)
    villages = {v.id: v for v in session.scalars(select(OrgUnit).where(OrgUnit.kind == "village"))}
    cadres = list(session.scalars(select(User).where(User.role == "secretary")))
    households: dict[int, list[str]] = {}
    for village in villages.values():
        rows = [{"id": str(uuid.uuid4()), "village_id": village.id, "head_name": f"户主{n}",
                 "house_label": f"{n // 20 + 11}组{n % 20 + 1}号", "member_count": 3}
                for n in range(households_per_village)]
        session.execute(insert(Household), rows)
        households[village.id] = [r["id"] for r in rows]
    now = datetime.now(UTC).replace(tzinfo=None)
    earliest = now - timedelta(days=days)
    rows = []
    for n in range(count):
        cadre = cadres[n % len(cadres)]
        village = villages[cadre.scope_unit_id]
        spread = 0.03 if rng.random() < 0.1 else 0.004  # about 450 m; one in ten far out
        when = earliest + timedelta(seconds=rng.randrange(days * 86400 - 3600))
        rows.append({
            "id": str(uuid.uuid4()), "author_id": cadre.id, "village_id": village.id,
            "household_id": rng.choice(households[village.id]), "occurred_at": when,
            "device_created_at": when, "received_at": when,
            "lat": village.lat + rng.gauss(0, spread), "lon": village.lon + rng.gauss(0, spread),
            "accuracy_m": 12.0, "version": 1,
            "status": "submitted", "content_hash": "0" * 64, "photo_count": 0,
            "heard": "", "requests": "", "follow_up": False})
        if len(rows) == batch:
            session.execute(insert(Visit), rows)
            rows = []
    if rows:
        session.execute(insert(Visit), rows)
    session.commit()
    return earliest, now


def _median_ms(call, runs: int) -> tuple[float, float, object]:
    """Return the median wall-clock and CPU (this process) milliseconds of `call`, and a result.

    The CPU figure is steadier on a busy machine; with PostgreSQL it leaves out the database
    server's own work.
    """
    wall, cpu, result = [], [], None
    for _ in range(runs):
        started, started_cpu = time.perf_counter(), time.process_time()
        result = call()
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    return statistics.median(wall), statistics.median(cpu), result


def run(url: str, visits: int, runs: int) -> None:
    app = migrated_app(url, "fieldlog-bench-map-", WTF_CSRF_ENABLED=False)
    with app.app_context():
        build_world(hash_password(PASSWORD))
        started = time.perf_counter()
        earliest, latest = seed_map_visits(db.session, visits)
        seeded = time.perf_counter() - started
        db.session.remove()
    name = "postgresql" if url.startswith("postgresql") else "sqlite"
    print(f"\n{name}: {visits:,} visits inserted in {seeded:.1f} s")
    client = app.test_client()
    response = client.post("/login", data={"username": "sup_county", "password": PASSWORD})
    assert response.status_code == 302, response.status_code
    query = {"period": "custom", "start": (earliest.date() - timedelta(days=1)).isoformat(),
             "end": (latest.date() + timedelta(days=1)).isoformat()}
    for crs in ("wgs84", "gcj02"):
        app.config["MAP_TILE_CRS"] = crs
        plain_ms, plain_cpu, plain = _median_ms(
            lambda: client.get("/map/data.json", query_string=query), runs)
        gzip_ms, gzip_cpu, zipped = _median_ms(lambda: client.get(
            "/map/data.json", query_string=query, headers={"Accept-Encoding": "gzip"}), runs)
        parse_ms, _cpu, payload = _median_ms(plain.get_json, 3)
        assert plain.status_code == 200 and payload["count"] == visits, payload["count"]
        print(f"  {crs}: data.json {plain_ms:6.0f} ms (cpu {plain_cpu:5.0f}), "
              f"{len(plain.get_data()) / 1e6:4.2f} MB | gzip {gzip_ms:6.0f} ms "
              f"(cpu {gzip_cpu:5.0f}), {len(zipped.get_data()) / 1e6:4.2f} MB | "
              f"json parse (Python) {parse_ms:4.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visits", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--pg", default=os.environ.get("BENCH_DATABASE_URL"))
    args = parser.parse_args()
    import tempfile

    run(f"sqlite:///{tempfile.mkdtemp(prefix='fieldlog-bench-map-')}/bench.db", args.visits,
        args.runs)
    if args.pg:
        run(args.pg, args.visits, args.runs)


if __name__ == "__main__":
    main()
