"""Take in a photo for a record: idempotent by photo UUID, checked, stored, queued.

The upload answers as soon as the original is durably stored with a row in state
"processing"; the photo job (`processing`) decodes it and makes the served sizes.
"""
import hashlib
import logging

from flask import current_app
from flask_babel import get_timezone
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from fieldlog import clock, faultpoints
from fieldlog.errors import Conflict, Forbidden, Invalid, NotFound, QuotaExceeded, Unavailable
from fieldlog.extensions import db
from fieldlog.models import Photo, User
from fieldlog.schemas.sync import MAX_PHOTOS_PER_RECORD
from fieldlog.services.people.audit import record
from fieldlog.services.records.kinds import KINDS
from fieldlog.services.records.photos import PhotoRejected, precheck_photo
from fieldlog.services.records.processing import queue_processing
from fieldlog.services.records.store import photo_store
from fieldlog.storage import photo_keys
from fieldlog.timefmt import local_midnight_utc

__all__ = ["photo_store", "receive_photo", "photo_for_viewer"]  # photo_store: kept importable
log = logging.getLogger(__name__)


def _same_upload(photo: Photo, user: User, record_id: str, sha256: str) -> bool:
    return photo.owner_id == user.id and photo.record_id == record_id and photo.sha256 == sha256


def receive_photo(user: User, photo_id: str, form: dict, data: bytes) -> tuple[Photo, bool]:
    """Store a photo and return (photo, created); a replay of the same upload creates nothing."""
    record_id, record_type = str(form["record_id"]), form["record_type"]
    owner = db.session.get(KINDS[record_type].model, record_id)
    if owner is None:
        raise NotFound("The record this photo belongs to has not reached the server yet.",
                       code="record_not_found")
    if owner.author_id != user.id:
        raise Forbidden("Only the author of a record can add photos to it.")
    existing = db.session.get(Photo, photo_id)
    if existing is not None:
        if _same_upload(existing, user, record_id, hashlib.sha256(data).hexdigest()):
            return _replayed(existing), False
        raise Conflict("A different photo with this ID already exists; nothing was overwritten.")
    _check_quota(user, len(data))  # before any work; replays above pass freely
    try:  # milliseconds: the decoding itself is the photo job's
        checked = precheck_photo(data, max_bytes=current_app.config["MAX_PHOTO_BYTES"],
                                 max_pixels=current_app.config["MAX_PHOTO_PIXELS"])
    except PhotoRejected as exc:
        raise Invalid(exc.message, code=exc.code, fields={"file": [exc.message]}) from exc

    attached = db.session.scalar(select(func.count()).where(
        Photo.record_type == record_type, Photo.record_id == record_id))
    if attached >= MAX_PHOTOS_PER_RECORD:
        raise Invalid(f"A record can have at most {MAX_PHOTOS_PER_RECORD} photos.",
                      code="too_many_photos")

    keys = photo_keys(photo_id)
    try:  # the original stored (durably) before the row exists and the phone hears 201
        photo_store().put(keys["original"], data, checked.content_type)
    except OSError as exc:  # disk full, S3 unreachable: the phone keeps the photo, retries
        log.error("photo %s not stored: %s", photo_id, exc)
        raise Unavailable("The photo store is unavailable; the phone keeps this photo and "
                          "sends it again later.", code="store_unavailable") from exc
    faultpoints.reached("photo.after_store")  # test-only; inert in production
    facts = checked.facts
    photo = Photo(
        id=photo_id, owner_id=user.id, record_type=record_type, record_id=record_id,
        slot=form.get("slot"), state="processing",
        content_type=checked.content_type, byte_size=len(data),
        sha256=checked.sha256, width=facts.width, height=facts.height,
        original_key=keys["original"], display_key=keys["display"], thumb_key=keys["thumb"],
        camera_make=facts.camera_make, camera_model=facts.camera_model,
        **_facts(facts, form),
    )
    try:
        db.session.add(photo)
        record("photo.create", actor=user, object_type="photo", object_id=photo_id,
               details={"record_id": record_id, "sha256": checked.sha256,
                        "byte_size": photo.byte_size})
        db.session.commit()
    except IntegrityError:
        # A concurrent replay of the same upload won the race: answer as a replay.
        db.session.rollback()
        existing = db.session.get(Photo, photo_id)
        if existing is not None and _same_upload(existing, user, record_id, checked.sha256):
            return existing, False
        raise Conflict("A different photo with this ID already exists.") from None
    faultpoints.reached("photo.after_commit")  # test-only; inert in production
    queue_processing(photo_id)  # in-process: done when this returns; with Redis: queued
    return photo, True


def _replayed(photo: Photo) -> Photo:
    """Answer a replay; a photo still processing is queued again (a lost job heals itself)."""
    if photo.state == "processing":
        queue_processing(photo.id)
    return photo


def _check_quota(user: User, incoming: int) -> None:
    """Refuse a photo that would take the user past today's photo byte quota (429)."""
    quota = current_app.config["PHOTO_QUOTA_BYTES_PER_DAY"]
    today = clock.today_in(str(get_timezone()))
    used = db.session.scalar(select(func.coalesce(func.sum(Photo.byte_size), 0)).where(
        Photo.owner_id == user.id, Photo.received_at >= local_midnight_utc(today)))
    if used + incoming > quota:
        message = (f"Today's photo allowance ({quota / 1_048_576:.0f} MB) is used up; the phone "
                   "keeps this photo and sends it tomorrow. Nothing was lost.")
        raise QuotaExceeded(message, fields={"file": [message]})


def _facts(facts, form: dict) -> dict:
    """Prefer the EXIF facts in the file; else those the phone read before downscaling."""
    if facts.taken_at or facts.lat is not None:
        return {"taken_at": facts.taken_at, "lat": facts.lat, "lon": facts.lon,
                "facts_source": "file"}
    if form.get("taken_at") or form.get("lat") is not None:
        has_point = form.get("lat") is not None and form.get("lon") is not None
        return {"taken_at": form.get("taken_at"),
                "lat": form["lat"] if has_point else None,
                "lon": form["lon"] if has_point else None,
                "facts_source": "device"}
    return {"taken_at": None, "lat": None, "lon": None, "facts_source": None}


def photo_for_viewer(user: User, photo_id: str) -> Photo:
    """Return a photo the user may see (its record lies in their scope); NotFound otherwise."""
    from fieldlog.permissions import scope_village_ids

    photo = db.session.get(Photo, photo_id)
    kind = KINDS.get(photo.record_type) if photo is not None else None
    if kind is None or db.session.scalar(
            select(kind.model.id).where(kind.model.id == photo.record_id,
                                        kind.model.village_id.in_(scope_village_ids(user)))
    ) is None:
        raise NotFound("No such photo in your scope.")
    return photo
