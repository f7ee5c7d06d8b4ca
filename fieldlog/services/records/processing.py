"""The photo job: decode a stored original, make its served sizes, mark the photo ready.

The upload (`uploads.receive_photo`) stores the original and a row in state "processing" and
answers at once; this job does the costly part (HEIC decoding, orientation, display and
thumbnail, facts from the full decode) off the request. Idempotent: a photo no longer
processing is left alone, and every write is an overwrite with the same bytes or values.
"""
import logging

from flask import current_app

from fieldlog.extensions import db
from fieldlog.models import Photo
from fieldlog.services.jobs.queue import enqueue, register
from fieldlog.services.records.events import announce_committed
from fieldlog.services.records.photos import PhotoRejected, process_photo
from fieldlog.services.records.store import photo_store

log = logging.getLogger(__name__)
JOB = "photo.process"


def register_jobs() -> None:
    """Make the photo job runnable by name (called once by the app factory)."""
    register(JOB, process_stored_photo)


def queue_processing(photo_id: str) -> None:
    """Hand the photo to the job queue (or, in-process, process it now)."""
    enqueue(JOB, photo_id)


def process_stored_photo(photo_id: str) -> str:
    """Process one uploaded photo; return its state afterwards ("missing" if it is gone).

    A file that cannot be decoded is a fact about the file, not a passing fault: the photo is
    marked failed with the reason's code and the job succeeds. A store that cannot be read
    or written raises, so the queue retries it later (and, in the end, keeps it as a dead
    letter an admin can retry).
    """
    photo = db.session.get(Photo, photo_id)
    if photo is None:
        return "missing"
    if photo.state != "processing":
        return photo.state
    store = photo_store()
    try:
        data = store.get(photo.original_key)  # OSError (store down): raised, retried
    except KeyError:
        raise LookupError(f"the original {photo.original_key} is not in the photo store "
                          "(is the worker's PHOTO_STORE/PHOTO_DIR the app's?)") from None
    config = current_app.config
    try:
        processed = process_photo(data, max_bytes=config["MAX_PHOTO_BYTES"],
                                  max_pixels=config["MAX_PHOTO_PIXELS"])
    except PhotoRejected as exc:
        log.warning("photo %s could not be processed: %s", photo_id, exc.code)
        photo.state, photo.failure = "failed", exc.code
        db.session.commit()
        return photo.state
    store.put(photo.display_key, processed.display, "image/jpeg")
    store.put(photo.thumb_key, processed.thumb, "image/jpeg")
    photo.width, photo.height = processed.facts.width, processed.facts.height
    photo.state, photo.failure = "ready", None
    db.session.commit()
    if photo.record_type == "visit":  # photo rules compare a visit's photos with its claims
        announce_committed("photo", [photo_id])
    return photo.state
