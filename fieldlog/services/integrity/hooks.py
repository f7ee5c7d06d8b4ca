"""Compute integrity flags right after records are committed, without ever failing the save."""
from flask import current_app

from fieldlog.extensions import db
from fieldlog.services.records.events import records_committed


def listen() -> None:
    """Subscribe to the records package's after-commit announcements (once per process)."""
    records_committed.connect(flag_after_commit, weak=False)


def flag_after_commit(record_kind: str, ids: list[str]) -> None:
    """Flag just-committed visits or photos; a failure is logged, never raised (flags inform)."""
    if not ids:
        return
    from fieldlog.services.integrity.flags import compute_visit_flags
    from fieldlog.services.integrity.photos import compute_photo_flags

    compute = compute_visit_flags if record_kind == "visit" else compute_photo_flags
    try:
        compute(ids)
    except Exception:  # noqa: BLE001 — the record is saved; a missing flag must not undo that
        db.session.rollback()
        current_app.logger.exception("integrity flags failed for %s %s", record_kind, ids[:5])


def recompute_everything() -> tuple[int, int]:
    """Compute the flags of every visit and photo (after an import, a rule change, or seeding)."""
    from sqlalchemy import select

    from fieldlog.models import Photo, Visit
    from fieldlog.services.integrity.flags import compute_visit_flags
    from fieldlog.services.integrity.photos import compute_photo_flags

    visit_ids = list(db.session.scalars(select(Visit.id).order_by(Visit.occurred_at)))
    photo_ids = list(db.session.scalars(select(Photo.id).where(Photo.record_type == "visit")))
    return compute_visit_flags(visit_ids), compute_photo_flags(photo_ids)
