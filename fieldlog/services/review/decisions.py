"""The review loop: the queue of submitted records, decisions on one version, returned records.

A decision names the version the reviewer saw. It applies only if that version is still the
current one and still waiting (one conditional UPDATE, so an edit arriving meanwhile wins and
the decision is refused); it records a ReviewDecision and an audit entry in the same commit.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import String, func, literal, select, union_all, update
from sqlalchemy.orm import joinedload

from fieldlog.errors import Conflict, Forbidden, Invalid, NotFound
from fieldlog.extensions import db
from fieldlog.models import Photo, ReviewDecision, User
from fieldlog.models.base import utcnow
from fieldlog.permissions import scope_village_ids
from fieldlog.services.common.geo import distance_m
from fieldlog.services.integrity.flags import flags_for
from fieldlog.services.people import audit
from fieldlog.services.review.display import MODELS, REVIEWABLE, summary

DECIDERS = ("supervisor", "admin")
DECISIONS = {"approve": "approved", "return": "returned"}
COMMENT_MAX = 1000
PER_PAGE = 25
THUMBS = 4
_HAS_HOUSEHOLD = ("visit", "ledger_item")


def _loaded(record_type: str):
    """Select a type's rows with author, village (and household) loaded."""
    model = MODELS[record_type]
    options = [joinedload(model.author), joinedload(model.village)]
    if record_type in _HAS_HOUSEHOLD:
        options.append(joinedload(model.household))
    return select(model).options(*options)


def record_in_scope(user: User, record_type: str, record_id: str):
    """Return a record the user may see (a secretary: only their own); NotFound otherwise."""
    model = MODELS.get(record_type)
    if model is None:
        raise NotFound("No such record.")
    query = _loaded(record_type).where(model.id == str(record_id),
                                       model.village_id.in_(scope_village_ids(user)))
    if user.role == "secretary":
        query = query.where(model.author_id == user.id)
    row = db.session.scalar(query)
    if row is None:
        raise NotFound("No such record in your scope.")
    return row


# -- the queue ---------------------------------------------------------------------------------


@dataclass
class QueueRow:
    record_type: str
    record: object
    summary: str
    thumbs: list[Photo]
    flags: list
    from_village_m: float | None
    from_household_m: float | None

    @property
    def key(self) -> str:
        """The bulk form's value: type, id and the version shown."""
        return f"{self.record_type}:{self.record.id}:{self.record.version}"


@dataclass
class QueuePage:
    rows: list[QueueRow]
    total: int
    page: int
    pages: int


def _queue_parts(user: User, record_type: str | None, village_id: int | None,
                 author_id: int | None, status: str = "submitted"):
    types = [record_type] if record_type in REVIEWABLE else list(REVIEWABLE)
    parts = []
    for name in types:
        model = MODELS[name]
        query = select(literal(name, String).label("record_type"), model.id.label("record_id"),
                       func.coalesce(model.updated_at, model.received_at).label("queued_at")
                       ).where(model.status == status,
                               model.village_id.in_(scope_village_ids(user)))
        if village_id:
            query = query.where(model.village_id == village_id)
        if author_id:
            query = query.where(model.author_id == author_id)
        parts.append(query)
    return union_all(*parts).subquery()


def queue(user: User, *, record_type: str | None = None, village_id: int | None = None,
          author_id: int | None = None, page: int = 1, per_page: int = PER_PAGE) -> QueuePage:
    """List submitted records in scope, longest waiting first, one page of them."""
    entries = _queue_parts(user, record_type, village_id, author_id)
    total = db.session.scalar(select(func.count()).select_from(entries))
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    picked = db.session.execute(select(entries.c.record_type, entries.c.record_id)
                                .order_by(entries.c.queued_at, entries.c.record_id)
                                .limit(per_page).offset((page - 1) * per_page)).all()
    return QueuePage(_rows(picked), total, page, pages)


def _rows(picked: list) -> list[QueueRow]:
    """Load the picked records, their thumbnails and flags with a few queries per type."""
    by_type: dict[str, list[str]] = {}
    for record_type, record_id in picked:
        by_type.setdefault(record_type, []).append(str(record_id))
    loaded, flags = {}, {}
    for record_type, ids in by_type.items():
        model = MODELS[record_type]
        for row in db.session.scalars(_loaded(record_type).where(model.id.in_(ids))).unique():
            loaded[(record_type, row.id)] = row
        flags.update({(record_type, k): v for k, v in flags_for(record_type, ids).items()})
    thumbs: dict[tuple[str, str], list[Photo]] = {}
    ids = [str(record_id) for _, record_id in picked]
    if ids:
        for photo in db.session.scalars(select(Photo).where(Photo.record_id.in_(ids))
                                        .order_by(Photo.taken_at, Photo.received_at)):
            thumbs.setdefault((photo.record_type, photo.record_id), []).append(photo)
    rows = []
    for record_type, record_id in picked:
        key = (record_type, str(record_id))
        record = loaded.get(key)
        if record is None:
            continue
        village = record.village
        household = getattr(record, "household", None) if record_type == "visit" else None
        rows.append(QueueRow(
            record_type, record, summary(record_type, record), thumbs.get(key, [])[:THUMBS],
            flags.get(key, []), distance_m(record.lat, record.lon, village.lat, village.lon),
            distance_m(record.lat, record.lon, household.lat, household.lon)
            if household else None))
    return rows


# -- decisions ---------------------------------------------------------------------------------


def _check_decider(user: User) -> None:
    if user.role not in DECIDERS:
        raise Forbidden("Only supervisors and administrators review records.")


def _apply(user: User, record, record_type: str, version: int, status: str,
           comment: str, now: datetime) -> str | None:
    """Set the status if `version` is still current and waiting; return why not, or None."""
    model = MODELS[record_type]
    done = db.session.execute(
        update(model).where(model.id == record.id, model.version == version,
                            model.status == "submitted")
        .values(status=status).execution_options(synchronize_session=False))
    if done.rowcount != 1:
        db.session.refresh(record)
        if record.version != version:
            return "stale"
        return "decided"
    db.session.add(ReviewDecision(record_type=record_type, record_id=record.id, version=version,
                                  decision=status, comment=comment, reviewer_id=user.id,
                                  decided_at=now))
    return None


REFUSALS = {
    "stale": "The author changed this record after you opened it (now version %(v)s). Look at "
             "the changes and decide again.",
    "decided": "This version has already been reviewed.",
}


def decide(user: User, record_type: str, record_id: str, version: int | None, decision: str,
           comment: str = "") -> ReviewDecision:
    """Approve or return one version of a record; audit it and commit."""
    _check_decider(user)
    if record_type not in REVIEWABLE:
        raise NotFound("No such record.")
    record = record_in_scope(user, record_type, record_id)
    status = DECISIONS.get(decision)
    if status is None:
        raise Invalid("Choose approve or return.", fields={"decision": ["Unknown decision."]})
    comment = (comment or "").strip()
    if status == "returned" and not comment:
        raise Invalid("Say what should be changed: a comment is required to return a record.",
                      fields={"comment": ["Required to return."]})
    if len(comment) > COMMENT_MAX:
        raise Invalid(f"The comment is too long (at most {COMMENT_MAX} characters).",
                      fields={"comment": ["Too long."]})
    if not version:
        raise Invalid("The form did not say which version you reviewed; reload the page.")
    why = _apply(user, record, record_type, version, status, comment, utcnow())
    if why:
        db.session.rollback()
        raise Conflict(REFUSALS[why] % {"v": record.version}, code=why)
    audit.record(f"review.{decision}", actor=user, object_type=record_type, object_id=record.id,
                 details={"version": version, "author_id": record.author_id})
    db.session.commit()
    return db.session.scalar(select(ReviewDecision).where(
        ReviewDecision.record_type == record_type, ReviewDecision.record_id == record.id)
        .order_by(ReviewDecision.id.desc()).limit(1))


@dataclass
class BulkResult:
    approved: list[str] = field(default_factory=list)  # "type:id"
    skipped: list[tuple[str, str]] = field(default_factory=list)  # ("type:id", reason code)


def _parse(item: str) -> tuple[str, str, int] | None:
    parts = (item or "").split(":")
    if len(parts) != 3 or parts[0] not in REVIEWABLE or not parts[2].isdigit():
        return None
    return parts[0], parts[1], int(parts[2])


def bulk_approve(user: User, items: list[str]) -> BulkResult:
    """Approve many records ("type:id:version" each) in one transaction; report the skipped."""
    _check_decider(user)
    result, now, entries = BulkResult(), utcnow(), []
    for item in dict.fromkeys(items):
        parsed = _parse(item)
        if parsed is None:
            result.skipped.append((item, "invalid"))
            continue
        record_type, record_id, version = parsed
        label = f"{record_type}:{record_id}"
        try:
            record = record_in_scope(user, record_type, record_id)
        except NotFound:
            result.skipped.append((label, "not_found"))
            continue
        why = _apply(user, record, record_type, version, "approved", "", now)
        if why:
            result.skipped.append((label, why))
            continue
        result.approved.append(label)
        entries.append({"action": "review.approve", "object_type": record_type,
                        "object_id": record.id, "details": {
                            "version": version, "author_id": record.author_id, "bulk": True}})
    audit.record_many(entries, actor=user)
    db.session.commit()
    return result


# -- the author's side --------------------------------------------------------------------------


@dataclass
class Returned:
    record_type: str
    record: object
    summary: str
    comment: str
    reviewer: str
    decided_at: datetime | None


def returned_for(user: User) -> list[Returned]:
    """Return the user's records sent back to them, with the reviewer's latest comment."""
    found = []
    for record_type in REVIEWABLE:
        model = MODELS[record_type]
        found += [(record_type, row) for row in db.session.scalars(
            _loaded(record_type).where(model.author_id == user.id, model.status == "returned"))]
    if not found:
        return []
    latest: dict[tuple[str, str], ReviewDecision] = {}
    for decision in db.session.scalars(
            select(ReviewDecision).options(joinedload(ReviewDecision.reviewer))
            .where(ReviewDecision.record_id.in_([row.id for _, row in found]),
                   ReviewDecision.decision == "returned")
            .order_by(ReviewDecision.decided_at, ReviewDecision.id)):
        latest[(decision.record_type, decision.record_id)] = decision
    items = []
    for record_type, row in found:
        decision = latest.get((record_type, row.id))
        items.append(Returned(record_type, row, summary(record_type, row),
                              decision.comment if decision else "",
                              decision.reviewer.display_name if decision else "",
                              decision.decided_at if decision else None))
    items.sort(key=lambda r: r.decided_at or datetime.min, reverse=True)
    return items


def returned_count(user: User) -> int:
    """Count the user's records returned to them for changes (one query)."""
    parts = [select(MODELS[t].id).where(MODELS[t].author_id == user.id,
                                        MODELS[t].status == "returned") for t in REVIEWABLE]
    return db.session.scalar(select(func.count()).select_from(union_all(*parts).subquery()))


def edit_path(record_type: str, record_id: str) -> str:
    """Return the phone page that edits a record (visits here; other types in records.edit)."""
    if record_type == "visit":
        return f"/m/visits/{record_id}/edit"
    return f"/m/records/{record_type}/{record_id}/edit"
