"""Read side of the villagers' issue ledger (民情台账), and changes made from a web page.

Every query goes through the viewer's scope. Phones change items through sync
(`ledger_update`); a supervisor's web form goes through `change_item`, which uses the same
`apply_change` and adds an audit entry.
"""
import hashlib
import json
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import Select, and_, case, func, or_, select
from sqlalchemy.orm import joinedload

from fieldlog.domain import (  # noqa: F401  (the ledger's pages take them from here)
    LEDGER_CATEGORY_LABELS,
    LEDGER_HANDLER_LABELS,
    LEDGER_STATE_LABELS,
    record_title,
)
from fieldlog.errors import Invalid, NotFound
from fieldlog.extensions import db
from fieldlog.models import Household, LedgerEvent, LedgerItem, LedgerLink, Meeting, User, Visit
from fieldlog.models.ledger import LEDGER_HANDLERS, LEDGER_STATES
from fieldlog.permissions import scope_village_ids
from fieldlog.services.people.audit import record as audit
from fieldlog.services.records.ledger_changes import Change, ChangeRefused, apply_change
from fieldlog.timefmt import local_midnight_utc, local_today

OPEN_STATES = ("open", "in_progress")
NOTE_MAX = 2000


def overdue_clause(today: date):
    """SQL condition: due before today and not yet resolved."""
    return and_(LedgerItem.due_date.is_not(None), LedgerItem.due_date < today,
                LedgerItem.state.in_(OPEN_STATES))


def is_overdue(item: LedgerItem, today: date) -> bool:
    """Return whether the item is past its due date and still open."""
    return bool(item.due_date and item.due_date < today and item.state in OPEN_STATES)


def scoped_items(user: User) -> Select:
    """Select the ledger items of the villages in the user's scope, household and village loaded."""
    return (select(LedgerItem)
            .options(joinedload(LedgerItem.household), joinedload(LedgerItem.village),
                     joinedload(LedgerItem.author))
            .where(LedgerItem.village_id.in_(scope_village_ids(user))))


def open_items(user: User) -> Select:
    """Select the items in scope that are still open or in progress."""
    return scoped_items(user).where(LedgerItem.state.in_(OPEN_STATES))


def overdue_items(today: date, user: User | None = None) -> Select:
    """Select items past their due date and not resolved (in the user's scope when given)."""
    query = scoped_items(user) if user is not None else select(LedgerItem)
    return query.where(overdue_clause(today))


def _urgency(today: date):
    """Sort key: overdue first, then open and in progress, then resolved, then reported back."""
    return case((overdue_clause(today), 0), (LedgerItem.state == "in_progress", 1),
                (LedgerItem.state == "open", 1), (LedgerItem.state == "resolved", 2), else_=3)


@dataclass
class Filters:
    """What a supervisor narrows the ledger table by (all optional)."""

    village_id: int | None = None
    state: str | None = None
    category: str | None = None
    handler: str | None = None
    overdue: bool = False
    start: date | None = None
    end: date | None = None  # inclusive, by the county's calendar

    def args(self) -> dict:
        """Return the filters as URL arguments (for the pager and links)."""
        values = {"village": self.village_id, "state": self.state, "category": self.category,
                  "handler": self.handler, "overdue": "1" if self.overdue else None,
                  "start": self.start.isoformat() if self.start else None,
                  "end": self.end.isoformat() if self.end else None}
        return {k: v for k, v in values.items() if v}


def _narrow(query: Select, f: Filters, today: date, *, with_state: bool = True) -> Select:
    if f.village_id:
        query = query.where(LedgerItem.village_id == f.village_id)
    if f.category:
        query = query.where(LedgerItem.category == f.category)
    if f.handler:
        query = query.where(LedgerItem.handler == f.handler)
    if f.start:
        query = query.where(LedgerItem.occurred_at >= local_midnight_utc(f.start))
    if f.end:
        query = query.where(LedgerItem.occurred_at < local_midnight_utc(f.end + timedelta(1)))
    if with_state and f.state:
        query = query.where(LedgerItem.state == f.state)
    if with_state and f.overdue:
        query = query.where(overdue_clause(today))
    return query


def state_counts(user: User, f: Filters, today: date) -> dict[str, int]:
    """Count items per state, and overdue ones, under every filter but state and overdue."""
    base = _narrow(select(LedgerItem.id, LedgerItem.state, LedgerItem.due_date)
                   .where(LedgerItem.village_id.in_(scope_village_ids(user))), f, today,
                   with_state=False).subquery()
    row = db.session.execute(select(
        *[func.coalesce(func.sum(case((base.c.state == s, 1), else_=0)), 0) for s in LEDGER_STATES],
        func.coalesce(func.sum(case((and_(base.c.due_date.is_not(None), base.c.due_date < today,
                                          base.c.state.in_(OPEN_STATES)), 1), else_=0)), 0),
    )).one()
    return {**dict(zip(LEDGER_STATES, map(int, row[:4]), strict=True)), "overdue": int(row[4])}


@dataclass
class LedgerPage:
    items: list[LedgerItem]
    total: int
    page: int
    pages: int
    counts: dict[str, int] = field(default_factory=dict)


def list_items(user: User, f: Filters, today: date, *, page: int = 1,
               per_page: int = 30) -> LedgerPage:
    """List the items in scope under the filters: overdue and open first, then newest."""
    query = _narrow(scoped_items(user), f, today)
    total = db.session.scalar(select(func.count()).select_from(
        query.with_only_columns(LedgerItem.id).order_by(None).subquery()))
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    items = list(db.session.scalars(
        query.order_by(_urgency(today), LedgerItem.occurred_at.desc(), LedgerItem.id)
        .limit(per_page).offset((page - 1) * per_page)).unique())
    return LedgerPage(items, total, page, pages, state_counts(user, f, today))


def village_items(user: User, today: date) -> list[LedgerItem]:
    """Return every item of the secretary's village: overdue, open, then closed ones."""
    return list(db.session.scalars(scoped_items(user).order_by(
        _urgency(today), LedgerItem.due_date.is_(None), LedgerItem.due_date,
        LedgerItem.occurred_at.desc())).unique())


def open_item_dicts(village_id: int, today: date) -> list[dict]:
    """Return a village's open items for the phone (the visit form links to them offline)."""
    rows = db.session.scalars(select(LedgerItem).where(
        LedgerItem.village_id == village_id, LedgerItem.state.in_(OPEN_STATES))
        .order_by(LedgerItem.occurred_at.desc()))
    return [{"id": i.id, "household_id": i.household_id, "raiser_name": i.raiser_name,
             "category": i.category, "category_label": str(LEDGER_CATEGORY_LABELS[i.category]),
             "content": i.content[:200], "state": i.state,
             "state_label": str(LEDGER_STATE_LABELS[i.state]),
             "due_date": i.due_date.isoformat() if i.due_date else None,
             "overdue": is_overdue(i, today)} for i in rows]


def get_item(user: User, item_id: str) -> LedgerItem:
    """Return one item in the user's scope; NotFound otherwise."""
    item = db.session.scalar(scoped_items(user).where(LedgerItem.id == str(item_id)))
    if item is None:
        raise NotFound("No such ledger item in your scope.")
    return item


@dataclass
class HistoryEntry:
    id: str
    at: datetime
    actor: str
    from_state: str | None
    to_state: str | None
    changes: dict
    note: str


@dataclass
class Source:
    record_type: str
    record_id: str
    occurred_at: datetime | None
    title: str


def item_history(item: LedgerItem) -> list[HistoryEntry]:
    """Return the item's events, oldest first, with the actors' names."""
    rows = db.session.execute(
        select(LedgerEvent, User.display_name).join(User, User.id == LedgerEvent.actor_id)
        .where(LedgerEvent.item_id == item.id)
        .order_by(LedgerEvent.occurred_at, LedgerEvent.received_at, LedgerEvent.id))
    return [HistoryEntry(e.id, e.occurred_at, name, e.from_state, e.to_state,
                         json.loads(e.changes or "{}"), e.note) for e, name in rows]


def event_ids(item_ids: list[str]) -> dict[str, list[str]]:
    """Map items to the ids of their events (the phone hides its own updates the server has)."""
    result: dict[str, list[str]] = {}
    if item_ids:
        for item_id, event_id in db.session.execute(select(
                LedgerEvent.item_id, LedgerEvent.id).where(LedgerEvent.item_id.in_(item_ids))):
            result.setdefault(item_id, []).append(event_id)
    return result


def item_sources(item: LedgerItem) -> list[Source]:
    """Return the visits and meetings in which the item was raised, oldest first."""
    links = list(db.session.scalars(select(LedgerLink).where(LedgerLink.item_id == item.id)))
    visit_ids = [link.record_id for link in links if link.record_type == "visit"]
    meeting_ids = [link.record_id for link in links if link.record_type == "meeting"]
    found: dict[str, Source] = {}
    if visit_ids:
        for visit_id, at, name, label in db.session.execute(
                select(Visit.id, Visit.occurred_at, Household.head_name, Household.house_label)
                .join(Household, Household.id == Visit.household_id)
                .where(Visit.id.in_(visit_ids))):
            found[visit_id] = Source("visit", visit_id, at, f"{name} {label}".strip())
    if meeting_ids:
        for meeting_id, at, title, kind in db.session.execute(
                select(Meeting.id, Meeting.occurred_at, Meeting.title, Meeting.meeting_type)
                .where(Meeting.id.in_(meeting_ids))):
            found[meeting_id] = Source("meeting", meeting_id, at,
                                       record_title("meeting", title, kind, at))
    sources = [found.get(link.record_id) or Source(link.record_type, link.record_id, None, "")
               for link in links]
    return sorted(sources, key=lambda s: s.occurred_at or datetime.max)


def _parse_change(form: dict) -> dict:
    """Check a web form's fields; return the Change arguments or raise Invalid."""
    errors: dict[str, list[str]] = {}
    to_state = (form.get("to_state") or "").strip() or None
    handler = (form.get("handler") or "").strip() or None
    if to_state and to_state not in LEDGER_STATES:
        errors["to_state"] = ["Unknown state."]
    if handler and handler not in LEDGER_HANDLERS:
        errors["handler"] = ["Unknown handler."]
    due_date = None
    if (raw := (form.get("due_date") or "").strip()):
        try:
            due_date = date.fromisoformat(raw)
        except ValueError:
            errors["due_date"] = ["Use a date like 2026-12-31."]
    handler_note = form.get("handler_note")
    handler_note = handler_note.strip()[:200] if handler_note is not None else None
    note = (form.get("note") or "").strip()
    if len(note) > NOTE_MAX:
        errors["note"] = [f"At most {NOTE_MAX} characters."]
    if errors:
        raise Invalid(_("Some fields are not right: %(names)s.", names=", ".join(errors)),
                      fields=errors)
    return {"to_state": to_state, "handler": handler, "handler_note": handler_note,
            "due_date": due_date, "note": note}


def change_item(actor: User, item_id: str, form: dict, *, now: datetime) -> LedgerItem:
    """Apply a supervisor's change from a web form, audit it and commit; raise Invalid."""
    item = get_item(actor, item_id)
    values = _parse_change(form)
    if values["handler_note"] == item.handler_note:
        values["handler_note"] = None
    if not (values["to_state"] and values["to_state"] != item.state) and not values["note"] \
            and values["handler"] in (None, item.handler) and values["handler_note"] is None \
            and values["due_date"] in (None, item.due_date):
        raise Invalid(_("Nothing to change: choose a new state, handler or due date, or write "
                        "a note."), fields={"note": ["Nothing to change."]})
    event_id = str(uuid.uuid4())
    digest = hashlib.sha256(json.dumps({**values, "item_id": item.id, "via": "web"},
                                       default=str, sort_keys=True).encode()).hexdigest()
    try:
        event = apply_change(item, actor, Change(event_id=event_id, occurred_at=now, **values),
                             now=now, content_hash=digest)
    except ChangeRefused as refused:
        db.session.rollback()
        message = refused.message
        if refused.field == "to_state":
            message = _("An item cannot go from “%(old)s” to “%(new)s”.",
                        old=LEDGER_STATE_LABELS[item.state],
                        new=LEDGER_STATE_LABELS[values["to_state"]])
        raise Invalid(message, fields={refused.field: [refused.message]}) from None
    audit("ledger_item.update", actor=actor, object_type="ledger_item", object_id=item.id,
          details={"event_id": event_id, "to_state": event.to_state, "via": "web"})
    db.session.commit()
    return item


def ledger_counts(user_ids: list[int], start: date, end: date,
                  today: date | None = None) -> dict[int, dict[str, int]]:
    """Count per author: items opened and resolved within [start, end] (county days), and
    items overdue now whose due date is on or before `end`; one grouped query."""
    zero = {uid: {"opened": 0, "resolved": 0, "overdue": 0} for uid in user_ids}
    if not user_ids:
        return zero
    today = today or local_today()
    lo, hi = local_midnight_utc(start), local_midnight_utc(end + timedelta(days=1))
    opened = and_(LedgerItem.occurred_at >= lo, LedgerItem.occurred_at < hi)
    resolved = and_(LedgerItem.resolved_at.is_not(None), LedgerItem.resolved_at >= lo,
                    LedgerItem.resolved_at < hi)
    overdue = and_(overdue_clause(today), LedgerItem.due_date <= end)
    rows = db.session.execute(
        select(LedgerItem.author_id,
               func.sum(case((opened, 1), else_=0)), func.sum(case((resolved, 1), else_=0)),
               func.sum(case((overdue, 1), else_=0)))
        .where(LedgerItem.author_id.in_(user_ids), or_(opened, resolved, overdue))
        .group_by(LedgerItem.author_id))
    for author_id, n_opened, n_resolved, n_overdue in rows:
        zero[author_id] = {"opened": int(n_opened or 0), "resolved": int(n_resolved or 0),
                           "overdue": int(n_overdue or 0)}
    return zero
