"""Jobs that failed every attempt (RQ's failed-job registry): list, retry, discard."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from fieldlog.errors import NotFound
from fieldlog.extensions import db
from fieldlog.models import User
from fieldlog.services.jobs.queue import backend_name, rq_queue
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
    """Return the failed jobs, newest first (none when jobs run in-process)."""
    if backend_name() != "redis":
        return []
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
    return sorted(letters, key=lambda d: d.failed_at or datetime.min, reverse=True)


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


def retry(admin: User, job_id: str) -> str:
    """Put a failed job back on the queue (one more attempt); audited. Returns its name."""
    queue, job = _failed_job(job_id)
    name = str(job.meta.get("name", (job.args or ["?"])[0]))
    queue.failed_job_registry.requeue(job_id)
    record("job.retry", actor=admin, object_type="job", object_id=job_id,
           details={"kind": name})
    db.session.commit()
    return name


def discard(admin: User, job_id: str) -> str:
    """Delete a failed job for good; audited. Returns its name."""
    queue, job = _failed_job(job_id)
    name = str(job.meta.get("name", (job.args or ["?"])[0]))
    queue.failed_job_registry.remove(job, delete_job=True)
    record("job.discard", actor=admin, object_type="job", object_id=job_id,
           details={"kind": name})
    db.session.commit()
    return name
