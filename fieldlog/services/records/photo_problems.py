"""Tell a cadre's phone about their photos that failed processing after the upload.

With the job queue a photo is acknowledged (201) once its original is stored; decoding comes
later and may fail (a damaged file). The phone asks after each sync which of its user's photos
failed and were not yet acknowledged there, shows them with what to do, and acknowledges them.
A failed photo also stops being reported once the record has a newer photo in its place.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, tuple_

from fieldlog.clock import utcnow
from fieldlog.errors import Invalid
from fieldlog.extensions import db
from fieldlog.models import Photo, User, Visit
from fieldlog.services.people.audit import record

MAX_LISTED = 50
MAX_ACKNOWLEDGED = 200


@dataclass(frozen=True)
class FailedPhoto:
    id: str
    record_type: str
    record_id: str
    slot: str | None
    failure: str  # the reason's code (corrupt_image …)
    received_at: datetime
    title: str | None  # a visit's household, for the phone to name the record


def _replaced(photo: Photo, later: list[Photo]) -> bool:
    """True when the record received a photo for the same slot after this one, not failed."""
    return any(p.id != photo.id and p.record_type == photo.record_type
               and p.record_id == photo.record_id and p.slot == photo.slot
               and p.received_at >= photo.received_at and p.state != "failed" for p in later)


def problems(user: User) -> tuple[list[FailedPhoto], int]:
    """Return the user's failed photos not yet acknowledged nor replaced, newest first, and
    how many of the user's photos are still processing (the phone asks again while any are)."""
    failed = list(db.session.scalars(
        select(Photo).where(Photo.owner_id == user.id, Photo.state == "failed",
                            Photo.failure_seen_at.is_(None))
        .order_by(Photo.received_at.desc()).limit(MAX_LISTED)))
    processing = db.session.scalar(select(func.count()).select_from(Photo).where(
        Photo.owner_id == user.id, Photo.state == "processing"))
    if not failed:
        return [], processing
    records = {(p.record_type, p.record_id) for p in failed}
    siblings = list(db.session.scalars(select(Photo).where(
        tuple_(Photo.record_type, Photo.record_id).in_(records),
        Photo.state != "failed")))
    visit_ids = [p.record_id for p in failed if p.record_type == "visit"]
    titles = {v.id: f"{v.household.head_name} {v.household.house_label or ''}".strip()
              for v in db.session.scalars(select(Visit).where(Visit.id.in_(visit_ids)))}
    listed = [FailedPhoto(id=p.id, record_type=p.record_type, record_id=p.record_id,
                          slot=p.slot, failure=p.failure or "corrupt_image",
                          received_at=p.received_at, title=titles.get(p.record_id))
              for p in failed if not _replaced(p, siblings)]
    return listed, processing


def acknowledge(user: User, ids: list[str]) -> int:
    """Mark the user's failed photos `ids` as seen on the phone; return how many were new.

    IDs of photos that are not the user's, not failed or seen already change nothing (another
    of the user's phones may have acknowledged them first); IDs that are not UUIDs are refused.
    """
    if not isinstance(ids, list) or len(ids) > MAX_ACKNOWLEDGED:
        raise Invalid(f"Send up to {MAX_ACKNOWLEDGED} photo IDs.", fields={"ids": ["Invalid."]})
    try:
        wanted = sorted({str(uuid.UUID(str(i))) for i in ids})
    except ValueError:
        raise Invalid("Every photo ID must be a UUID.", fields={"ids": ["Not a UUID."]}) from None
    rows = list(db.session.scalars(select(Photo).where(
        Photo.id.in_(wanted), Photo.owner_id == user.id, Photo.state == "failed",
        Photo.failure_seen_at.is_(None))))
    now = utcnow()
    for photo in rows:
        photo.failure_seen_at = now
        record("photo.failure_seen", actor=user, object_type="photo", object_id=photo.id,
               details={"record_id": photo.record_id, "failure": photo.failure})
    db.session.commit()
    return len(rows)
