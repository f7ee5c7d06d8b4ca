"""Time the secretary's phone home (GET /m/) for big villages, on SQLite and PostgreSQL.

Builds the test county (tests/fixtures/world.py) and fills the first secretary's village with
500 and 1,500 households and a year of visits (six a household, key households three times as
often; tests/fixtures/big_village.py), signs the secretary in, then times GET /m/ warm: the
median and p95 of `--runs` requests after two warm-ups, with the app process's CPU, the HTML
size (plain and gzipped) and the number of SQL statements one request runs. The households
page the phone caches for offline use (/m/households) is timed beside it, and the outbox page
(the bare page shell every phone page shares: sign-in check, layout, strings) for scale.

Usage: .venv/bin/python bench/bench_home.py [--households 500 1500] [--runs 20]
       [--pg postgresql+psycopg://postgres@127.0.0.1:5432/db]   (that database is wiped)
Without --pg, uses $BENCH_DATABASE_URL when set; SQLite always runs.
"""
import argparse
import gzip
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event  # noqa: E402

from bench.common import migrated_app  # noqa: E402
from fieldlog.extensions import db  # noqa: E402
from fieldlog.services.people.auth import hash_password  # noqa: E402
from tests.fixtures.big_village import fill_village  # noqa: E402
from tests.fixtures.world import build_world  # noqa: E402

PASSWORD = "bench-password"
PAGES = ("/m/", "/m/households", "/m/outbox")  # the outbox page: the bare page shell, for scale


def _timed(call, runs: int) -> tuple[float, float, float]:
    """Return the median and p95 wall-clock ms and the median CPU ms of `runs` calls."""
    call()
    call()
    wall, cpu = [], []
    for _ in range(runs):
        started, started_cpu = time.perf_counter(), time.process_time()
        call()
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    wall.sort()
    return (statistics.median(wall), wall[min(len(wall) - 1, round(0.95 * (len(wall) - 1)))],
            statistics.median(cpu))


def _count_statements(app, call) -> int:
    """Run `call` once and return how many SQL statements it sent."""
    seen = []

    def count(*_args):
        seen.append(1)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        call()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(seen)


def run(url: str, sizes: list[int], runs: int) -> list[tuple]:
    """Measure every size on one database; return rows of the result table."""
    name = "postgresql" if url.startswith("postgresql") else "sqlite"
    app = migrated_app(url, "fieldlog-bench-home-", WTF_CSRF_ENABLED=False,
                       RATELIMIT_ENABLED=False)
    with app.app_context():
        world = build_world(hash_password(PASSWORD))
        village_id, author_id = world.v1.id, world.sec1.id
        db.session.remove()
    rows = []
    for size in sizes:
        with app.app_context():
            from fieldlog.models import OrgUnit, User

            started = time.perf_counter()
            fill_village(db.session, db.session.get(OrgUnit, village_id),
                         db.session.get(User, author_id), size)
            built = time.perf_counter() - started
            if name == "postgresql":
                with db.engine.connect() as conn:
                    conn.exec_driver_sql("ANALYZE")
            db.session.remove()
        client = app.test_client()
        response = client.post("/login", data={"username": "sec1", "password": PASSWORD})
        assert response.status_code == 302, response.status_code
        print(f"{name}: {size:,} households, {size * 6:,} visits built in {built:.1f} s",
              flush=True)
        for page in PAGES:
            first = client.get(page)
            if first.status_code == 404:
                continue  # this checkout has no such page
            assert first.status_code == 200, (page, first.status_code)
            body = first.get_data()
            median, p95, cpu = _timed(lambda p=page, c=client: c.get(p), runs)
            statements = _count_statements(app, lambda p=page, c=client: c.get(p))
            rows.append((name, size, page, median, p95, cpu, len(body),
                         len(gzip.compress(body, 6)), statements))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, nargs="+", default=[500, 1500])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--pg", default=os.environ.get("BENCH_DATABASE_URL"))
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="fieldlog-bench-home-")
    rows = run(f"sqlite:///{folder}/bench.db", args.households, args.runs)
    if args.pg:
        rows += run(args.pg, args.households, args.runs)
    print(f"\n{'database':<10} {'households':>10}  {'page':<14} {'median ms':>9} {'p95 ms':>7} "
          f"{'cpu ms':>7} {'HTML bytes':>10} {'gzipped':>8} {'SQL':>4}")
    for name, size, page, median, p95, cpu, plain, zipped, statements in rows:
        print(f"{name:<10} {size:>10,}  {page:<14} {median:>9.1f} {p95:>7.1f} {cpu:>7.1f} "
              f"{plain:>10,} {zipped:>8,} {statements:>4}")


if __name__ == "__main__":
    main()
