"""What differs between record types in sync: their schema, columns, village and links.

The sync engine (`records.sync`) does the rest the same way for every type: idempotency by UUID,
edits as new versions, review locks, audit entries.
"""
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from marshmallow import Schema
from sqlalchemy import delete, insert, select

from fieldlog.extensions import db
from fieldlog.models import (
    Action,
    DayMark,
    Goal,
    GoalLink,
    Household,
    LeaveDecision,
    LeaveRequest,
    LedgerItem,
    LedgerLink,
    Meeting,
    OrgUnit,
    Visit,
)
from fieldlog.schemas.records import (
    ActionInSchema,
    DayMarkInSchema,
    GoalInSchema,
    LeaveInSchema,
    LedgerItemInSchema,
    MeetingInSchema,
)
from fieldlog.schemas.sync import VisitInSchema
from fieldlog.services.org.settings import leave_chain

if TYPE_CHECKING:
    from fieldlog.services.records.sync import Batch

# A refusal: (status, error, message, fields)
Refusal = tuple[str, str, str, dict]


def _invalid(message: str, field_name: str, detail: str) -> Refusal:
    return ("invalid", "invalid", message, {field_name: [detail]})


@dataclass(frozen=True)
class Kind:
    """One record type as sync sees it."""

    name: str
    model: type
    schema: Schema
    columns: Callable[[dict], dict]
    # Return the village a new or edited record belongs to, or a refusal.
    village: Callable[["Batch", dict], int | Refusal] = field(default=None)  # type: ignore
    # Check what only this type checks (references, uniqueness); return a refusal or None.
    check: Callable[["Batch", dict, int], Refusal | None] = lambda batch, data, village: None
    # Write the links a record carries (goal evidence, ledger sources) after insert or update.
    links: Callable[["Batch", str, dict], None] | None = None
    # Columns set only when a record is created (a leave's chain) or changed by an edit.
    on_create: Callable[["Batch", dict, int], dict] = lambda batch, data, village: {}
    on_edit: Callable[["Batch", Any, dict], dict] = lambda batch, row, data: {}
    # Why an existing record may not be edited, beyond review approval; None if it may.
    locked: Callable[[Any], str | None] = lambda row: None
    photos: bool = True


def own_village(batch: "Batch", data: dict) -> int | Refusal:
    """Records other than visits belong to the author's village on the record's day (their
    term then), else to their own village now."""
    if batch.home_village is None:
        return ("forbidden", "forbidden", "Only a cadre assigned to a village can record this.",
                {})
    return batch.term_village(data) or batch.home_village


def household_village(batch: "Batch", data: dict) -> int | Refusal:
    village_id = batch.household_villages.get(str(data["household_id"]))
    if village_id is None:
        return _invalid("The household is not in the register.", "household_id",
                        "Unknown household.")
    if village_id not in batch.allowed_villages and village_id != batch.term_village(data):
        return ("forbidden", "forbidden",
                "This household's village is outside your scope.", {})
    return village_id


# -- goal evidence -----------------------------------------------------------------------------

def check_goals(batch: "Batch", data: dict, village_id: int) -> Refusal | None:
    wanted = {str(g) for g in data.get("goal_ids", [])}
    if not wanted:
        return None
    found = set(db.session.scalars(select(Goal.id).where(
        Goal.id.in_(wanted), Goal.village_id == village_id)))
    if wanted - found:
        return _invalid("A linked goal does not exist in this village.", "goal_ids",
                        "Unknown goal.")
    return None


def write_goal_links(kind_name: str) -> Callable[["Batch", str, dict], None]:
    def write(batch: "Batch", record_id: str, data: dict) -> None:
        db.session.execute(delete(GoalLink).where(GoalLink.record_type == kind_name,
                                                  GoalLink.record_id == record_id))
        rows = [{"goal_id": str(g), "record_type": kind_name, "record_id": record_id,
                 "linked_at": batch.now} for g in dict.fromkeys(data.get("goal_ids", []))]
        if rows:
            db.session.execute(insert(GoalLink), rows)

    return write


# -- ledger items --------------------------------------------------------------------------------

SOURCE_MODELS = {"visit": Visit, "meeting": Meeting}


def source_refusal(batch: "Batch", source: dict | None, village_id: int,
                   field_name: str) -> Refusal | None:
    """Refuse a source record that is not on the server or lies in another village."""
    if not source:
        return None
    model = SOURCE_MODELS[source["type"]]
    found = db.session.scalar(select(model.village_id).where(model.id == str(source["id"])))
    if found is None:
        return _invalid("The visit or meeting this comes from has not reached the server.",
                        field_name, "Unknown record.")
    if found != village_id:
        return _invalid("The visit or meeting this comes from is in another village.",
                        field_name, "Other village.")
    return None


def check_ledger_item(batch: "Batch", data: dict, village_id: int) -> Refusal | None:
    if data.get("household_id"):
        if batch.household_villages.get(str(data["household_id"])) != village_id:
            return _invalid("The household is not in this village's register.",
                            "household_id", "Unknown household.")
    return source_refusal(batch, data.get("source"), village_id, "source")


def write_ledger_source(batch: "Batch", record_id: str, data: dict) -> None:
    source = data.get("source")
    if not source:
        return
    exists = db.session.scalar(select(LedgerLink.id).where(
        LedgerLink.item_id == record_id, LedgerLink.record_type == source["type"],
        LedgerLink.record_id == str(source["id"])))
    if exists is None:
        db.session.add(LedgerLink(item_id=record_id, record_type=source["type"],
                                  record_id=str(source["id"]), linked_at=batch.now))


# -- attendance ----------------------------------------------------------------------------------

def check_day_mark(batch: "Batch", data: dict, village_id: int) -> Refusal | None:
    record_id = str(data["id"])
    other = db.session.scalar(select(DayMark.id).where(
        DayMark.author_id == batch.user.id, DayMark.day == data["day"], DayMark.id != record_id))
    claimed = batch.day_claims.get(data["day"], record_id)
    if other is not None or claimed != record_id:
        return _invalid("This day is already marked; change that mark instead.", "day",
                        "Already marked.")
    batch.day_claims[data["day"]] = record_id
    return None


def _leave_terms(village_id: int, data: dict) -> dict:
    days = (data["end_date"] - data["start_date"]).days + 1
    village = db.session.get(OrgUnit, village_id)
    return {"days": days, "chain": json.dumps(leave_chain(village, days))}


def leave_locked(row: LeaveRequest) -> str | None:
    if row.state != "pending":
        return "This leave request has been decided or withdrawn; it can no longer be changed."
    if db.session.scalar(select(LeaveDecision.id).where(LeaveDecision.leave_id == row.id)):
        return "An approver has already acted on this request; ask them instead of editing it."
    return None


def leave_on_edit(batch: "Batch", row: LeaveRequest, data: dict) -> dict:
    if data.get("cancel"):
        return {"state": "cancelled", "decided_at": batch.now}
    return _leave_terms(row.village_id, data)


# -- the registry ---------------------------------------------------------------------------------

def _pick(*names: str) -> Callable[[dict], dict]:
    def columns(data: dict) -> dict:
        return {name: data[name].strip() if isinstance(data[name], str) else data[name]
                for name in names}

    return columns


KINDS: dict[str, Kind] = {kind.name: kind for kind in (
    Kind("goal", Goal, GoalInSchema(), _pick("goal_type", "title", "target", "progress", "state"),
         village=own_village),
    Kind("visit", Visit, VisitInSchema(),
         lambda d: {"household_id": str(d["household_id"]), "heard": d["heard"].strip(),
                    "requests": d["requests"].strip(), "follow_up": d["follow_up"]},
         village=household_village),
    Kind("meeting", Meeting, MeetingInSchema(),
         _pick("meeting_type", "title", "place", "host", "expected_count", "attended_count",
               "attendees", "topics", "decisions"),
         village=own_village, check=check_goals, links=write_goal_links("meeting")),
    Kind("action", Action, ActionInSchema(),
         _pick("action_type", "title", "description", "state", "due_date", "done_on",
               "evidence"),
         village=own_village, check=check_goals, links=write_goal_links("action")),
    Kind("ledger_item", LedgerItem, LedgerItemInSchema(),
         lambda d: {"household_id": str(d["household_id"]) if d["household_id"] else None,
                    **_pick("raiser_name", "category", "content", "handler", "handler_note",
                            "due_date")(d)},
         village=own_village, check=check_ledger_item, links=write_ledger_source),
    Kind("day_mark", DayMark, DayMarkInSchema(), _pick("day", "kind", "reason", "note"),
         village=own_village, check=check_day_mark, photos=False),
    Kind("leave", LeaveRequest, LeaveInSchema(),
         _pick("leave_type", "start_date", "end_date", "reason"),
         village=own_village, on_create=lambda batch, data, village: _leave_terms(village, data),
         on_edit=leave_on_edit, locked=leave_locked, photos=False),
)}

# Kinds are applied in this order within a batch, so a record may refer to one sent before it
# (a meeting to a goal, a ledger item to its visit, an update to its item).
ORDER = ("goal", "visit", "meeting", "action", "ledger_item", "ledger_update", "day_mark",
         "leave")
PHOTO_KINDS = tuple(name for name, kind in KINDS.items() if kind.photos)


def households_in(ids: set[str]) -> dict[str, int]:
    """Map household ids to their villages."""
    if not ids:
        return {}
    return dict(db.session.execute(
        select(Household.id, Household.village_id).where(Household.id.in_(ids))).all())
