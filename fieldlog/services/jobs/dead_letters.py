"""Jobs that failed: RQ's failed-job registry (JOB_QUEUE) and the in-process failures kept in
the database (`local_failures`); list, retry, discard."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from fieldlog.errors import NotFound
from fieldlog.extensions import db
from fieldlog.models import User
from fieldlog.services.jobs import local_failures
from fieldlog.services.jobs.queue import backend_name, rq_queue, run_here
from fieldlog.services.people.audit import record

PAGE_SIZE = 200


@dataclass(frozen=True)
class DeadLetter:
    id: str
    name: str
    args: str  # summarised for a person
    error: str  # the exception's last line
    attempts: int
    failed_at: datetime | None  # UTC, naive
    where: str = "redis"  # "redis" (RQ's registry) or "in-process" (the job_failures table)


@dataclass(frozen=True)
class Retried:
    name: str
    ran: bool  # run again right here (in-process) rather than put back on the queue
    error: str | None = None  # it ran and failed again: why


def summarise(args: tuple | list, limit: int = 120) -> str:
    """Return the job's arguments on one short line (long lists cut, with their count)."""
    parts = []
    for arg in args:
        if isinstance(arg, list | tuple):
            shown = ", ".join(map(str, arg[:2]))
            parts.append(f"[{shown}{', …' if len(arg) > 2 else ''}] ({len(arg)})")
        else:
            parts.append(str(arg))
    text = " · ".join(parts)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _error(job) -> str:
    result = job.latest_result()
    text = (getattr(result, "exc_string", None) or "").strip()
    return text.splitlines()[-1][:300] if text else ""


def _naive_utc(moment: datetime | None) -> datetime | None:
    if moment is not None and moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def dead_letters() -> list[DeadLetter]:
    """Return the failed jobs of both backends, newest first."""
    letters = [DeadLetter(id=row.id, name=row.name, args=summarise(local_failures.args_of(row)),
                          error=row.error, attempts=row.attempts, failed_at=row.failed_at,
                          where="in-process")
               for row in local_failures.listed(PAGE_SIZE)]
    if backend_name() == "redis":
        letters += _rq_letters()
    return sorted(letters, key=lambda d: d.failed_at or datetime.min, reverse=True)


def _rq_letters() -> list[DeadLetter]:
    from rq.job import Job

    queue = rq_queue()
    ids = queue.failed_job_registry.get_job_ids(0, PAGE_SIZE - 1)
    letters = []
    for job in Job.fetch_many(ids, connection=queue.connection):
        if job is None:
            continue
        name, *args = job.args or ("?",)
        letters.append(DeadLetter(
            id=job.id, name=str(job.meta.get("name", name)), args=summarise(args),
            error=_error(job), attempts=int(job.meta.get("attempts", 0)),
            failed_at=_naive_utc(job.ended_at)))
    return letters


def _failed_job(job_id: str):
    if backend_name() != "redis":
        raise NotFound("No such failed job.")
    from rq.exceptions import NoSuchJobError
    from rq.job import Job

    queue = rq_queue()
    if job_id not in queue.failed_job_registry:
        raise NotFound("No such failed job.")
    try:
        return queue, Job.fetch(job_id, connection=queue.connection)
    except NoSuchJobError:
        raise NotFound("No such failed job.") from None


def _audit(action: str, admin: User, job_id: str, name: str) -> None:
    record(action, actor=admin, object_type="job", object_id=job_id, details={"kind": name})
    db.session.commit()


def retry(admin: User, job_id: str) -> Retried:
    """Run a failed job once more, audited: an in-process one right here (kept again if it
    fails again), a queued one put back on the queue for the worker."""
    kept = local_failures.get(job_id)
    if kept is not None:
        name, args = kept.name, local_failures.args_of(kept)
        _audit("job.retry", admin, job_id, name)
        failed = run_here(name, args)  # success drops the row; a failure counts an attempt
        return Retried(name, ran=True,
                       error=local_failures.error_line(failed) if failed else None)
    queue, job = _failed_job(job_id)
    name = str(job.meta.get("name", (job.args or ["?"])[0]))
    queue.failed_job_registry.requeue(job_id)
    _audit("job.retry", admin, job_id, name)
    return Retried(name, ran=False)


def discard(admin: User, job_id: str) -> str:
    """Delete a failed job for good; audited. Returns its name."""
    kept = local_failures.get(job_id)
    if kept is not None:
        name = kept.name
        db.session.delete(kept)
        _audit("job.discard", admin, job_id, name)
        return name
    queue, job = _failed_job(job_id)
    name = str(job.meta.get("name", (job.args or ["?"])[0]))
    queue.failed_job_registry.remove(job, delete_job=True)
    _audit("job.discard", admin, job_id, name)
    return name
