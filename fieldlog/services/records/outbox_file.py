"""A phone's outbox brought in as a file: read and check it, preview it, apply it.

When a cadre cannot sync for days, the outbox page saves what waits as one JSON file (sent by
WeChat, a USB stick…). An admin uploads it; its records go through the very same sync engine as
the phone's own sync, as their author, so a replay (a second import, or the phone syncing later)
is answered "stored" again and never duplicates anything.

The file: {"format": "fieldlog-outbox", "version": 1, "sha256": <hex>, "payload": <JSON text>}.
The checksum is of the payload text's UTF-8 bytes, so any edit or damage is caught before a
single record is read. The payload: {"user": {"id", "username", "name"}, "exported_at",
"records": [records as the phone sends them], "photos": [{"id", "record_id", "record_type",
"slot", "taken_at", "lat", "lon", "mime", "filename", "data": base64}]}.
"""
import base64
import binascii
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from marshmallow import ValidationError
from sqlalchemy import select

from fieldlog.errors import FieldlogError, Forbidden, Invalid
from fieldlog.extensions import db
from fieldlog.models import LedgerEvent, Photo, User
from fieldlog.permissions import unit_in_scope
from fieldlog.schemas.resources import PhotoFormSchema
from fieldlog.services.people.audit import record
from fieldlog.services.records.content import content_hash
from fieldlog.services.records.kinds import KINDS
from fieldlog.services.records.sync import apply_batch, validate_record
from fieldlog.services.records.uploads import receive_photo
from fieldlog.timefmt import to_utc_naive

FORMAT = "fieldlog-outbox"
VERSION = 1
MAX_RECORDS = 2000
MAX_PHOTOS = 500
PHOTO_FIELDS = ("record_type", "record_id", "slot", "taken_at", "lat", "lon")


@dataclass
class OutboxFile:
    """A checked outbox file: whose it is and what it carries (photo bytes decoded)."""

    author: User
    checksum: str
    exported_at: str
    records: list[dict]
    photos: list[dict]  # each with "bytes" in place of the base64 "data"
    size: int = 0


@dataclass
class Preview:
    """What an import would do: each record and photo, and whether the server has it."""

    file: OutboxFile
    records: list[dict] = field(default_factory=list)  # {id, type, occurred_at, state, message}
    photos: list[dict] = field(default_factory=list)  # {id, record_id, size, state}

    def count(self, state: str, of: str = "records") -> int:
        return sum(1 for r in getattr(self, of) if r["state"] == state)


@dataclass
class ImportResult:
    """What an import did, counted."""

    author: User
    stored: int = 0  # records the server now has (new or already there)
    new: int = 0
    refused: list[dict] = field(default_factory=list)  # {id, type, message}
    photos_stored: int = 0
    photos_new: int = 0
    photos_refused: list[dict] = field(default_factory=list)


def _bad(message: str, code: str = "bad_file") -> Invalid:
    return Invalid(message, code=code, fields={"file": [message]})


def max_file_bytes() -> int:
    """Return the largest outbox file taken in (the request size limit)."""
    return int(current_app.config.get("MAX_CONTENT_LENGTH") or 26 * 1024 * 1024)


def read_outbox_file(admin: User, data: bytes) -> OutboxFile:
    """Check an uploaded outbox file and return it; Invalid or Forbidden when it will not do."""
    if not data:
        raise _bad(_("Choose the outbox file the phone saved (fieldlog-outbox-….json)."))
    if len(data) > max_file_bytes():
        raise _bad(_("The file is too large to import here (at most %(mb)s MB).",
                     mb=max_file_bytes() // 1_048_576), code="too_large")
    try:
        envelope = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise _bad(_("This is not an outbox file of fieldlog (it is not readable JSON).")) \
            from None
    if not isinstance(envelope, dict) or envelope.get("format") != FORMAT:
        raise _bad(_("This is not an outbox file of fieldlog."))
    if envelope.get("version") != VERSION:
        raise _bad(_("This outbox file has a format version this server does not know (%(v)s).",
                     v=str(envelope.get("version"))[:20]), code="bad_version")
    payload, checksum = envelope.get("payload"), envelope.get("sha256")
    if not isinstance(payload, str) or not isinstance(checksum, str) or \
            hashlib.sha256(payload.encode("utf-8")).hexdigest() != checksum.lower():
        raise _bad(_("The file was changed or damaged after the phone saved it (its checksum "
                     "does not match). Nothing was imported; ask the cadre to export it again."),
                   code="checksum")
    try:
        body = json.loads(payload)
    except ValueError:
        raise _bad(_("The file's content is damaged.")) from None
    records, photos, user = (body.get("records"), body.get("photos"), body.get("user")) \
        if isinstance(body, dict) else (None, None, None)
    if not isinstance(records, list) or not isinstance(photos, list) or \
            not isinstance(user, dict) or not all(isinstance(r, dict) for r in records + photos):
        raise _bad(_("The file's content is damaged."))
    if len(records) > MAX_RECORDS or len(photos) > MAX_PHOTOS:
        raise _bad(_("The file holds too many records or photos to import at once."),
                   code="too_large")
    author = _author(admin, user)
    return OutboxFile(author=author, checksum=checksum.lower(),
                      exported_at=str(body.get("exported_at") or "")[:40], records=records,
                      photos=[_photo(p) for p in photos], size=len(data))


def _author(admin: User, user: dict) -> User:
    author = db.session.get(User, user.get("id")) if isinstance(user.get("id"), int) else None
    if author is None or author.username != user.get("username"):
        raise _bad(_("The file names a user this server does not know."), code="unknown_user")
    if author.role != "secretary" or not unit_in_scope(admin, author.scope_unit):
        raise Forbidden(_("The records in this file belong to %(name)s, outside your area; an "
                          "administrator of their area can import them.",
                          name=author.display_name))
    return author


def _photo(item: dict) -> dict:
    try:
        raw = base64.b64decode(str(item.get("data") or ""), validate=True)
    except (binascii.Error, ValueError):
        raise _bad(_("A photo in the file is damaged.")) from None
    return {**{k: item.get(k) for k in ("id", "mime", "filename", *PHOTO_FIELDS)}, "bytes": raw}


def _known(kind: str, record_id: str):
    model = LedgerEvent if kind == "ledger_update" else KINDS[kind].model
    return db.session.get(model, record_id)


def preview_outbox_file(file: OutboxFile) -> Preview:
    """Say for each record and photo whether it is new, on the server already, or refused."""
    preview = Preview(file=file)
    for raw in file.records:
        data, answer = validate_record(raw)
        entry = {"id": str(raw.get("id", ""))[:40], "type": str(raw.get("type", ""))[:20],
                 "occurred_at": None, "message": ""}
        if data and data.get("occurred_at"):
            entry["occurred_at"] = to_utc_naive(data["occurred_at"])  # shown in the county's zone
        if answer:
            entry.update(state="invalid", message=answer.get("message", ""))
        else:
            prior = _known(raw["type"], str(data["id"]))
            author_id = getattr(prior, "author_id", getattr(prior, "actor_id", None))
            if prior is None:
                entry["state"] = "new"
            elif author_id == file.author.id and prior.content_hash == content_hash(data):
                entry["state"] = "on_server"
            else:
                entry["state"] = "changed"  # an edit of it, or a conflict: sync decides
        preview.records.append(entry)
    ids = [str(p.get("id")) for p in file.photos]
    known = set(db.session.scalars(select(Photo.id).where(Photo.id.in_(ids)))) if ids else set()
    for p in file.photos:
        preview.photos.append({"id": str(p.get("id"))[:40], "record_id": str(p.get("record_id")),
                               "size": len(p["bytes"]),
                               "state": "on_server" if str(p.get("id")) in known else "new"})
    return preview


def import_outbox_file(admin: User, file: OutboxFile) -> ImportResult:
    """Apply a checked file's records and photos as their author, like the phone's own sync."""
    before = preview_outbox_file(file)
    result = ImportResult(author=file.author)
    answers = apply_batch(file.author, None, file.records) if file.records else []
    for entry, answer in zip(before.records, answers, strict=True):
        if answer["status"] == "stored":
            result.stored += 1
            result.new += entry["state"] == "new"
        else:
            result.refused.append({"id": entry["id"], "type": entry["type"],
                                   "message": answer.get("message") or answer["status"]})
    for photo, entry in zip(file.photos, before.photos, strict=True):
        _import_photo(file.author, photo, entry, result)
    record("outbox.import", actor=admin, object_type="user", object_id=file.author.id, details={
        "sha256": file.checksum, "size": file.size, "count": len(file.records),
        "created": result.new, "unchanged": result.stored - result.new,
        "refused": len(result.refused), "photos": result.photos_new})
    db.session.commit()
    return result


def _import_photo(author: User, photo: dict, entry: dict, result: ImportResult) -> None:
    fields = {k: photo[k] for k in PHOTO_FIELDS if photo.get(k) not in (None, "")}
    try:
        form = PhotoFormSchema().load({k: v if k in ("lat", "lon") else str(v)
                                       for k, v in fields.items()})
        _, created = receive_photo(author, str(photo.get("id")), form, photo["bytes"])
    except ValidationError as exc:
        db.session.rollback()
        result.photos_refused.append({"id": entry["id"], "message": _message(exc.messages)})
        return
    except FieldlogError as exc:
        db.session.rollback()
        result.photos_refused.append({"id": entry["id"], "message": exc.message})
        return
    result.photos_stored += 1
    result.photos_new += created


def _message(messages: Any) -> str:
    return "; ".join(f"{k}: {' '.join(map(str, v)) if isinstance(v, list) else v}"
                     for k, v in messages.items()) if isinstance(messages, dict) else str(messages)
