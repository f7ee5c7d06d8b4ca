"""Compute integrity flags after records are committed, as a job, never failing the save."""
from fieldlog.extensions import db
from fieldlog.services.jobs.queue import enqueue, register
from fieldlog.services.records.events import records_committed

JOB = "integrity.flags"


def listen() -> None:
    """Subscribe to the records package's after-commit announcements (once per process)."""
    register(JOB, compute_flags)
    records_committed.connect(flag_after_commit, weak=False)


def flag_after_commit(record_kind: str, ids: list[str]) -> None:
    """Queue the flags of just-committed visits or photos (in-process: compute them now)."""
    if ids:
        enqueue(JOB, record_kind, [str(i) for i in ids])


def compute_flags(record_kind: str, ids: list[str]) -> int:
    """The flag job: (re)compute the flags of these visits or photos; idempotent.

    Raises on failure, so the queue retries it; in-process the failure is logged and the
    saved records stand (flags inform, they never undo a save).
    """
    from fieldlog.services.integrity.flags import compute_visit_flags
    from fieldlog.services.integrity.photos import compute_photo_flags

    compute = compute_visit_flags if record_kind == "visit" else compute_photo_flags
    return compute(ids)


def recompute_everything() -> tuple[int, int]:
    """Compute the flags of every visit and photo (after an import, a rule change, or seeding)."""
    from sqlalchemy import select

    from fieldlog.models import Photo, Visit
    from fieldlog.services.integrity.flags import compute_visit_flags
    from fieldlog.services.integrity.photos import compute_photo_flags

    visit_ids = list(db.session.scalars(select(Visit.id).order_by(Visit.occurred_at)))
    photo_ids = list(db.session.scalars(select(Photo.id).where(
        Photo.record_type == "visit", Photo.state == "ready")))
    return compute_visit_flags(visit_ids), compute_photo_flags(photo_ids)
