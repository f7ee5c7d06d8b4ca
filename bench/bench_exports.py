"""Time the office exports over 100,000 records, and their peak memory, on SQLite and PostgreSQL.

Usage: .venv/bin/python bench/bench_exports.py [--records 100000] [--pg postgresql+psycopg://...]
Without --pg, uses $BENCH_DATABASE_URL when set; SQLite always runs.

The data: 100 villages with a secretary and 30 households each, and this month's visits,
meetings, six-one actions, ledger items (with history) and day marks, bulk-inserted. Each
export is downloaded through the app as the county supervisor, reading the streamed body in
chunks as a browser would. Printed per export: wall seconds, CPU seconds of this process (the
app runs in it; on a busy machine wall time also counts waiting for a core and, on
PostgreSQL, the server's own work), megabytes sent, and the Python heap's peak during the
export (tracemalloc, in a second run so it does not slow the timed one).
"""
import argparse
import os
import random
import sys
import time
import tracemalloc
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert  # noqa: E402

from bench.common import migrated_app  # noqa: E402
from fieldlog.extensions import db  # noqa: E402
from fieldlog.models import (  # noqa: E402
    Action,
    Assignment,
    DayMark,
    Household,
    HouseholdTag,
    LedgerEvent,
    LedgerItem,
    Meeting,
    User,
    Visit,
)
from fieldlog.services.org.units import add_unit  # noqa: E402
from fieldlog.services.people.auth import hash_password  # noqa: E402
from fieldlog.timefmt import local_midnight_utc, local_today  # noqa: E402
from tests.fixtures.world import build_world  # noqa: E402

VILLAGES, HOUSEHOLDS = 100, 30
PASSWORD = "bench-password"
SHARES = {"visit": 0.60, "meeting": 0.15, "action": 0.10, "ledger": 0.12}  # rest: day marks
TEXT = "老人腿脚不便，儿子在外打工，家中两亩茶园无人管护，希望协调修缮屋后排水沟。"


def _common(rng: random.Random, author: int, village: int, lo: datetime, span: float) -> dict:
    at = lo + timedelta(seconds=rng.random() * span)
    return {"id": str(uuid.uuid4()), "author_id": author, "village_id": village,
            "occurred_at": at, "device_created_at": at, "received_at": at, "lat": 26.58,
            "lon": 106.71, "accuracy_m": 10.0, "content_hash": "0" * 64,
            "status": rng.choice(("submitted", "approved", "approved", "returned"))}


def populate(total: int) -> None:
    """Create the villages, cadres, households and `total` records of this month."""
    world = build_world(hash_password(PASSWORD))
    rng = random.Random(7)
    cadres, households = [], {}
    for n in range(VILLAGES):
        village = add_unit(world.t1 if n % 2 else world.t2, f"BV{n:03d}", f"测试{n:03d}村",
                           lat=26.58, lon=106.71, geofence_m=3000)
        user = User(username=f"bsec{n:03d}", display_name=f"书记{n:03d}", role="secretary",
                    scope_unit_id=village.id, password_hash=world.sec1.password_hash)
        db.session.add(user)
        db.session.flush()
        db.session.add(Assignment(user_id=user.id, village_id=village.id,
                                  start_date=local_today().replace(day=1),
                                  dispatching_unit="县委组织部"))
        ids = [str(uuid.uuid4()) for _ in range(HOUSEHOLDS)]
        db.session.execute(insert(Household), [
            {"id": h, "village_id": village.id, "head_name": f"户主{n}-{k}",
             "house_label": f"{k}号", "member_count": 3} for k, h in enumerate(ids)])
        db.session.execute(insert(HouseholdTag), [
            {"household_id": h, "tag": "hardship"} for h in ids[:5]])
        cadres.append((user.id, village.id))
        households[village.id] = ids
    db.session.commit()
    today = local_today()
    lo = local_midnight_utc(today.replace(day=1))
    span = max(3600.0, (datetime.now(UTC).replace(tzinfo=None) - lo).total_seconds() - 60)
    counts = {kind: int(total * share) for kind, share in SHARES.items()}
    days = (today - today.replace(day=1)).days + 1
    # One day mark per cadre and day at most; whatever marks cannot take goes to visits.
    counts["mark"] = min(total - sum(counts.values()), VILLAGES * days)
    counts["visit"] += total - sum(counts.values())
    makers = {
        "visit": (Visit, lambda r, v: {"household_id": rng.choice(households[v]),
                                       "heard": TEXT, "requests": "修路", "follow_up": False}),
        "meeting": (Meeting, lambda r, v: {"meeting_type": "branch_committee",
                                           "title": "支委会", "topics": TEXT,
                                           "attended_count": 6, "expected_count": 7}),
        "action": (Action, lambda r, v: {"action_type": "practical_deed", "title": "修排水沟",
                                         "state": "done", "description": TEXT}),
        "ledger": (LedgerItem, lambda r, v: {"household_id": rng.choice(households[v]),
                                             "category": "infrastructure", "content": TEXT,
                                             "handler": "township", "state": "in_progress"}),
    }
    for kind, (model, extra) in makers.items():
        rows = []
        for _ in range(counts[kind]):
            author, village = rng.choice(cadres)
            rows.append({**_common(rng, author, village, lo, span), **extra(rng, village)})
            if len(rows) == 5000:
                _flush(model, rows, kind)
                rows = []
        _flush(model, rows, kind)
    marks, n = [], 0
    for author, village in cadres:
        for day in range(days):
            if n >= counts["mark"]:
                break
            row = _common(rng, author, village, lo, span)
            marks.append({**row, "day": today.replace(day=1) + timedelta(days=day),
                          "kind": "present", "reason": "other", "note": "在村"})
            n += 1
    _flush(DayMark, marks, "mark")
    db.session.commit()
    print(f"  records: {sum(counts.values()):,} "
          f"({', '.join(f'{k} {v:,}' for k, v in counts.items())})")


def _flush(model, rows: list[dict], kind: str) -> None:
    if not rows:
        return
    db.session.execute(insert(model), rows)
    if kind == "ledger":
        db.session.execute(insert(LedgerEvent), [
            {"id": str(uuid.uuid4()), "item_id": r["id"], "actor_id": r["author_id"],
             "occurred_at": r["occurred_at"], "received_at": r["occurred_at"],
             "from_state": "open", "to_state": "in_progress", "changes": "{}",
             "note": "已报乡镇", "content_hash": "0" * 64} for r in rows])
    db.session.commit()


def download(client, url: str) -> int:
    """Fetch a URL streamed, reading it chunk by chunk; return its size in bytes."""
    response = client.get(url, buffered=False)
    assert response.status_code == 200, (url, response.status_code)
    size = 0
    for chunk in response.response:
        size += len(chunk)
    response.close()
    return size


def run(url: str, total: int) -> None:
    app = migrated_app(url, "fieldlog-bench-exports-", WTF_CSRF_ENABLED=False,
                       RATELIMIT_ENABLED=False)
    with app.app_context():
        started = time.perf_counter()
        populate(total)
        print(f"  generated in {time.perf_counter() - started:.1f} s")
        month = local_today().strftime("%Y-%m")
        cadre = db.session.query(User.id).filter_by(username="bsec000").scalar()
        client = app.test_client()
        answer = client.post("/login", data={"username": "sup_county", "password": PASSWORD})
        assert answer.status_code == 302, answer.status_code
        urls = [f"/exports/{kind}.{fmt}?period={month}"
                for kind in ("work_ledger", "issue_ledger", "attendance", "scores")
                for fmt in ("xlsx", "csv")]
        urls += [f"/exports/record-form/{cadre}.xlsx?period={month}"]
        print(f"  {'export':<36} {'seconds':>8} {'CPU s':>6} {'MB':>6} {'peak heap MB':>13}")
        for target in urls:
            started, cpu = time.perf_counter(), time.process_time()
            size = download(client, target)
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
            tracemalloc.start()
            download(client, target)
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            print(f"  {target.split('?')[0]:<36} {seconds:8.2f} {cpu:6.2f} {size / 1e6:6.2f} "
                  f"{peak / 1e6:13.1f}")
        db.session.remove()
        db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--pg", default=os.environ.get("BENCH_DATABASE_URL"))
    parser.add_argument("--pg-only", action="store_true", help="skip the SQLite run")
    args = parser.parse_args()
    import tempfile

    path = Path(tempfile.mkdtemp(prefix="fieldlog-bench-db-")) / "bench.db"
    targets = ([] if args.pg_only else [("SQLite", f"sqlite:///{path}")]) + (
        [("PostgreSQL", args.pg)] if args.pg else [])
    for name, url in targets:
        print(f"{name}:", flush=True)
        run(url, args.records)


if __name__ == "__main__":
    main()
