"""Apply batches of offline records: idempotent by UUID, edits as versions, one transaction.

Every record type goes through the same steps (see fieldlog.services.records.kinds for what
differs): a record whose UUID is new is stored as version 1; the same UUID with the same content
is a replay and answered as before; the same UUID with other content is an edit when it says which
version it changed (`base_version`), its author sent it, nobody approved the record yet and nobody
changed it since; anything else is a conflict and overwrites nothing.
"""
from datetime import date, datetime
from functools import cached_property
from typing import Any

from marshmallow import ValidationError
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from fieldlog import faultpoints
from fieldlog.extensions import db
from fieldlog.models import Assignment, LedgerEvent, LedgerItem, RecordVersion, User
from fieldlog.models.base import utcnow
from fieldlog.permissions import scope_village_ids
from fieldlog.services.common.bulk import insert_rows
from fieldlog.services.people.audit import record_many
from fieldlog.services.records import device_clock
from fieldlog.services.records.content import LOADERS, content_hash, hash_canonical, version_content
from fieldlog.services.records.events import announce_committed
from fieldlog.services.records.kinds import KINDS, ORDER, Kind, Refusal, households_in
from fieldlog.services.records.ledger_changes import Change, ChangeRefused, apply_change
from fieldlog.timefmt import iso_utc, local_date, to_utc_naive


def _answer(record_id: str, status: str, **extra) -> dict:
    return {"id": record_id, "status": status, **extra}


def _refused(record_id: str, refusal: Refusal) -> dict:
    status, error, message, fields = refusal
    return _answer(record_id, status, error=error, message=message,
                   **({"fields": fields} if fields else {}))


class _Placeholder:
    """A record inserted earlier in this batch (enough to answer a replay of it)."""

    def __init__(self, author_id: int, digest: str, now: datetime):
        self.author_id, self.content_hash, self.version = author_id, digest, 1
        self.received_at, self.status = now, "submitted"


class Batch:
    """The state of one batch: who sends it, when, and what it has done so far."""

    def __init__(self, user: User, device_id: str | None, raw_records: list,
                 device_now: datetime | None = None):
        self.user, self.device_id, self.now = user, device_id, utcnow()
        self.device_now = to_utc_naive(device_now)  # the phone's clock, if it said
        self.raw = raw_records
        self.answers: list[dict | None] = [None] * len(raw_records)
        self.audit: list[dict] = []
        self.touched: dict[str, list[str]] = {}  # kind → ids created or edited
        self.day_claims: dict[date, str] = {}
        self.household_villages: dict[str, int] = {}

    @cached_property
    def allowed_villages(self) -> set[int]:
        if self.user.role != "secretary":
            return set()
        return set(db.session.scalars(scope_village_ids(self.user)))

    @cached_property
    def terms(self) -> list[tuple[int, date, date | None]]:
        """The author's terms (village, first day, last day or None)."""
        if self.user.role != "secretary":
            return []
        return [tuple(row) for row in db.session.execute(
            select(Assignment.village_id, Assignment.start_date, Assignment.end_date)
            .where(Assignment.user_id == self.user.id))]

    def term_village(self, data: dict) -> int | None:
        """Return the village of the author's term on the record's day (its `day`, else the
        county's date of `occurred_at`), or None.

        A record belongs where its author served that day: one saved offline in the old
        village and sent after a move still belongs to the old village, and is accepted there.
        """
        day = data.get("day") or local_date(data["occurred_at"])
        for village_id, start, end in self.terms:
            if start <= day and (end is None or day <= end):
                return village_id
        return None

    @cached_property
    def home_village(self) -> int | None:
        unit = self.user.scope_unit
        if self.user.role == "secretary" and unit.kind == "village":
            return unit.id
        return None


def apply_batch(user: User, device_id: str | None, raw_records: list,
                device_now: datetime | None = None) -> list[dict]:
    """Apply a batch of records and answer each one; retry once if a concurrent replay races us.

    `device_now` is the phone's clock as it sent the batch: device times are read through its
    offset from the server's clock (device_clock), so a phone days off loses nothing.
    """
    try:
        batch = _apply_batch(user, device_id, raw_records, device_now)
    except IntegrityError:
        db.session.rollback()
        batch = _apply_batch(user, device_id, raw_records, device_now)
    announce_committed("visit", batch.touched.get("visit", []))
    return batch.answers  # type: ignore[return-value]


def _apply_batch(user: User, device_id: str | None, raw_records: list,
                 device_now: datetime | None) -> Batch:
    batch = Batch(user, device_id, raw_records, device_now)
    by_kind: dict[str, list[tuple[int, dict]]] = {name: [] for name in ORDER}
    for index, raw in enumerate(raw_records):
        data, answer = _validate(raw)
        if answer:
            batch.answers[index] = answer
        else:
            by_kind[raw["type"]].append((index, data))

    household_ids = {str(d["household_id"]) for items in by_kind.values() for _, d in items
                     if d.get("household_id")}
    batch.household_villages = households_in(household_ids)
    for name in ORDER:
        if by_kind[name]:
            if name == "ledger_update":
                _apply_ledger_updates(batch, by_kind[name])
            else:
                _apply_kind(batch, KINDS[name], by_kind[name])
    record_many(batch.audit, actor=user)  # one head read, one bulk insert, in this transaction
    faultpoints.reached("sync.before_commit")  # test-only; inert in production
    db.session.commit()
    faultpoints.reached("sync.after_commit")
    return batch


def validate_record(raw: Any) -> tuple[dict | None, dict | None]:
    """Return (data, None) for a valid record or (None, answer) for an invalid one."""
    return _validate(raw)


def _validate(raw: Any) -> tuple[dict | None, dict | None]:
    """Return (data, None) for a valid record or (None, answer) for an invalid one."""
    record_id = str(raw.get("id", "")) if isinstance(raw, dict) else ""
    kind = raw.get("type") if isinstance(raw, dict) else None
    if kind not in ORDER:
        return None, _answer(record_id, "invalid", error="invalid",
                             message="Unknown record type.", fields={"type": ["Unknown type."]})
    try:
        return LOADERS[kind].load(raw), None
    except ValidationError as exc:
        return None, _answer(record_id, "invalid", error="invalid",
                             message="The record has errors; it was not stored.",
                             fields=exc.messages_dict)


def _device_times(batch: Batch, data: dict, *names: str) -> tuple[dict, int | None]:
    """Return the record's device times on the server's clock, and the phone's offset (s).

    The content hash and the version keep what the phone sent; only the columns are corrected.
    """
    skew = device_clock.offset(batch.device_now, to_utc_naive(data["device_created_at"]),
                               batch.now)
    return ({name: device_clock.corrected(to_utc_naive(data[name]), skew, batch.now)
             for name in names}, device_clock.seconds(skew))


def _common_columns(batch: Batch, data: dict) -> dict:
    location = data.get("location") or {}
    times, skew = _device_times(batch, {**data, "located_at": location.get("located_at")},
                                "occurred_at", "device_created_at", "located_at")
    return {
        **times,
        "clock_offset_s": skew,
        "lat": location.get("lat"),
        "lon": location.get("lon"),
        "accuracy_m": location.get("accuracy_m"),
        "photo_count": len(data.get("photo_ids", [])),
    }


def _apply_kind(batch: Batch, kind: Kind, items: list[tuple[int, dict]]) -> None:
    model = kind.model
    ids = {str(d["id"]) for _, d in items}
    known: dict[str, Any] = {row.id: row for row in db.session.scalars(
        select(model).where(model.id.in_(ids)))}
    rows, versions, created = [], [], []
    for index, data in items:
        record_id = str(data["id"])
        canonical = version_content(data)  # hashed, and kept as the version's content
        digest = hash_canonical(canonical)
        prior = known.get(record_id)
        if prior is not None:
            answer = _existing(batch, kind, prior, data, digest, canonical, versions)
        else:
            village = kind.village(batch, data)
            refusal = village if isinstance(village, tuple) else kind.check(batch, data, village)
            if refusal:
                batch.answers[index] = _refused(record_id, refusal)
                continue
            rows.append({"id": record_id, "author_id": batch.user.id, "village_id": village,
                         "received_at": batch.now, "device_id": batch.device_id, "version": 1,
                         "status": "submitted", "content_hash": digest,
                         **_common_columns(batch, data), **kind.columns(data),
                         **kind.on_create(batch, data, village)})
            versions.append(_version_row(batch, kind, record_id, 1, canonical))
            batch.audit.append(_audit_item(batch, kind, "create", record_id, data,
                                           village_id=village))
            created.append((record_id, data))
            known[record_id] = _Placeholder(batch.user.id, digest, batch.now)
            answer = _stored(kind, record_id, known[record_id])
        batch.answers[index] = answer
    insert_rows(model.__table__, rows)
    insert_rows(RecordVersion.__table__, versions)
    if kind.links:
        for record_id, data in created:
            kind.links(batch, record_id, data)
    batch.touched.setdefault(kind.name, []).extend(r["id"] for r in rows)


def _existing(batch: Batch, kind: Kind, prior, data: dict, digest: str, canonical: str,
              versions: list[dict]) -> dict:
    """Answer a record whose UUID the server knows: a replay, an edit, or a conflict."""
    record_id = str(data["id"])
    if prior.author_id == batch.user.id and prior.content_hash == digest:
        return _stored(kind, record_id, prior)
    refusal = _edit_refusal(batch, kind, prior, data)
    if refusal:
        why = {} if refusal[1] == "conflict" else {"error": refusal[1]}  # stale, locked
        batch.audit.append(_audit_item(batch, kind, "conflict", record_id, data,
                                       existing_author_id=prior.author_id, **why))
        return _refused(record_id, refusal)
    village = kind.village(batch, data)
    refusal = village if isinstance(village, tuple) else kind.check(batch, data, village)
    if refusal:
        return _refused(record_id, refusal)
    changes = {**_common_columns(batch, data), **kind.columns(data),
               **kind.on_edit(batch, prior, data)}
    # One conditional UPDATE: a review decision or another edit committed meanwhile wins.
    model = kind.model
    applied = db.session.execute(
        update(model).where(model.id == record_id, model.version == prior.version,
                            model.status != "approved")
        .values(**changes, village_id=village, version=prior.version + 1, status="submitted",
                updated_at=batch.now, content_hash=digest)
        .execution_options(synchronize_session="fetch")).rowcount
    if applied != 1:
        db.session.refresh(prior)
        return _refused(record_id, ("conflict", "stale", "This record was reviewed or changed "
                                    "a moment ago; open it again.", {}))
    versions.append(_version_row(batch, kind, record_id, prior.version, canonical))
    if kind.links:
        kind.links(batch, record_id, data)
    batch.audit.append(_audit_item(batch, kind, "edit", record_id, data, version=prior.version))
    batch.touched.setdefault(kind.name, []).append(record_id)
    return _stored(kind, record_id, prior)


def _edit_refusal(batch: Batch, kind: Kind, prior, data: dict) -> Refusal | None:
    if prior.author_id != batch.user.id or "base_version" not in data \
            or isinstance(prior, _Placeholder):
        return ("conflict", "conflict",
                "A different record with this ID already exists; nothing was overwritten.", {})
    if prior.status == "approved":
        return ("conflict", "locked",
                "A reviewer approved this record; it can no longer be changed.", {})
    locked = kind.locked(prior)
    if locked:
        return ("conflict", "locked", locked, {})
    if data["base_version"] != prior.version:
        return ("conflict", "stale",
                f"This record changed since you opened it (now version {prior.version}); "
                "open it again and redo the change.", {})
    return None


def _stored(kind: Kind, record_id: str, row) -> dict:
    return _answer(record_id, "stored", type=kind.name, version=row.version,
                   review_status=row.status, received_at=iso_utc(row.received_at))


def _version_row(batch: Batch, kind: Kind, record_id: str, version: int,
                 canonical: str) -> dict:
    return {"record_type": kind.name, "record_id": record_id, "version": version,
            "data": canonical,
            "author_id": batch.user.id, "device_id": batch.device_id, "received_at": batch.now}


def _audit_item(batch: Batch, kind: Kind, verb: str, record_id: str, data: dict,
                **extra) -> dict:
    """Describe a stored or refused record for the audit trail: ids only, never free text."""
    details = {"device_id": batch.device_id, **extra}
    if data.get("household_id"):
        details["household_id"] = str(data["household_id"])
    return {"action": f"{kind.name}.{verb}", "object_type": kind.name, "object_id": record_id,
            "details": details}


def _apply_ledger_updates(batch: Batch, items: list[tuple[int, dict]]) -> None:
    ids = {str(d["id"]) for _, d in items}
    known = {row.id: row for row in db.session.scalars(
        select(LedgerEvent).where(LedgerEvent.id.in_(ids)))}
    for index, data in items:
        event_id, digest = str(data["id"]), content_hash(data)
        prior = known.get(event_id)
        if prior is not None:
            same = prior.actor_id == batch.user.id and prior.content_hash == digest
            batch.answers[index] = _answer(
                event_id, "stored", type="ledger_update", version=1,
                received_at=iso_utc(prior.received_at)) if same else _refused(
                event_id, ("conflict", "conflict", "A different update with this ID already "
                           "exists; nothing was overwritten.", {}))
            continue
        item = db.session.get(LedgerItem, str(data["item_id"]))
        if item is None:
            batch.answers[index] = _refused(event_id, (
                "invalid", "invalid", "The ledger item has not reached the server.",
                {"item_id": ["Unknown item."]}))
            continue
        if item.village_id not in batch.allowed_villages \
                and item.village_id != batch.term_village(data):
            batch.answers[index] = _refused(event_id, (
                "forbidden", "forbidden", "This ledger item is outside your scope.", {}))
            continue
        times, _skew = _device_times(batch, data, "occurred_at")
        change = Change(event_id=event_id, occurred_at=times["occurred_at"],
                        to_state=data["to_state"], handler=data["handler"],
                        handler_note=data["handler_note"], due_date=data["due_date"],
                        note=data["note"], link=data["link"])
        try:
            event = apply_change(item, batch.user, change, now=batch.now,
                                 content_hash=digest, device_id=batch.device_id)
        except ChangeRefused as refused:
            batch.answers[index] = _refused(event_id, ("invalid", "invalid", refused.message,
                                                       {refused.field: [refused.message]}))
            continue
        known[event_id] = event
        batch.audit.append({"action": "ledger_item.update", "object_type": "ledger_item",
                            "object_id": item.id, "details": {
                                "event_id": event_id, "to_state": event.to_state,
                                "device_id": batch.device_id}})
        batch.answers[index] = _answer(event_id, "stored", type="ledger_update", version=1,
                                       received_at=iso_utc(batch.now))
