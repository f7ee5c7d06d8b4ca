"""Change a ledger item (state, handler, due date, note, one more source) and keep the history."""
import json
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select

from fieldlog.extensions import db
from fieldlog.models import LedgerEvent, LedgerItem, LedgerLink, User

# Where an item may go from each state. Feedback to the household comes after resolution;
# a resolved item (or one already reported back) can be reopened.
TRANSITIONS = {
    "open": {"in_progress", "resolved"},
    "in_progress": {"open", "resolved"},
    "resolved": {"in_progress", "feedback"},
    "feedback": {"in_progress"},
}


class ChangeRefused(Exception):
    """The change cannot apply to the item as it stands; `field` names what is wrong."""

    def __init__(self, message: str, field: str):
        super().__init__(message)
        self.message, self.field = message, field


@dataclass
class Change:
    """One change to an item, as a phone or a page asks for it."""

    event_id: str
    occurred_at: datetime
    to_state: str | None = None
    handler: str | None = None
    handler_note: str | None = None
    due_date: date | None = None
    note: str = ""
    link: dict | None = None  # {"type": "visit"|"meeting", "id": ...}


def apply_change(item: LedgerItem, actor: User, change: Change, *, now: datetime,
                 content_hash: str, device_id: str | None = None) -> LedgerEvent:
    """Apply `change` to `item` and add its history event (no commit); raise ChangeRefused."""
    from_state = item.state
    if change.to_state and change.to_state != item.state \
            and change.to_state not in TRANSITIONS[item.state]:
        raise ChangeRefused(f"An item cannot go from '{item.state}' to '{change.to_state}'.",
                            "to_state")
    if change.link:
        _check_link(item, change.link)  # refuse before anything changes
    changes: dict[str, list] = {}
    for name in ("handler", "handler_note", "due_date"):
        new = getattr(change, name)
        if new is not None and new != getattr(item, name):
            old = getattr(item, name)
            changes[name] = [_plain(old), _plain(new)]
            setattr(item, name, new)
    if change.link:
        _add_link(item, change.link, now)
        changes["link"] = [None, {"type": change.link["type"], "id": str(change.link["id"])}]
    if change.to_state and change.to_state != from_state:
        item.state = change.to_state
        item.state_changed_at = now
        if change.to_state == "resolved":
            item.resolved_at = now
        if change.to_state == "feedback":
            item.feedback_at = now
            item.resolved_at = item.resolved_at or now
        if change.to_state in ("open", "in_progress"):
            item.resolved_at, item.feedback_at = None, None
    event = LedgerEvent(
        id=change.event_id, item_id=item.id, actor_id=actor.id, occurred_at=change.occurred_at,
        received_at=now, from_state=from_state,
        to_state=item.state if item.state != from_state else None,
        changes=json.dumps(changes, ensure_ascii=False), note=change.note.strip(),
        content_hash=content_hash, device_id=device_id,
    )
    db.session.add(event)
    return event


def _check_link(item: LedgerItem, link: dict) -> None:
    from fieldlog.services.records.kinds import SOURCE_MODELS

    model = SOURCE_MODELS[link["type"]]
    village = db.session.scalar(select(model.village_id).where(model.id == str(link["id"])))
    if village is None:
        raise ChangeRefused("The visit or meeting to link has not reached the server.", "link")
    if village != item.village_id:
        raise ChangeRefused("The visit or meeting to link is in another village.", "link")


def _add_link(item: LedgerItem, link: dict, now: datetime) -> None:
    record_id = str(link["id"])
    exists = db.session.scalar(select(LedgerLink.id).where(
        LedgerLink.item_id == item.id, LedgerLink.record_type == link["type"],
        LedgerLink.record_id == record_id))
    if exists is None:
        db.session.add(LedgerLink(item_id=item.id, record_type=link["type"],
                                  record_id=record_id, linked_at=now))


def _plain(value):
    return value.isoformat() if isinstance(value, date) else value
