"""Run fieldlog as a real deployment runs it, on one machine: many processes, shared state.

    .venv/bin/python bench/stack.py [--workers N] [--port 8000] [--db fieldlog_serve]
                                    [--county demo|bench] [--reset]

Creates the PostgreSQL database (127.0.0.1:5432, user postgres) if missing, migrates it, loads
a county when it is empty (`demo`: the demo county of `make run`; `bench`: 20 townships, 300
villages, 300 cadres `cadre1`…`cadre300`, supervisors and inspectors, a year of records —
bench/load/county.py), starts SeaweedFS for the S3 photo store when its endpoint does not
answer, a job-queue worker (`flask jobs worker`), and gunicorn with N workers.
Every process gets the same SECRET_KEY, DATABASE_URL, PHOTO_STORE and Redis (rate limits,
unknown-username lockouts): nothing a request needs stays in one process (docs/deploy.md).
Ctrl-C (or SIGTERM) stops what this script started. `make serve` and `make load` call it.
"""
from __future__ import annotations

import argparse
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
REDIS_URL = "redis://127.0.0.1:6379/5"  # a database of its own: tests use 0
STATE = ROOT / "instance" / "stack"
# master, master gRPC, volume, volume gRPC, filer, filer gRPC, S3, S3 gRPC: fixed, so the
# photo store's endpoint is the same after a restart (its data stays under instance/stack).
SEAWEED_PORTS = [19333, 29333, 18080, 28080, 18888, 28888, 18333, 28333]
S3_ENDPOINT = f"http://127.0.0.1:{SEAWEED_PORTS[6]}"


def default_workers() -> int:
    """2 × cores + 1, gunicorn's rule of thumb for a mix of CPU and database waits."""
    return 2 * (os.cpu_count() or 1) + 1


def database_url(name: str) -> str:
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def ensure_database(name: str, reset: bool = False) -> None:
    """Create the PostgreSQL database `name` unless it exists (drop it first with `reset`)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        if exists and reset:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
            exists = False
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()


def shared_secret(folder: Path = STATE) -> str:
    """Return SECRET_KEY from the environment, else one kept in `folder` for every process."""
    if key := os.environ.get("SECRET_KEY"):
        return key
    path = folder / "secret_key"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def stack_env(db_url: str, *, secret: str, redis_url: str = REDIS_URL,
              s3_endpoint: str | None = S3_ENDPOINT, proxies: int = 1) -> dict[str, str]:
    """Return the environment every process of the stack shares."""
    from tests.fixtures import seaweed

    env = {**os.environ, "DATABASE_URL": db_url, "SECRET_KEY": secret,
           "RATELIMIT_STORAGE_URI": redis_url, "FLASK_APP": "app",
           # The load test stands in for the reverse proxy: it sends X-Forwarded-For.
           "TRUSTED_PROXIES": str(proxies), "PYTHONDONTWRITEBYTECODE": "1"}
    if s3_endpoint:
        env.update({"PHOTO_STORE": f"s3://{seaweed.BUCKET}", "S3_ENDPOINT_URL": s3_endpoint,
                    "S3_ACCESS_KEY_ID": seaweed.ACCESS_KEY,
                    "S3_SECRET_ACCESS_KEY": seaweed.SECRET_KEY, "S3_REGION": "us-east-1"})
    return env


def gunicorn_command(workers: int, bind: str, timeout: int = 60) -> list[str]:
    """Return the gunicorn command line: sync workers, access log off, app:app."""
    return [str(Path(sys.executable).parent / "gunicorn"), "-w", str(workers), "-b", bind,
            "--timeout", str(timeout), "--graceful-timeout", "20", "--worker-tmp-dir",
            "/dev/shm" if Path("/dev/shm").is_dir() else "/tmp",
            "--no-control-socket",  # several gunicorns on one machine would share its path
            "app:app"]


def flask(env: dict, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run([str(Path(sys.executable).parent / "flask"), *args], cwd=ROOT,
                          env=env, check=check, capture_output=not check, text=True)


def worker_command() -> list[str]:
    """Return the command that works the Redis job queue (photos and flags off the request)."""
    return [str(Path(sys.executable).parent / "flask"), "jobs", "worker"]


def s3_answers(endpoint: str) -> bool:
    """Return whether an S3 gateway answers at `endpoint` (any HTTP answer counts)."""
    try:
        urllib.request.urlopen(endpoint, timeout=2)
    except urllib.error.HTTPError:
        return True  # 403 without credentials: it is there
    except OSError:
        return False
    return True


def ensure_seaweed(folder: Path = STATE / "seaweed"):
    """Start SeaweedFS on the fixed ports unless its S3 endpoint answers; return it or None."""
    from tests.fixtures.seaweed import start_seaweed

    if s3_answers(S3_ENDPOINT):
        return None
    folder.mkdir(parents=True, exist_ok=True)
    # 200 volumes of 512 MB: ~100 GB, a province's year of photos; a load run writes ~1 GB in
    # five minutes, more than the tests' small store holds.
    return start_seaweed(folder, SEAWEED_PORTS, volume_mb=512, volumes=200)


def wait_until_healthy(url: str, timeout: float = 300) -> None:
    """Poll `url`/healthz until it answers 200."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url}/healthz did not answer 200 within {timeout:.0f} s")
        time.sleep(0.3)


def prepare(env: dict, county: str, visits: int) -> None:
    """Migrate the database and load the county when it has no users."""
    flask(env, "db", "upgrade")
    if county == "demo":
        flask(env, "seed-demo", "--if-empty")
    else:
        from bench.load.county import seed_if_empty

        seed_if_empty(env, visits)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=default_workers())
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--db", default="fieldlog_serve")
    parser.add_argument("--county", choices=("demo", "bench"), default="demo")
    parser.add_argument("--visits", type=int, default=100_000,
                        help="visits of the past year in the bench county")
    parser.add_argument("--reset", action="store_true", help="drop the database first")
    parser.add_argument("--no-job-worker", action="store_true",
                        help="start no `flask jobs worker` (the kill test runs its own)")
    args = parser.parse_args()

    ensure_database(args.db, reset=args.reset)
    seaweed = ensure_seaweed()
    env = stack_env(database_url(args.db), secret=shared_secret())
    worker = None if args.no_job_worker else worker_command()
    env["JOB_QUEUE"] = REDIS_URL  # photo processing and flags run in the worker, not the request
    children: list[subprocess.Popen] = []

    def stop(*_args) -> None:
        for child in reversed(children):
            if child.poll() is None:
                child.terminate()
        for child in children:
            try:
                child.wait(25)
            except subprocess.TimeoutExpired:
                child.kill()
        if seaweed is not None:
            seaweed.stop()
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        prepare(env, args.county, args.visits)
        if worker:
            children.append(subprocess.Popen(worker, cwd=ROOT, env=env))
            print("job worker:", " ".join(worker[1:]), flush=True)
        bind = f"{args.host}:{args.port}"
        children.append(subprocess.Popen(gunicorn_command(args.workers, bind), cwd=ROOT,
                                         env=env))
        wait_until_healthy(f"http://{bind}")
        print(f"fieldlog: http://{bind}/ — {args.workers} gunicorn workers, PostgreSQL "
              f"{args.db}, Redis {REDIS_URL}, photos in S3 at {S3_ENDPOINT}", flush=True)
        while all(child.poll() is None for child in children):
            time.sleep(1)
        print("a process of the stack ended; stopping the others", flush=True)
    finally:
        stop()


if __name__ == "__main__":
    main()
