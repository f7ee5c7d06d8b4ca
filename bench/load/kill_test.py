"""The kill test of issue 11: during a load run, SIGKILL a gunicorn worker and the job worker.

    USERS=20 DURATION=90s .venv/bin/python bench/load/kill_test.py
    (or `make load-kill USERS=20 DURATION=90s`)

Starts the stack on the bench county (bench/stack.py, without its own job worker) and a
`flask jobs worker` of its own, runs locust headless as `make load` does, and KILL_AFTER
seconds in (default 30): SIGKILLs one gunicorn worker (its master starts another) and, as
soon as it works a job (within KILL_WAIT s, default 45), the job worker's whole process
group (the worker and its scheduler, as a crash of its service takes both); RESTART_AFTER
seconds later (default 15) starts a new job worker. After the run it waits until the queue
drains (the queue, RQ's started and scheduled registries empty, no photo of the run still
processing; at most DRAIN_TIMEOUT s, default 600: a job the killed worker had started is
retried only once its heartbeat expired, JOB_TIMEOUT + 60 s after it started) and checks:

- bench/load/count.py: every record and photo acknowledged is stored exactly once;
- no photo made during the run is left "processing", none is in the failed-job registry;
- each job the killed worker had started was run again to the end (RQ 3.0's cleanup of the
  started registry retries an abandoned job once its heartbeat expired; the worker runs that
  cleanup every JOB_MAINTENANCE_INTERVAL seconds), not left as a dead letter.

Exits 1 on any problem. Variables: USERS, SPAWN, DURATION, WORKERS, PORT (8011), LOAD_DB
(fieldlog_load), VISITS (100000, when it is generated), KILL_AFTER, KILL_WAIT, RESTART_AFTER,
DRAIN_TIMEOUT. Logs: instance/stack/kill-*.log.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT))

from redis import Redis  # noqa: E402
from rq import Queue  # noqa: E402
from rq.job import Job  # noqa: E402
from rq.registry import StartedJobRegistry  # noqa: E402
from sqlalchemy import create_engine  # noqa: E402

from bench.load.count import count, drain, drain_problems  # noqa: E402
from bench.stack import REDIS_URL, STATE, database_url, shared_secret, stack_env  # noqa: E402

PY = sys.executable
ENV = os.environ
USERS, SPAWN, DURATION = ENV.get("USERS", "20"), ENV.get("SPAWN", "2"), ENV.get("DURATION", "90s")
WORKERS = int(ENV.get("WORKERS", 2 * (os.cpu_count() or 1) + 1))
PORT, LOAD_DB = int(ENV.get("PORT", 8011)), ENV.get("LOAD_DB", "fieldlog_load")
KILL_AFTER, RESTART_AFTER = float(ENV.get("KILL_AFTER", 30)), float(ENV.get("RESTART_AFTER", 15))
KILL_WAIT = float(ENV.get("KILL_WAIT", 45))  # for the job worker to be working a job
VISITS = ENV.get("VISITS", "100000")  # of the past year, when the county is generated
QUEUE_NAME = f"fieldlog-kill-{os.getpid()}"  # a queue of its own: no other stack's worker
ACCEPTED = STATE / "kill-accepted.json"


def log(message: str) -> None:
    print(f"[kill-test {time.strftime('%H:%M:%S')}] {message}", flush=True)


def children(pid: int) -> list[int]:
    """Return the IDs of the processes whose parent is `pid` (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def gunicorn_workers(stack: subprocess.Popen) -> tuple[int, list[int]]:
    master = next(p for p in children(stack.pid) if "gunicorn" in cmdline(p))
    return master, sorted(children(master))


def start_job_worker(env: dict, n: int) -> subprocess.Popen:
    out = (STATE / f"kill-worker-{n}.log").open("w")
    worker = subprocess.Popen([str(Path(PY).parent / "flask"), "jobs", "worker"], cwd=ROOT,
                              env=env, stdout=out, stderr=subprocess.STDOUT,
                              start_new_session=True)  # its own group: it and its scheduler
    log(f"job worker {n} started (pid {worker.pid})")
    return worker


def started_job_ids(redis: Redis) -> list[str]:
    key = StartedJobRegistry(queue=Queue(QUEUE_NAME, connection=redis)).key
    return sorted({m.decode().split(":")[0] for m in redis.zrange(key, 0, -1)})


def kill_during_run(stack, env, redis) -> tuple[subprocess.Popen, list[str], int]:
    """SIGKILL a gunicorn worker, then the job worker while it works a job; restart it."""
    master, before = gunicorn_workers(stack)
    victim = before[len(before) // 2]
    os.kill(victim, signal.SIGKILL)
    log(f"SIGKILL gunicorn worker {victim} (master {master}, workers {before})")
    deadline = time.monotonic() + KILL_WAIT
    while not started_job_ids(redis) and time.monotonic() < deadline:
        time.sleep(0.05)  # kill it mid-job when there is one to kill it in
    abandoned = started_job_ids(redis)
    os.killpg(env["_worker"].pid, signal.SIGKILL)
    env["_worker"].wait()
    log(f"SIGKILL job worker group {env['_worker'].pid}; jobs it had started: {abandoned}")
    time.sleep(RESTART_AFTER)
    worker = start_job_worker(env["_env"], 2)
    _master, after = gunicorn_workers(stack)
    log(f"gunicorn workers now {after} ({len(after)} of {WORKERS})")
    return worker, abandoned, victim


def main() -> int:  # noqa: PLR0915 — one scenario, told in order
    STATE.mkdir(parents=True, exist_ok=True)
    env = {**stack_env(database_url(LOAD_DB), secret=shared_secret()), "JOB_QUEUE": REDIS_URL,
           "JOB_QUEUE_NAME": QUEUE_NAME}
    stack = subprocess.Popen([PY, "bench/stack.py", "--county", "bench", "--db", LOAD_DB,
                              "--workers", str(WORKERS), "--port", str(PORT), "--visits", VISITS,
                              "--no-job-worker"],
                             cwd=ROOT, env=env, stdout=(STATE / "kill-stack.log").open("w"),
                             stderr=subprocess.STDOUT, start_new_session=True)
    redis, engine = Redis.from_url(REDIS_URL), create_engine(database_url(LOAD_DB))
    worker = None
    try:
        for _ in range(1800):  # the first run generates the bench county: minutes
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/healthz", timeout=2) as up:
                    if up.status == 200:
                        break
            except OSError:
                pass
            if stack.poll() is not None:
                print((STATE / "kill-stack.log").read_text()[-3000:])
                return 1
            time.sleep(1)
        worker = start_job_worker(env, 1)
        log(f"stack up ({WORKERS} gunicorn workers, queue {QUEUE_NAME}); load: {USERS} users "
            f"for {DURATION}; machine load {Path('/proc/loadavg').read_text().split()[:3]}")
        locust = subprocess.Popen(
            [str(Path(PY).parent / "locust"), "-f", "bench/load/locustfile.py", "--headless",
             "-H", f"http://127.0.0.1:{PORT}", "-u", USERS, "-r", SPAWN, "-t", DURATION,
             "--only-summary", "--csv", str(STATE / "kill-load"), "--exit-code-on-error", "0",
             "--stop-timeout", "90"], cwd=ROOT, env={**env, "PYTHONPATH": ".",
                                                     "LOAD_ACCEPTED": str(ACCEPTED)},
            stdout=(STATE / "kill-locust.log").open("w"), stderr=subprocess.STDOUT)
        time.sleep(KILL_AFTER)
        worker, abandoned, _victim = kill_during_run(stack, {**env, "_worker": worker,
                                                             "_env": env}, redis)
        locust.wait()
        log("load over; waiting for the queue to drain")
        accepted = json.loads(ACCEPTED.read_text())
        counts, stuck, waited = drain(redis, engine, QUEUE_NAME, accepted["started_at"])
        log(f"drained in {waited:.0f} s: {counts}, photos of the run still processing: {stuck}")
        problems = count(database_url(LOAD_DB), accepted) + drain_problems(counts, stuck)
        if not abandoned:
            problems.append(f"the job worker ran no job in the {KILL_WAIT:.0f} s before its kill: "
                            "nothing proves that abandoned jobs resume (KILL_WAIT, USERS)")
        for job_id in abandoned:
            job = Job.fetch(job_id, connection=redis)
            status = job.get_status()
            log(f"abandoned job {job_id} ({job.meta.get('name')} {job.args[1:]}): {status}, "
                f"attempts {job.meta.get('attempts')}")
            if status != "finished":
                problems.append(f"abandoned job {job_id} ended {status}, not finished")
        summary = [line for line in (STATE / "kill-locust.log").read_text().splitlines()
                   if "Aggregated" in line or "Type" in line]
        print("\n".join(summary))
        for problem in problems:
            print("PROBLEM:", problem)
        print("kill test: 0 lost, 0 duplicated, nothing stuck, abandoned jobs resumed"
              if not problems else f"kill test: {len(problems)} problems")
        return 1 if problems else 0
    finally:
        if worker is not None and worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(30)
        stack.terminate()
        stack.wait(60)
        for key in redis.scan_iter(match=f"rq:*{QUEUE_NAME}*"):
            redis.delete(key)
        engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
