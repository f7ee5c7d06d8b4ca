"""How any record reads to people: type and field labels, a summary line, version differences.

Labels are msgids (English) translated by Flask-Babel; values of choice fields are shown by
their label, households by name, times in the county's zone. `review_summary` counts each
author's records by review status for dashboards.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from flask_babel import format_datetime, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, union_all

from fieldlog.domain import (
    ACTION_STATE_LABELS,
    ACTION_TYPE_LABELS,
    DAY_KIND_LABELS,
    DAY_REASON_LABELS,
    GOAL_TYPE_LABELS,
    LEAVE_TYPE_LABELS,
    LEDGER_CATEGORY_LABELS,
    LEDGER_HANDLER_LABELS,
    MEETING_TYPE_LABELS,
    RECORD_STATUS_LABELS,
    record_title,
)
from fieldlog.extensions import db
from fieldlog.models import (
    Action,
    DayMark,
    DeviceToken,
    Goal,
    Household,
    LeaveRequest,
    LedgerItem,
    Meeting,
    RecordVersion,
    ReviewDecision,
    User,
    Visit,
)
from fieldlog.services.review.textdiff import word_diff
from fieldlog.timefmt import local_midnight_utc, to_utc_naive

# Types a supervisor reviews (leave has its own approval chain).
REVIEWABLE = ("visit", "meeting", "action", "goal", "ledger_item", "day_mark")
MODELS: dict[str, type] = {"visit": Visit, "meeting": Meeting, "action": Action, "goal": Goal,
                           "ledger_item": LedgerItem, "day_mark": DayMark,
                           "leave": LeaveRequest}
TYPE_LABELS = {
    "visit": _l("Household visit"), "meeting": _l("Meeting minutes"),
    "action": _l("Six-one action"), "goal": _l("Five-one goal"),
    "ledger_item": _l("Villagers' request"), "day_mark": _l("Village day"),
    "leave": _l("Leave request"),
}
STATUS_LABELS = RECORD_STATUS_LABELS

CHOICES: dict[str, dict[str, Any]] = {
    "meeting_type": MEETING_TYPE_LABELS,
    "action_type": ACTION_TYPE_LABELS,
    "goal_type": GOAL_TYPE_LABELS,
    "state": ACTION_STATE_LABELS,
    "category": LEDGER_CATEGORY_LABELS,
    "handler": LEDGER_HANDLER_LABELS,
    "kind": DAY_KIND_LABELS,
    "reason": DAY_REASON_LABELS,
    "leave_type": LEAVE_TYPE_LABELS,
}

COMMON_FIELDS = {"occurred_at": _l("Time"), "location": _l("Location"),
                 "photo_ids": _l("Photos")}
FIELDS: dict[str, dict[str, Any]] = {
    "visit": {"household_id": _l("Household"), "heard": _l("What was heard"),
              "requests": _l("What they ask for"), "follow_up": _l("Follow-up needed")},
    "meeting": {"meeting_type": _l("Meeting type"), "title": _l("Title"), "place": _l("Place"),
                "host": _l("Chaired by"), "expected_count": _l("Expected"),
                "attended_count": _l("Attended"), "attendees": _l("Attendees"),
                "topics": _l("Topics"), "decisions": _l("Decisions"),
                "goal_ids": _l("Evidence for goals")},
    "action": {"action_type": _l("Action"), "title": _l("Title"),
               "description": _l("Description"), "state": _l("State"),
               "due_date": _l("Due date"), "done_on": _l("Done on"), "evidence": _l("Evidence"),
               "goal_ids": _l("Evidence for goals")},
    "goal": {"goal_type": _l("Goal"), "title": _l("Title"), "target": _l("Target"),
             "progress": _l("Progress"), "state": _l("State")},
    "ledger_item": {"household_id": _l("Household"), "raiser_name": _l("Raised by"),
                    "category": _l("Category"), "content": _l("Request"),
                    "handler": _l("Handled by"), "handler_note": _l("Handler note"),
                    "due_date": _l("Due date"), "source": _l("Raised in")},
    "day_mark": {"day": _l("Day"), "kind": _l("Kind"), "reason": _l("Reason"),
                 "note": _l("Note")},
    "leave": {"leave_type": _l("Leave type"), "start_date": _l("From"),
              "end_date": _l("To"), "reason": _l("Reason"), "cancel": _l("Withdrawn")},
}
_HIDDEN = {"id", "type", "device_created_at", "base_version"}


def type_label(record_type: str) -> str:
    return str(TYPE_LABELS.get(record_type, record_type))


def field_label(record_type: str, name: str) -> str:
    """Return the human label of a field of a record type."""
    label = FIELDS.get(record_type, {}).get(name) or COMMON_FIELDS.get(name)
    return str(label) if label else name


def field_names(record_type: str) -> list[str]:
    return [*FIELDS.get(record_type, {}), *COMMON_FIELDS]


def _clip(text: str | None, size: int = 60) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= size else text[:size - 1] + "…"


def _choice(name: str, value: Any) -> str:
    return str(CHOICES.get(name, {}).get(value, value if value is not None else "—"))


def summary(record_type: str, row: Any) -> str:
    """Return one line saying what a record is about (row: the model instance)."""
    if record_type == "visit":
        who = row.household.head_name if row.household else ""
        return " · ".join(p for p in (who, _clip(row.requests or row.heard)) if p)
    if record_type in ("meeting", "action", "goal"):
        kind = {"meeting": "meeting_type", "action": "action_type", "goal": "goal_type"}
        code = getattr(row, kind[record_type])
        title = _clip(row.title)
        bits = [_choice(kind[record_type], code) if title else "",
                record_title(record_type, title, code, row.occurred_at)]
        if record_type == "action":
            bits.append(_choice("state", row.state))
        return " · ".join(b for b in bits if b)
    if record_type == "ledger_item":
        who = row.household.head_name if row.household else row.raiser_name
        return " · ".join(b for b in (_choice("category", row.category), who,
                                      _clip(row.content)) if b)
    if record_type == "day_mark":
        bits = [row.day.isoformat(), _choice("kind", row.kind)]
        if row.kind == "official":
            bits.append(_choice("reason", row.reason))
        return " · ".join([*bits, _clip(row.note, 40)])
    if record_type == "leave":
        return f"{_choice('leave_type', row.leave_type)} · {row.start_date} – {row.end_date}"
    return record_type


# -- values and differences ---------------------------------------------------------------


def _show_time(value: str) -> str:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (TypeError, ValueError):
        return str(value)
    return format_datetime(to_utc_naive(moment), "short")


def display_value(name: str, value: Any, households: dict[str, str] | None = None) -> str:
    """Return a stored payload value as people read it."""
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if name == "household_id":
        return (households or {}).get(str(value), _("Unknown household"))
    if name == "location":
        accuracy = value.get("accuracy_m")
        text = f"{value['lat']:.5f}, {value['lon']:.5f}"
        return f"{text} (±{round(accuracy)} m)" if accuracy is not None else text
    if name == "photo_ids":
        return ngettext("%(num)s photo", "%(num)s photos", len(value))
    if name == "goal_ids":
        return ngettext("%(num)s goal", "%(num)s goals", len(value))
    if name == "source":
        return type_label(value.get("type", ""))
    if name in ("occurred_at", "located_at"):
        return _show_time(value)
    if name in CHOICES:
        return _choice(name, value)
    return str(value)


@dataclass
class Change:
    """One changed field: its label, the values as read, and each value in parts.

    `old_parts`/`new_parts` are (changed, text) pairs; changed text is what was removed from the
    old value or added in the new one, so a page can mark just the words that changed.
    """

    name: str
    label: str
    old: str
    new: str
    old_parts: list[tuple[bool, str]] = field(default_factory=list)
    new_parts: list[tuple[bool, str]] = field(default_factory=list)


_NOT_PROSE = {"household_id", "occurred_at", "located_at", "location", "source", "photo_ids",
              "goal_ids", *CHOICES}


def _change(record_type: str, name: str, before: Any, after: Any,
            households: dict[str, str] | None) -> Change:
    old = display_value(name, before, households)
    new = display_value(name, after, households)
    if name not in _NOT_PROSE and isinstance(before, str) and isinstance(after, str) \
            and before.strip() and after.strip():
        old_parts, new_parts = word_diff(old, new)
    else:  # a choice, a time, a place, or a value added or removed: the whole value changed
        old_parts, new_parts = [(before not in (None, "", []), old)], [(True, new)]
    return Change(name, field_label(record_type, name), old, new, old_parts, new_parts)


@dataclass
class VersionView:
    """One version of a record: when, from which device, and what changed from the one before."""

    version: int
    received_at: datetime
    author: str
    device: str
    changes: list[Change] = field(default_factory=list)
    data: dict = field(default_factory=dict)


_SYSTEMS = (("Android", "Android"), ("iPhone", "iPhone"), ("iPad", "iPad"),
            ("Windows", "Windows"), ("Mac OS", "Mac"), ("HarmonyOS", "HarmonyOS"),
            ("Linux", "Linux"))
_BROWSERS = (("MicroMessenger", "WeChat"), ("HuaweiBrowser", "Huawei"), ("Edg/", "Edge"),
             ("Firefox/", "Firefox"), ("Chrome/", "Chrome"), ("Safari/", "Safari"))


def device_name(label: str) -> str:
    """Shorten a device label that is a browser's user agent to "Chrome · Android"."""
    if "Mozilla/" not in label:
        return label[:60]
    system = next((name for key, name in _SYSTEMS if key in label), "")
    browser = next((name for key, name in _BROWSERS if key in label), "")
    return " · ".join(p for p in (browser, system) if p) or label[:60]


def _households_named(datas: list[dict]) -> dict[str, str]:
    ids = {str(d["household_id"]) for d in datas if d.get("household_id")}
    if not ids:
        return {}
    rows = db.session.execute(select(Household.id, Household.head_name, Household.house_label)
                              .where(Household.id.in_(ids)))
    return {str(r.id): f"{r.head_name} {r.house_label}".strip() for r in rows}


def diff(record_type: str, old: dict, new: dict,
         households: dict[str, str] | None = None) -> list[Change]:
    """Return the fields that differ between two payloads, in the type's field order."""
    names = field_names(record_type)
    names += sorted(k for k in {*old, *new} if k not in names and k not in _HIDDEN)
    changes = []
    for name in names:
        before, after = old.get(name), new.get(name)
        if before == after or (name == "photo_ids" and set(before or []) == set(after or [])):
            continue
        changes.append(_change(record_type, name, before, after, households))
    return changes


def version_diffs(record_type: str, record_id: str) -> list[VersionView]:
    """Return every version of a record, oldest first, each with its changes from the previous."""
    rows = list(db.session.execute(
        select(RecordVersion, User.display_name, DeviceToken.label)
        .join(User, User.id == RecordVersion.author_id)
        .outerjoin(DeviceToken, DeviceToken.id == RecordVersion.device_id)
        .where(RecordVersion.record_type == record_type,
               RecordVersion.record_id == str(record_id))
        .order_by(RecordVersion.version)))
    datas = [json.loads(row.RecordVersion.data) for row in rows]
    households = _households_named(datas)
    views, previous = [], None
    for row, data in zip(rows, datas, strict=True):
        version = row.RecordVersion
        views.append(VersionView(
            version.version, version.received_at, row.display_name, device_name(row.label or ""),
            diff(record_type, previous, data, households) if previous is not None else [], data))
        previous = data
    return views


def decisions_of(record_type: str, record_id: str) -> list[ReviewDecision]:
    """Return the review decisions on a record, oldest first, reviewers loaded."""
    from sqlalchemy.orm import joinedload

    return list(db.session.scalars(
        select(ReviewDecision).options(joinedload(ReviewDecision.reviewer))
        .where(ReviewDecision.record_type == record_type,
               ReviewDecision.record_id == str(record_id))
        .order_by(ReviewDecision.decided_at, ReviewDecision.id)))


# -- counts for dashboards ---------------------------------------------------------------------


def _as_utc(value: date | datetime) -> datetime:
    if isinstance(value, datetime):
        return to_utc_naive(value)
    return local_midnight_utc(value)


def review_summary(user_ids: list[int], start: date | datetime,
                   end: date | datetime) -> dict[int, dict[str, int]]:
    """Count each author's reviewable records that occurred in [start, end) by review status.

    Dates are county days (end exclusive). Returns {user_id: {"total", "submitted" (waiting),
    "approved", "returned"}}; every asked id is present. One query over all record tables.
    """
    result = {uid: {"total": 0, "submitted": 0, "approved": 0, "returned": 0}
              for uid in user_ids}
    if not user_ids:
        return result
    lower, upper = _as_utc(start), _as_utc(end)
    parts = [select(MODELS[t].author_id.label("author_id"), MODELS[t].status.label("status"))
             .where(MODELS[t].author_id.in_(user_ids), MODELS[t].occurred_at >= lower,
                    MODELS[t].occurred_at < upper) for t in REVIEWABLE]
    records = union_all(*parts).subquery()
    rows = db.session.execute(select(records.c.author_id, records.c.status, func.count())
                              .group_by(records.c.author_id, records.c.status))
    for author_id, status, count in rows:
        counts = result[author_id]
        counts["total"] += count
        if status in counts:
            counts[status] += count
    return result


__all__ = ["REVIEWABLE", "MODELS", "TYPE_LABELS", "STATUS_LABELS", "summary", "field_label",
           "display_value", "diff", "version_diffs", "decisions_of", "review_summary",
           "type_label"]
