"""Apply batches of offline records: idempotent by UUID, one transaction, bulk statements."""
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from marshmallow import ValidationError
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from fieldlog.extensions import db
from fieldlog.models import Household, User, Visit
from fieldlog.models.base import utcnow
from fieldlog.permissions import scope_village_ids
from fieldlog.schemas.sync import VisitInSchema
from fieldlog.services.audit import record_many
from fieldlog.services.integrity_hooks import flag_after_commit
from fieldlog.services.timefmt import iso_utc, to_utc_naive

_visit_schema = VisitInSchema()


@dataclass
class _Known:
    """What the server already holds for a UUID, enough to answer a replay."""

    author_id: int
    content_hash: str
    version: int
    received_at: datetime


def content_hash(data: dict[str, Any]) -> str:
    """Hash a validated record canonically, so the same content always gives the same hash."""

    def normal(value):
        if isinstance(value, datetime):
            return iso_utc(to_utc_naive(value))
        if isinstance(value, dict):
            return {k: normal(v) for k, v in value.items()}
        if isinstance(value, list):
            return [normal(v) for v in value]
        return str(value) if not isinstance(value, (int, float, bool, type(None))) else value

    canonical = json.dumps(normal(data), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _answer(record_id: str, status: str, **extra) -> dict:
    return {"id": record_id, "status": status, **extra}


def _stored(record_id: str, known: _Known) -> dict:
    return _answer(record_id, "stored", version=known.version,
                   received_at=iso_utc(known.received_at))


def _validate(raw: Any) -> tuple[dict | None, dict | None]:
    """Return (data, None) for a valid record or (None, answer) for an invalid one."""
    record_id = str(raw.get("id", "")) if isinstance(raw, dict) else ""
    if not isinstance(raw, dict) or raw.get("type") not in ("visit",):
        return None, _answer(record_id, "invalid", error="invalid",
                             message="Unknown record type.", fields={"type": ["Unknown type."]})
    try:
        return _visit_schema.load(raw), None
    except ValidationError as exc:
        return None, _answer(record_id, "invalid", error="invalid",
                             message="The record has errors; it was not stored.",
                             fields=exc.messages_dict)


def _visit_row(user: User, device_id: str | None, data: dict, village_id: int, digest: str,
               now: datetime) -> dict:
    location = data["location"] or {}
    return {
        "id": str(data["id"]),
        "author_id": user.id,
        "village_id": village_id,
        "household_id": str(data["household_id"]),
        "occurred_at": to_utc_naive(data["occurred_at"]),
        "device_created_at": to_utc_naive(data["device_created_at"]),
        "received_at": now,
        "heard": data["heard"].strip(),
        "requests": data["requests"].strip(),
        "follow_up": data["follow_up"],
        "lat": location.get("lat"),
        "lon": location.get("lon"),
        "accuracy_m": location.get("accuracy_m"),
        "located_at": to_utc_naive(location.get("located_at")),
        "photo_count": len(data["photo_ids"]),
        "device_id": device_id,
        "version": 1,
        "status": "submitted",
        "content_hash": digest,
    }


def apply_batch(user: User, device_id: str | None, raw_records: list) -> list[dict]:
    """Apply a batch of records and answer each one; retry once if a concurrent replay races us."""
    try:
        answers, stored_ids = _apply_batch(user, device_id, raw_records)
    except IntegrityError:
        db.session.rollback()
        answers, stored_ids = _apply_batch(user, device_id, raw_records)
    flag_after_commit("visit", stored_ids)
    return answers


def _apply_batch(user: User, device_id: str | None,
                 raw_records: list) -> tuple[list[dict], list[str]]:
    answers: list[dict | None] = [None] * len(raw_records)
    valid: list[tuple[int, dict]] = []
    for index, raw in enumerate(raw_records):
        data, answer = _validate(raw)
        if answer:
            answers[index] = answer
        else:
            valid.append((index, data))

    household_ids = {str(d["household_id"]) for _, d in valid}
    villages_of = dict(db.session.execute(
        select(Household.id, Household.village_id).where(Household.id.in_(household_ids))
    ).all()) if household_ids else {}
    allowed = set(db.session.scalars(scope_village_ids(user))) \
        if user.role == "secretary" else set()
    record_ids = {str(d["id"]) for _, d in valid}
    known = {
        row.id: _Known(row.author_id, row.content_hash, row.version, row.received_at)
        for row in db.session.execute(
            select(Visit.id, Visit.author_id, Visit.content_hash, Visit.version, Visit.received_at)
            .where(Visit.id.in_(record_ids))
        )
    } if record_ids else {}

    now = utcnow()
    rows, audit = [], []
    for index, data in valid:
        record_id = str(data["id"])
        digest = content_hash(data)
        if record_id in known:
            prior = known[record_id]
            if prior.author_id == user.id and prior.content_hash == digest:
                answers[index] = _stored(record_id, prior)
                continue
            answers[index] = _answer(
                record_id, "conflict", error="conflict",
                message="A different record with this ID already exists; nothing was overwritten.")
            audit.append(_audit_item("visit.conflict", record_id, data, device_id,
                                     existing_author_id=prior.author_id))
            continue
        village_id = villages_of.get(str(data["household_id"]))
        if village_id is None:
            answers[index] = _answer(record_id, "invalid", error="invalid",
                                     message="The household is not in the register.",
                                     fields={"household_id": ["Unknown household."]})
            continue
        if village_id not in allowed:
            answers[index] = _answer(record_id, "forbidden", error="forbidden",
                                     message="This household's village is outside your scope.")
            continue
        rows.append(_visit_row(user, device_id, data, village_id, digest, now))
        audit.append(_audit_item("visit.create", record_id, data, device_id,
                                 village_id=village_id))
        known[record_id] = _Known(user.id, digest, 1, now)
        answers[index] = _stored(record_id, known[record_id])

    if rows:
        db.session.execute(insert(Visit), rows)
    record_many(audit, actor=user)  # one head read, one bulk insert, in this transaction
    db.session.commit()
    return answers, [row["id"] for row in rows]


def _audit_item(action: str, record_id: str, data: dict, device_id: str | None,
                **extra) -> dict:
    """Describe a stored or refused visit for the audit trail: ids only, never free text."""
    return {"action": action, "object_type": "visit", "object_id": record_id,
            "details": {"household_id": str(data["household_id"]), "device_id": device_id,
                        **extra}}
