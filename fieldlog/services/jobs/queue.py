"""Run named jobs: on an RQ queue in Redis when JOB_QUEUE is set, else in this process.

Why RQ: it needs nothing but Redis (already there for the rate limiter), its failed-job
registry is the dead-letter store the admin page reads, a job is a plain function call that
the worker imports, and retries with a list of back-off intervals are built in. Dramatiq
would bring its own broker abstraction and middleware for the same result.

In-process (no JOB_QUEUE, `make run`): a job runs synchronously right after the commit that
enqueued it, within the same request, as the work ran before the queue existed. Tests stay
deterministic and one process is all a village office needs; a failure is logged, rolled
back and kept as a dead letter in the database (`local_failures`), never raised into the
request that enqueued it (the record is already saved).

Every job must be idempotent: RQ delivers at least once, an admin may retry one that half ran,
and a phone's replay re-enqueues the processing of a photo still in progress.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app

from fieldlog.extensions import db
from fieldlog.services.jobs import local_failures

log = logging.getLogger(__name__)
_JOBS: dict[str, Callable[..., Any]] = {}
DEFAULT_QUEUE_NAME = "fieldlog"


def register(name: str, func: Callable[..., Any]) -> None:
    """Make `func` runnable as job `name` (called by each package when the app is built)."""
    _JOBS[name] = func


def registered() -> dict[str, Callable[..., Any]]:
    return dict(_JOBS)


def backend_name(app: Flask | None = None) -> str:
    """Return "redis" when JOB_QUEUE names a Redis server, else "in-process"."""
    url = (app or current_app).config.get("JOB_QUEUE") or ""
    return "redis" if url.startswith(("redis://", "rediss://", "unix://")) else "in-process"


def enqueue(name: str, *args: Any) -> str | None:
    """Run job `name` with `args` off the request (RQ) or right now (in-process).

    Arguments must be plain values (str, int, lists of them): they travel through Redis.
    Returns the RQ job ID, or None when the job ran in this process.
    """
    if name not in _JOBS:
        raise KeyError(f"no job registered as {name!r}")
    if backend_name() == "redis":
        return _enqueue_rq(name, list(args))
    run_here(name, list(args))
    return None


def run_here(name: str, args: list[Any]) -> BaseException | None:
    """Run a job in this process; on failure roll back, log and keep it as a dead letter.

    Returns the exception it raised, or None when it succeeded.
    """
    try:
        _JOBS[name](*args)
    except Exception as exc:  # noqa: BLE001 — the enqueuing commit stands; the job is kept
        db.session.rollback()
        log.exception("job %s%r failed in-process", name, tuple(args)[:3])
        local_failures.keep(name, args, exc)
        return exc
    local_failures.forget(name, args)  # it ran: an earlier failure of it is no longer one
    return None


def run(name: str, *args: Any) -> Any:
    """Run a job in an RQ worker (the function RQ calls; the worker provides the app)."""
    from rq import get_current_job

    job = get_current_job()
    if job is not None:  # attempts, for the dead-letter page
        job.meta["attempts"] = int(job.meta.get("attempts", 0)) + 1
        job.save_meta()
    try:
        return _JOBS[name](*args)
    except Exception:
        db.session.rollback()
        raise


def redis_connection(app: Flask | None = None):
    """Return this app's Redis client for JOB_QUEUE (one per process, built on first use)."""
    from redis import Redis

    app = app or current_app
    url = app.config["JOB_QUEUE"]
    cached = app.extensions.get("fieldlog.job_redis")
    if cached is None or cached[0] != url:
        cached = (url, Redis.from_url(url))
        app.extensions["fieldlog.job_redis"] = cached
    return cached[1]


def rq_queue(app: Flask | None = None):
    """Return the RQ queue jobs go to."""
    from rq import Queue

    app = app or current_app
    return Queue(app.config.get("JOB_QUEUE_NAME") or DEFAULT_QUEUE_NAME,
                 connection=redis_connection(app))


def _retry(app: Flask):
    from rq import Retry

    intervals = [int(s) for s in str(app.config.get("JOB_RETRY_INTERVALS", "")).split(",")
                 if s.strip()]
    retries = int(app.config.get("JOB_RETRIES", 3))
    return Retry(max=retries, interval=intervals or 0) if retries > 0 else None


def _enqueue_rq(name: str, args: list[Any]) -> str:
    app = current_app._get_current_object()
    job = rq_queue(app).enqueue(
        run, name, *args, retry=_retry(app), job_timeout=int(app.config["JOB_TIMEOUT"]),
        failure_ttl=int(app.config["JOB_DEAD_LETTER_DAYS"]) * 86400, result_ttl=600,
        description=f"{name}{tuple(args)!r}"[:200], meta={"name": name, "attempts": 0})
    return job.id
