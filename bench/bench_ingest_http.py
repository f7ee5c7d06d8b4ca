"""Sync ingest over HTTP into PostgreSQL with gunicorn: 100-record batches against one record
per request, side by side in one run.

    .venv/bin/python bench/bench_ingest_http.py [--clients 1,8] [--single 400]
                                                [--batched 8000] [--size 100]
                                                [--workers N] [--db fieldlog_bench_ingest]

Creates (drops first) the PostgreSQL database `--db` on 127.0.0.1:5432, migrates it, seeds one
township of 8 villages with a secretary and 50 households each, and starts gunicorn with
`--workers` sync workers (2 × cores + 1, as bench/stack.py) on a free port; Redis db 5 holds
the rate-limit counters, and the integrity-flag jobs go to a queue of their own there (no
worker runs: the request only enqueues them, as in a deployment with `flask jobs worker`; the
queue is emptied at the end). Each simulated phone signs in as its own cadre over HTTP
(`/api/v1/auth/login`, a device token). Then, for each client count, `--single` visits are
sent one per request and `--batched` visits in batches of `--size`, by that many concurrent
clients (threads, request bodies encoded beforehand). Prints records/s of wall time, the ratio
of batches to one per request, and the CPU milliseconds per record of the app (gunicorn
workers), of PostgreSQL (this database's backends) and of the client. Afterwards every
acknowledged id must be in `visits` exactly once, with one version and one audit entry each,
and nothing else stored; the run fails otherwise. The machine's load average is printed: on a
shared machine the wall-time rates depend on what else runs, the CPU costs much less.
"""
import argparse
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psutil  # noqa: E402
import requests  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from bench.bench_sync import visit  # noqa: E402
from bench.stack import (  # noqa: E402
    REDIS_URL,
    database_url,
    default_workers,
    ensure_database,
    flask,
    gunicorn_command,
    stack_env,
    wait_until_healthy,
)

VILLAGES, HOUSEHOLDS, PASSWORD = 8, 50, "bench-ingest-pw"
QUEUE = "bench-ingest"


def seed(env: dict) -> list[tuple[str, list[str]]]:
    """Create a township of VILLAGES villages, a secretary and HOUSEHOLDS households each;
    return (username, household ids) per secretary."""
    from fieldlog import create_app
    from fieldlog.extensions import db
    from fieldlog.models import Assignment, Household, User
    from fieldlog.services.org.units import add_unit
    from fieldlog.services.people.auth import hash_password

    app = create_app({"SQLALCHEMY_DATABASE_URI": env["DATABASE_URL"],
                      "SECRET_KEY": env["SECRET_KEY"], "RATELIMIT_STORAGE_URI": "memory://"})
    cadres = []
    with app.app_context():
        digest = hash_password(PASSWORD)
        county = add_unit(None, "BC", "基准县")
        township = add_unit(county, "BT", "基准镇")
        for n in range(VILLAGES):
            village = add_unit(township, f"BV{n}", f"基准{n}村", lat=26.58, lon=106.71,
                               geofence_m=1500)
            user = User(username=f"ingest{n}", display_name=f"书记{n}", role="secretary",
                        scope_unit_id=village.id, password_hash=digest)
            db.session.add(user)
            db.session.flush()
            db.session.add(Assignment(user_id=user.id, village_id=village.id,
                                      start_date=date(2020, 1, 1), dispatching_unit="县委组织部"))
            homes = [str(uuid.uuid4()) for _ in range(HOUSEHOLDS)]
            db.session.add_all(Household(id=h, village_id=village.id, head_name=f"户主{k}",
                                         house_label=f"1组{k}号", member_count=3)
                               for k, h in enumerate(homes))
            cadres.append((user.username, homes))
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return cadres


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def sign_in(base: str, username: str) -> str:
    """Sign a phone in over HTTP; return its device token."""
    answer = requests.post(f"{base}/api/v1/auth/login", json={
        "username": username, "password": PASSWORD, "label": "bench"}, timeout=30)
    answer.raise_for_status()
    return answer.json()["token"]


def bodies(homes: list[str], records: int, size: int, day: int) -> list[bytes]:
    """Encode `records` new visits as request bodies of `size` records each."""
    out = []
    for start in range(0, records, size):
        batch = [visit(homes[n % len(homes)], day, n) for n in range(start,
                                                                      min(records, start + size))]
        out.append(json.dumps({"records": batch}).encode())
    return out


class Meter:
    """CPU seconds of the gunicorn workers, this database's PostgreSQL backends, this process."""

    def __init__(self, gunicorn: subprocess.Popen, engine, db_name: str):
        self.master, self.engine, self.db_name = psutil.Process(gunicorn.pid), engine, db_name

    def _cpu(self, processes) -> float:
        total = 0.0
        for process in processes:
            try:
                times = process.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.user + times.system
        return total

    def read(self) -> tuple[float, float, float]:
        with self.engine.connect() as conn:
            pids = conn.scalars(text("SELECT pid FROM pg_stat_activity WHERE datname = :d "
                                     "AND pid <> pg_backend_pid()"), {"d": self.db_name}).all()
        backends = [psutil.Process(pid) for pid in pids if psutil.pid_exists(pid)]
        me = psutil.Process().cpu_times()
        return (self._cpu([self.master, *self.master.children(recursive=True)]),
                self._cpu(backends), me.user + me.system)


def run_clients(base: str, phones: list[dict], mode: str) -> tuple[float, list[str]]:
    """Send every phone's bodies for `mode` from its own thread; return (seconds, ids)."""
    acknowledged: list[str] = []
    failures: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(len(phones) + 1)

    def phone_loop(phone: dict) -> None:
        session = requests.Session()
        session.headers.update({"Authorization": f"Bearer {phone['token']}",
                                "Content-Type": "application/json"})
        start.wait()
        for body in phone[mode]:
            answer = session.post(f"{base}/api/v1/sync", data=body, timeout=120)
            if answer.status_code != 200:
                failures.append(f"{answer.status_code} {answer.text[:200]}")
                return
            results = answer.json()["results"]
            if any(r["status"] != "stored" for r in results):
                failures.append(json.dumps(results)[:300])
                return
            with lock:
                acknowledged.extend(r["id"] for r in results)

    threads = [threading.Thread(target=phone_loop, args=(p,)) for p in phones]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    if failures:
        raise SystemExit(f"{mode}: {len(failures)} failed requests, first: {failures[0]}")
    return elapsed, acknowledged


def check_rows(engine, acknowledged: list[str]) -> None:
    """Every acknowledged id is stored exactly once, with one version and one audit entry."""
    with engine.connect() as conn:
        stored = [str(i) for i in conn.scalars(text("SELECT id FROM visits"))]
        versions = conn.scalar(text("SELECT count(*) FROM record_versions"))
        audited = conn.scalar(text("SELECT count(*) FROM audit_log "
                                   "WHERE action = 'visit.create'"))
    wanted = set(acknowledged)
    problems = []
    if len(wanted) != len(acknowledged):
        problems.append(f"{len(acknowledged) - len(wanted)} ids acknowledged twice")
    if set(stored) != wanted or len(stored) != len(wanted):
        problems.append(f"{len(wanted - set(stored))} acknowledged ids missing, "
                        f"{len(set(stored) - wanted)} stored ids never acknowledged")
    if versions != len(wanted) or audited != len(wanted):
        problems.append(f"{versions} versions and {audited} audit entries for "
                        f"{len(wanted)} records")
    if problems:
        raise SystemExit("row check failed: " + "; ".join(problems))
    print(f"row check: {len(stored)} visits stored, each acknowledged id exactly once, "
          f"one version and one audit entry each")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", default="1,8", help="concurrent clients, comma-separated")
    parser.add_argument("--single", type=int, default=400,
                        help="records sent one per request, per client count")
    parser.add_argument("--batched", type=int, default=8000,
                        help="records sent in batches, per client count")
    parser.add_argument("--size", type=int, default=100, help="records per batch")
    parser.add_argument("--workers", type=int, default=default_workers())
    parser.add_argument("--db", default="fieldlog_bench_ingest")
    args = parser.parse_args()
    clients = [int(c) for c in args.clients.split(",")]
    if max(clients) > VILLAGES:
        raise SystemExit(f"at most {VILLAGES} clients (one cadre each)")

    ensure_database(args.db, reset=True)
    photos = tempfile.mkdtemp(prefix="fieldlog-bench-ingest-")
    env = stack_env(database_url(args.db), secret=secrets.token_hex(32), s3_endpoint=None,
                    proxies=0)
    env.update({"PHOTO_DIR": photos, "JOB_QUEUE": REDIS_URL, "JOB_QUEUE_NAME": QUEUE})
    flask(env, "db", "upgrade")
    cadres = seed(env)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = open(Path(photos) / "gunicorn.log", "w")  # noqa: SIM115 (closed with the server)
    server = subprocess.Popen(gunicorn_command(args.workers, f"127.0.0.1:{port}"), cwd=ROOT,
                              env=env, stdout=log, stderr=subprocess.STDOUT)
    engine = create_engine(database_url("postgres"))
    try:
        wait_until_healthy(base)
        phones = [{"token": sign_in(base, name), "homes": homes} for name, homes in cadres]
        acknowledged: list[str] = []
        for n, phone in enumerate(phones):  # warm every worker: imports, pools, caches
            warm = bodies(phone["homes"], 3, 3, 300 + n)
            acknowledged += run_clients(base, [{**phone, "warm": warm}], "warm")[1]
        meter = Meter(server, engine, args.db)
        print(f"gunicorn {args.workers} workers, PostgreSQL {args.db}, {os.cpu_count()} cores; "
              f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        print(f"{'mode':24} {'clients':>7} {'records':>8} {'seconds':>8} {'rec/s':>8} "
              f"{'CPU-ms/record: app':>19} {'PostgreSQL':>10} {'client':>7}")
        rates: dict[tuple[str, int], float] = {}
        day = 0
        for count in clients:
            for mode, records, size, label in (
                    ("single", args.single, 1, "one record per request"),
                    ("batched", args.batched, args.size, f"batches of {args.size}")):
                chosen = phones[:count]
                for phone in chosen:
                    day += 1
                    phone[mode] = bodies(phone["homes"], records // count, size, day % 300)
                before = meter.read()
                seconds, ids = run_clients(base, chosen, mode)
                after = meter.read()
                acknowledged += ids
                rate = len(ids) / seconds
                rates[(mode, count)] = rate
                cost = [(b - a) * 1000 / len(ids) for a, b in zip(before, after, strict=True)]
                print(f"{label:24} {count:7} {len(ids):8} {seconds:8.2f} {rate:8.0f} "
                      f"{cost[0]:19.2f} {cost[1]:10.2f} {cost[2]:7.2f}", flush=True)
        for count in clients:
            print(f"{count} client(s): batches of {args.size} "
                  f"{rates[('batched', count)] / rates[('single', count)]:.1f}x "
                  f"one record per request")
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        check_rows(create_engine(env["DATABASE_URL"]), acknowledged)
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
        from redis import Redis
        from rq import Queue

        Queue(QUEUE, connection=Redis.from_url(REDIS_URL)).empty()
        engine.dispose()


if __name__ == "__main__":
    main()
