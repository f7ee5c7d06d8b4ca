"""Take in a photo for a record: idempotent by photo UUID, processed, stored, recorded."""
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
from fieldlog.services.records.events import announce_committed
from fieldlog.services.records.kinds import KINDS
from fieldlog.services.records.photos import PhotoRejected, process_photo
from fieldlog.storage import STORE_SETTINGS, PhotoStore, photo_keys, store_from_config
from fieldlog.timefmt import local_midnight_utc

log = logging.getLogger(__name__)


def photo_store() -> PhotoStore:
    """Return the configured photo store (a local folder unless PHOTO_STORE names another)."""
    # Kept per app: an S3 client is costly to build and safe to share between threads. Built
    # on first use, so each gunicorn worker makes its own after the fork.
    settings = tuple(current_app.config.get(name) for name in STORE_SETTINGS)
    cached = current_app.extensions.get("fieldlog.photo_store")
    if cached is None or cached[0] != settings:
        cached = (settings, store_from_config(current_app.config))
        current_app.extensions["fieldlog.photo_store"] = cached
    return cached[1]


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
            return existing, False
        raise Conflict("A different photo with this ID already exists; nothing was overwritten.")
    _check_quota(user, len(data))  # before the costly processing; replays above pass freely
    try:
        processed = process_photo(data, max_bytes=current_app.config["MAX_PHOTO_BYTES"],
                                  max_pixels=current_app.config["MAX_PHOTO_PIXELS"])
    except PhotoRejected as exc:
        raise Invalid(exc.message, code=exc.code, fields={"file": [exc.message]}) from exc

    attached = db.session.scalar(select(func.count()).where(
        Photo.record_type == record_type, Photo.record_id == record_id))
    if attached >= MAX_PHOTOS_PER_RECORD:
        raise Invalid(f"A record can have at most {MAX_PHOTOS_PER_RECORD} photos.",
                      code="too_many_photos")

    keys = photo_keys(photo_id)
    store = photo_store()
    try:  # all three stored (durably) before the row exists and the phone hears 201
        store.put(keys["original"], processed.original, processed.content_type)
        store.put(keys["display"], processed.display, "image/jpeg")
        store.put(keys["thumb"], processed.thumb, "image/jpeg")
    except OSError as exc:  # disk full, S3 unreachable: the phone keeps the photo, retries
        log.error("photo %s not stored: %s", photo_id, exc)
        raise Unavailable("The photo store is unavailable; the phone keeps this photo and "
                          "sends it again later.", code="store_unavailable") from exc
    faultpoints.reached("photo.after_store")  # test-only; inert in production
    photo = Photo(
        id=photo_id, owner_id=user.id, record_type=record_type, record_id=record_id,
        slot=form.get("slot"),
        content_type=processed.content_type, byte_size=len(processed.original),
        sha256=processed.sha256, width=processed.facts.width, height=processed.facts.height,
        original_key=keys["original"], display_key=keys["display"], thumb_key=keys["thumb"],
        camera_make=processed.facts.camera_make, camera_model=processed.facts.camera_model,
        **_facts(processed.facts, form),
    )
    try:
        db.session.add(photo)
        record("photo.create", actor=user, object_type="photo", object_id=photo_id,
               details={"record_id": record_id, "sha256": processed.sha256,
                        "byte_size": photo.byte_size})
        db.session.commit()
    except IntegrityError:
        # A concurrent replay of the same upload won the race: answer as a replay.
        db.session.rollback()
        existing = db.session.get(Photo, photo_id)
        if existing is not None and _same_upload(existing, user, record_id, processed.sha256):
            return existing, False
        raise Conflict("A different photo with this ID already exists.") from None
    faultpoints.reached("photo.after_commit")
    if record_type == "visit":  # photo rules compare a visit's photos with its claims
        announce_committed("photo", [photo_id])
    return photo, True


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
