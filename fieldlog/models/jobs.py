"""Jobs that failed while running in the app's own process (no JOB_QUEUE): the dead letters
of a one-machine install, listed at /admin/jobs beside RQ's failed-job registry."""
from datetime import datetime

from sqlalchemy import String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from fieldlog.extensions import db
from fieldlog.models.base import utcnow


class JobFailure(db.Model):
    """One in-process job that raised: its name and plain arguments, kept to be run again.

    The same job failing again (a phone replaying a photo still processing queues it anew)
    updates its row: `key` is a digest of the name and the arguments.
    """

    __tablename__ = "job_failures"

    id: Mapped[str] = mapped_column(Uuid(as_uuid=False), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    args: Mapped[str] = mapped_column(Text)  # the arguments as a JSON list
    error: Mapped[str] = mapped_column(String(300))  # the exception's last line
    attempts: Mapped[int] = mapped_column(default=1)
    first_failed_at: Mapped[datetime] = mapped_column(default=utcnow)
    failed_at: Mapped[datetime] = mapped_column(default=utcnow)
