"""A cadre's page beside the figures: the month grids of the calendar, records per local day
and the latest records.
"""
from calendar import monthrange
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask_babel import get_timezone
from sqlalchemy import literal, select

from fieldlog.domain import record_title
from fieldlog.extensions import db
from fieldlog.models import Action, Household, LedgerItem, Meeting, Visit
from fieldlog.services.reporting.figure_queries import REVIEWED
from fieldlog.services.reporting.period import utc_bounds


@dataclass
class CalendarMonth:
    first: date
    weeks: list[list[date | None]]  # Monday first; None pads the first and last week


def calendar_months(start: date, end: date, limit: int = 12) -> list[CalendarMonth]:
    """Return the month grids covering start..end (the last `limit` months at most)."""
    months, first = [], date(start.year, start.month, 1)
    while first <= end:
        days = monthrange(first.year, first.month)[1]
        cells: list[date | None] = [None] * first.weekday()
        cells += [first + timedelta(days=n) for n in range(days)]
        cells += [None] * (-len(cells) % 7)
        months.append(CalendarMonth(first, [cells[i:i + 7] for i in range(0, len(cells), 7)]))
        first = (first + timedelta(days=32)).replace(day=1)
    return months[-limit:]


def records_per_day(cadre_id: int, start: date, end: date) -> dict[date, int]:
    """Count the cadre's records of every kind per local day of start..end."""
    lo, hi = utc_bounds(start, end)
    zone = ZoneInfo(str(get_timezone()))
    counts: dict[date, int] = defaultdict(int)
    for model in (Visit, Meeting, Action, LedgerItem):
        for (at,) in db.session.execute(select(model.occurred_at).where(
                model.author_id == cadre_id, model.occurred_at >= lo, model.occurred_at < hi)):
            counts[at.replace(tzinfo=UTC).astimezone(zone).date()] += 1
    return dict(counts)


@dataclass
class RecentRecord:
    kind: str
    id: str
    occurred_at: datetime
    title: str
    status: str


def recent_records(cadre_id: int, limit: int = 15) -> list[RecentRecord]:
    """Return the cadre's latest records of every kind, newest first."""
    titles = {"visit": (Household.head_name, literal(None)),
              "meeting": (Meeting.title, Meeting.meeting_type),
              "action": (Action.title, Action.action_type),
              "ledger_item": (LedgerItem.content, literal(None))}
    found = []
    for kind, model in REVIEWED.items():
        stmt = select(model.id, model.occurred_at, *titles[kind], model.status).where(
            model.author_id == cadre_id).order_by(model.occurred_at.desc()).limit(limit)
        if kind == "visit":
            stmt = stmt.join(Household, Household.id == Visit.household_id)
        found += [RecentRecord(kind, rid, at, record_title(kind, title, code, at), status)
                  for rid, at, title, code, status in db.session.execute(stmt)]
    return sorted(found, key=lambda r: r.occurred_at, reverse=True)[:limit]
