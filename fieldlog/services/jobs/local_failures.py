"""Dead letters of the in-process backend: a job that raised is kept in `job_failures`.

Without JOB_QUEUE a job runs right after the commit that enqueued it; when it raises, the
request that enqueued it still stands (the record is saved), and the job is kept here so an
admin of a one-machine install sees it at /admin/jobs and runs it again once the cause is
fixed, as with RQ's failed-job registry.
"""
from __future__ import annotations

import hashlib
import json
import logging
import traceback
import uuid
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import SQLAlchemyError

from fieldlog.clock import utcnow
from fieldlog.extensions import db
from fieldlog.models import JobFailure

log = logging.getLogger(__name__)


def error_line(exc: BaseException) -> str:
    """Return the exception's last line, as the dead-letter page shows it."""
    return traceback.format_exception_only(exc)[-1].strip()[:300]


def _key(name: str, args: list[Any]) -> str:
    return hashlib.sha256(json.dumps([name, args], sort_keys=True).encode()).hexdigest()


def keep(name: str, args: list[Any], exc: BaseException) -> None:
    """Store (or count once more) a failed in-process job; never raise into the caller.

    Called after the job's session was rolled back. A database that cannot take the row is
    logged: the job's own failure was logged already.
    """
    key, now = _key(name, args), utcnow()
    try:
        row = db.session.scalar(select(JobFailure).where(JobFailure.key == key))
        if row is None:
            db.session.add(JobFailure(id=str(uuid.uuid4()), key=key, name=name,
                                      args=json.dumps(args), error=error_line(exc),
                                      attempts=1, first_failed_at=now, failed_at=now))
        else:
            row.attempts += 1
            row.error, row.failed_at = error_line(exc), now
        db.session.commit()
    except SQLAlchemyError:
        db.session.rollback()
        log.exception("the failure of job %s could not be kept", name)


def forget(name: str, args: list[Any]) -> None:
    """Drop the kept failure of this very job, if any (it has now run)."""
    try:
        db.session.execute(delete(JobFailure).where(JobFailure.key == _key(name, args)))
        db.session.commit()
    except SQLAlchemyError:
        db.session.rollback()
        log.exception("the kept failure of job %s could not be dropped", name)


def get(failure_id: str) -> JobFailure | None:
    """Return a kept failure by its ID (a UUID), or None."""
    try:
        uuid.UUID(str(failure_id))
    except ValueError:
        return None
    return db.session.get(JobFailure, str(failure_id))


def listed(limit: int) -> list[JobFailure]:
    """Return the kept failures, newest first."""
    return list(db.session.scalars(
        select(JobFailure).order_by(JobFailure.failed_at.desc()).limit(limit)))


def args_of(row: JobFailure) -> list[Any]:
    return json.loads(row.args)
