"""After a load run: prove 0 lost and 0 duplicated records and photos, by counting rows.

    .venv/bin/python bench/load/count.py [--db fieldlog_load] [--accepted FILE]

For every record id the clients got "stored" for: its row is in its table exactly once, with
exactly one version 1; every row the load cadres' devices created during the run is a record
a client sent (nothing stored twice under another id; a record sent but not answered because
the run stopped is reported, not counted as lost). For every photo acknowledged: one row,
and its three objects are in the S3 bucket. Exits 1 when anything is off.

With `--drain QUEUE` it first waits until the job queue has done the run's work (the queue and
its started and scheduled registries empty, no photo of the run still "processing"), prints how
long that took and the photos processed a second, and counts a photo left processing or a job
in the failed registry (a dead letter) as a problem.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402

from bench.stack import REDIS_URL, S3_ENDPOINT, database_url  # noqa: E402

DRAIN_TIMEOUT = float(os.environ.get("DRAIN_TIMEOUT", 600))  # an abandoned job waits
# JOB_TIMEOUT + 60 s for its heartbeat to expire before it is retried

TABLES = {"visit": "visits", "meeting": "meetings", "ledger_item": "ledger_items",
          "action": "actions"}


def _ids_in(conn, sql: str, ids: list[str]) -> Counter:
    found: Counter = Counter()
    for start in range(0, len(ids), 5000):
        chunk = ids[start:start + 5000]
        found.update(str(row[0]) for row in conn.execute(text(sql), {"ids": chunk}))
    return found


def count(url: str, accepted: dict, check_objects: bool = True) -> list[str]:
    """Return the problems found (empty: nothing lost, nothing duplicated)."""
    problems: list[str] = []
    by_type: dict[str, list[str]] = {}
    for item in accepted["records"]:
        kind, _, record_id = item.partition(":")
        by_type.setdefault(kind, []).append(record_id)
    sent = set(accepted.get("sent", []))
    since = datetime.fromtimestamp(accepted["started_at"], UTC).replace(tzinfo=None)
    engine = create_engine(url)
    with engine.connect() as conn:
        for kind, table in TABLES.items():
            ids = by_type.get(kind, [])
            rows = _ids_in(conn, f"SELECT id FROM {table} WHERE id = ANY(CAST(:ids AS uuid[]))",
                           ids)
            versions = _ids_in(conn, "SELECT record_id FROM record_versions WHERE version = 1 "
                               f"AND record_type = '{kind}' "
                               "AND record_id = ANY(CAST(:ids AS uuid[]))", ids)
            lost = [i for i in ids if rows[i] != 1]
            twice = [i for i in ids if versions[i] != 1]
            # Rows the load devices made during the run: each must be a record some client
            # sent (a retry stored under a new id would not be); rows sent but not answered
            # (the run stopped while the request was queued) are stored, not lost.
            made = {str(r[0]) for r in conn.execute(text(
                f"SELECT t.id FROM {table} t JOIN device_tokens d ON d.id = t.device_id "
                f"WHERE d.label = 'load test phone' AND t.received_at >= :since"),
                {"since": since})}
            phantom = made - sent
            print(f"{kind:<12} acknowledged {len(ids):>6}  in the table {sum(rows.values()):>6}"
                  f"  version-1 rows {sum(versions.values()):>6}  made during the run "
                  f"{len(made):>6} (sent, not answered {len(made - set(ids)):>4}; never sent "
                  f"{len(phantom)})")
            if phantom:
                problems.append(f"{kind}: {len(phantom)} rows no client sent")
            if lost:
                problems.append(f"{len(lost)} acknowledged {kind} records missing, e.g. {lost[0]}")
            if twice:
                problems.append(f"{len(twice)} {kind} records without exactly one version 1")
        photo_ids = accepted["photos"]
        rows = _ids_in(conn, "SELECT id FROM photos WHERE id = ANY(CAST(:ids AS uuid[]))",
                       photo_ids)
        made = {str(r[0]) for r in conn.execute(text(
            "SELECT p.id FROM photos p JOIN users u ON u.id = p.owner_id "
            "WHERE u.username LIKE 'cadre%' AND p.received_at >= :since"), {"since": since})}
        print(f"{'photo':<12} acknowledged {len(photo_ids):>6}  in the table "
              f"{sum(rows.values()):>6}  made during the run {len(made):>6} (sent, not "
              f"answered {len(made - set(photo_ids)):>4}; never sent {len(made - sent)})")
        if [i for i in photo_ids if rows[i] != 1]:
            problems.append("acknowledged photos missing from the table")
        if made - sent:
            problems.append(f"photos: {len(made - sent)} rows no client sent")
    engine.dispose()
    if check_objects and photo_ids:
        missing = _missing_objects(photo_ids)
        print(f"{'photo objects':<12} {3 * len(photo_ids) - missing} of {3 * len(photo_ids)} "
              "in the bucket")
        if missing:
            problems.append(f"{missing} photo objects missing from the bucket")
    return problems


def _missing_objects(photo_ids: list[str]) -> int:
    from fieldlog.storage import photo_keys
    from tests.fixtures import seaweed

    client = seaweed.Seaweed(None, S3_ENDPOINT, Path("."), Path(".")).client()  # type: ignore
    missing = 0
    for photo_id in photo_ids:
        for key in photo_keys(photo_id).values():
            try:
                client.head_object(Bucket=seaweed.BUCKET, Key=key)
            except client.exceptions.ClientError:
                missing += 1
    return missing


def registries(redis, queue_name: str) -> dict[str, int]:
    """Count the queue and its registries with raw ZCARD/LLEN: RQ's count() would run the
    started registry's cleanup itself and so do the worker's work for it."""
    from rq import Queue
    from rq.registry import FailedJobRegistry, ScheduledJobRegistry, StartedJobRegistry

    queue = Queue(queue_name, connection=redis)
    return {"queued": redis.llen(queue.key),
            "started": redis.zcard(StartedJobRegistry(queue=queue).key),
            "scheduled": redis.zcard(ScheduledJobRegistry(queue=queue).key),
            "failed": redis.zcard(FailedJobRegistry(queue=queue).key)}


def run_photos(engine, since: float, *, processing: bool = True) -> int:
    """Photos the load's cadres sent since `since` (epoch seconds): those still being
    processed, or (processing=False) those done, ready or failed."""
    with engine.connect() as conn:
        return conn.scalar(text(
            "SELECT count(*) FROM photos p JOIN users u ON u.id = p.owner_id "
            "WHERE u.username LIKE 'cadre%' AND p.received_at >= to_timestamp(:since) "
            "AT TIME ZONE 'UTC' AND (p.state = 'processing') = :processing"),
            {"since": since, "processing": processing})


def drain(redis, engine, queue_name: str, since: float) -> tuple[dict, int, float]:
    """Wait until the queue has no work left and no photo of the run is processing (at most
    DRAIN_TIMEOUT s); return the registries' counts, the photos still processing, the wait."""
    started = time.monotonic()
    while True:
        counts, stuck = registries(redis, queue_name), run_photos(engine, since)
        busy = counts["queued"] + counts["started"] + counts["scheduled"]
        if (busy == 0 and stuck == 0) or time.monotonic() - started > DRAIN_TIMEOUT:
            return counts, stuck, time.monotonic() - started
        time.sleep(2)


def drain_problems(counts: dict, stuck: int) -> list[str]:
    problems = []
    if stuck:
        problems.append(f"{stuck} photos of the run still processing")
    if counts["failed"]:
        problems.append(f"{counts['failed']} jobs in the failed registry (dead letters)")
    if counts["queued"] + counts["started"] + counts["scheduled"]:
        problems.append(f"the queue did not drain in {DRAIN_TIMEOUT:.0f} s: {counts}")
    return problems


def _drain_and_report(url: str, queue_name: str, accepted: dict) -> list[str]:
    """Wait for the run's jobs; print the wait and the photo processing rate it implies."""
    from redis import Redis

    redis, engine = Redis.from_url(REDIS_URL), create_engine(url)
    counts, stuck, waited = drain(redis, engine, queue_name, accepted["started_at"])
    done = run_photos(engine, accepted["started_at"], processing=False)
    engine.dispose()
    span = time.time() - accepted["started_at"]
    print(f"queue drained {waited:.0f} s after the load: {counts}; photos of the run still "
          f"processing: {stuck}; {done} photos processed in the {span:.0f} s from the run's "
          f"start to the queue's end ({done / span:.1f} a second)")
    return drain_problems(counts, stuck)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", default="fieldlog_load")
    parser.add_argument("--accepted", default=str(ROOT / "instance/stack/load-accepted.json"))
    parser.add_argument("--drain", metavar="QUEUE",
                        help="first wait for this job queue to finish the run's work")
    args = parser.parse_args()
    accepted = json.loads(Path(args.accepted).read_text())
    problems = (_drain_and_report(database_url(args.db), args.drain, accepted)
                if args.drain else [])
    problems += count(database_url(args.db), accepted)
    for problem in problems:
        print("PROBLEM:", problem)
    print("0 lost, 0 duplicated" if not problems else f"{len(problems)} problems")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
