"""Attendance without a check-in: village days from records and marks, leave and its approvals.

A day counts as present in the village when the cadre's own located records that (county-local)
day lie inside the village's geofence, or when the cadre marked it present; a day away on
reported official business (报备) counts too. Approved leave is leave. Nothing is ever asked of
the cadre just to be counted: their ordinary records already say where they were.
"""
import calendar
import json
import math
import sqlite3
import uuid
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from itertools import pairwise
from typing import NamedTuple

from sqlalchemy import (
    DateTime,
    Float,
    Integer,
    String,
    bindparam,
    case,
    cast,
    func,
    literal,
    select,
    union_all,
    update,
)

from fieldlog.errors import Conflict, Forbidden, Invalid, NotFound
from fieldlog.extensions import db
from fieldlog.models import (
    Action,
    DayMark,
    Goal,
    LeaveDecision,
    LeaveRequest,
    LedgerItem,
    Meeting,
    OrgUnit,
    User,
    Visit,
)
from fieldlog.models.base import utcnow
from fieldlog.permissions import scope_village_ids
from fieldlog.services.common.geo import distance_m
from fieldlog.services.org.settings import county_id_of, county_setting
from fieldlog.services.people.audit import record
from fieldlog.timefmt import local_midnight_utc, local_today

# The record tables whose located records put a cadre in the village on their day.
LOCATED_MODELS = (Visit, Meeting, Action, Goal, LedgerItem)
# What a day was, strongest evidence first; the first three are village days.
DAY_STATES = ("records", "marked", "official", "leave")
PRESENT = frozenset(("records", "marked", "official"))
LEVELS = ("township", "county")
_CHUNK = 500  # ids per IN (...) list
_M_PER_DEG = 111_320.0  # metres per degree of latitude (and of longitude at the equator)


# -- village days -------------------------------------------------------------------------------

class _Fence:
    """A village's geofence, with a cheap pre-test so geopy runs only near the edge."""

    def __init__(self, lat: float | None, lon: float | None, radius: int | None):
        self.lat, self.lon, self.radius = lat, lon, radius
        self.usable = None not in (lat, lon, radius)
        if self.usable:
            self.m_lat = _M_PER_DEG
            self.m_lon = _M_PER_DEG * math.cos(math.radians(lat))

    def contains(self, lat: float, lon: float) -> bool:
        if not self.usable:
            return False
        dy, dx = (lat - self.lat) * self.m_lat, (lon - self.lon) * self.m_lon
        rough = math.hypot(dx, dy)  # within ~0.5 % of the geodesic distance at village scale
        if rough < self.radius * 0.95:
            return True
        if rough > self.radius * 1.05:
            return False
        return distance_m(lat, lon, self.lat, self.lon) <= self.radius


def ids_in(column, ids: Iterable[int]):
    """`column IN (ids)` with the integers written into the SQL when it runs: hundreds of bound
    parameters per statement cost more to render, parse and send than a county's query takes.
    Only integers are accepted (anything else is refused when the statement is compiled)."""
    return column.in_(bindparam("ids", list(ids), expanding=True, literal_execute=True,
                                unique=True, type_=Integer()))


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    for i in range(0, len(ids), _CHUNK):
        yield ids[i:i + _CHUNK]


def _located_days(ids: list[int], start: date, end: date) -> dict[int, set[date]]:
    """Return, per author, the local days with a located record inside its village's fence."""
    # Local midnights as stored (naive UTC).
    days = list(_days(start, end))
    edges = [local_midnight_utc(day) for day in days] + [local_midnight_utc(
        end + timedelta(days=1))]
    connection = db.session.connection()
    if _sql_days_possible(connection, edges):
        return _located_days_sql(connection, ids, days, edges)
    return _located_days_python(connection, ids, days, edges)


def _located_days_python(connection, ids: list[int], days: list[date],
                         edges: list[datetime]) -> dict[int, set[date]]:
    """Read every located row and find its day by bisection: exact in any zone (daylight
    saving included), the fallback when a local day of the period is not 24 hours long."""
    low, high = edges[0], edges[-1]
    fences: dict[int, _Fence] = {}
    found: dict[int, set[date]] = defaultdict(set)
    for model in LOCATED_MODELS:
        table, units = model.__table__, OrgUnit.__table__
        for part in _chunks(ids):
            rows = connection.execute(select(
                table.c.author_id, table.c.village_id, table.c.occurred_at, table.c.lat,
                table.c.lon, units.c.lat, units.c.lon, units.c.geofence_m,
            ).join(units, units.c.id == table.c.village_id).where(
                ids_in(table.c.author_id, part), table.c.occurred_at >= low,
                table.c.occurred_at < high, table.c.lat.is_not(None), table.c.lon.is_not(None)))
            for author_id, village_id, occurred_at, lat, lon, *fence in rows:
                day = days[bisect_right(edges, occurred_at) - 1]
                seen = found[author_id]
                if day in seen:
                    continue
                if village_id not in fences:
                    fences[village_id] = _Fence(*fence)
                if fences[village_id].contains(lat, lon):
                    seen.add(day)
    return found


# The database groups the period's located rows to one per (author, local day) holding the
# smallest (distance / fence radius)², by the equirectangular approximation `_Fence` pre-tests
# with. Below _SURE_IN the nearest record is inside for `_Fence.contains` too, above _SURE_OUT
# every record is outside; the 0.001 margin swallows any rounding difference between the
# database's arithmetic and Python's. Only the rare pairs in between — a record near the edge —
# have their rows read and tested exactly, so the answer is the Python path's to the record.
_SURE_IN, _SURE_OUT = (0.95 - 0.001) ** 2, (1.05 + 0.001) ** 2
_EPOCH = datetime(1970, 1, 1)


@cache
def _sqlite_has_math() -> bool:
    """Whether this SQLite was built with its math functions (cos)."""
    try:
        sqlite3.connect(":memory:").execute("SELECT cos(0)").close()
    except sqlite3.Error:
        return False
    return True


def _sql_days_possible(connection, edges: list[datetime]) -> bool:
    """The day of a record is a whole number of days since the first midnight only when every
    local day of the period lasts exactly 24 h (no daylight-saving change) on whole seconds."""
    if connection.dialect.name == "sqlite" and not _sqlite_has_math():
        return False
    if connection.dialect.name not in ("postgresql", "sqlite"):
        return False
    return edges[0].microsecond == 0 and all(
        later - earlier == timedelta(days=1) for earlier, later in pairwise(edges))


def _day_index(connection, column, low: datetime):
    """SQL for the whole days from `low` (a local midnight, naive UTC) to `column`; exact."""
    if connection.dialect.name == "postgresql":
        # timestamp - timestamp is an interval of whole days and a time under 24 h; its day
        # field is the answer (and cheaper than dividing the numeric epoch of the interval).
        return cast(func.date_part("day", column - literal(low, DateTime())), Integer)
    # SQLite stores 'YYYY-MM-DD HH:MM:SS.ffffff'; strftime would round the fraction to the
    # millisecond (23:59:59.9996 into the next day), so it is cut: midnights are whole seconds.
    seconds = cast(func.strftime("%s", func.substr(column, 1, 19)), Integer)
    return (seconds - int((low - _EPOCH).total_seconds())) // 86400


def _ratio(table, units):
    """SQL for (distance to the village centre / fence radius)², NULL without a fence; a fence
    of radius 0 or less gives 1 (undecided: the exact test settles it)."""
    dy = (table.c.lat - units.c.lat) * _M_PER_DEG
    dx = (table.c.lon - units.c.lon) * _M_PER_DEG * func.cos(units.c.lat * (math.pi / 180))
    radius = cast(units.c.geofence_m, Float)
    return case((units.c.geofence_m > 0, (dx * dx + dy * dy) / (radius * radius)),
                (units.c.geofence_m.is_not(None), 1.0), else_=None)


def _located_rows(connection, part: list[int], low: datetime, high: datetime, *columns):
    """Union of the located rows of `part`'s authors in [low, high) over every record table:
    (author_id, day, ratio) and the further `columns` named of each table/units pair."""
    units = OrgUnit.__table__
    selects = []
    for model in LOCATED_MODELS:
        table = model.__table__
        selects.append(select(
            table.c.author_id.label("author_id"),
            _day_index(connection, table.c.occurred_at, low).label("day"),
            _ratio(table, units).label("ratio"),
            *(make(table, units).label(name) for name, make in columns),
        ).join(units, units.c.id == table.c.village_id).where(
            ids_in(table.c.author_id, part), table.c.occurred_at >= low, table.c.occurred_at < high,
            table.c.lat.is_not(None), table.c.lon.is_not(None)))
    return union_all(*selects).subquery("located")


def _located_days_sql(connection, ids: list[int], days: list[date],
                      edges: list[datetime]) -> dict[int, set[date]]:
    """The same days as `_located_days_python`, grouped by the database: one statement."""
    low, high = edges[0], edges[-1]
    found: dict[int, set[date]] = defaultdict(set)
    undecided: set[tuple[int, int]] = set()
    for part in _chunks(ids):
        rows = _located_rows(connection, part, low, high)
        per_day = (select(rows.c.author_id, rows.c.day, func.min(rows.c.ratio).label("nearest"))
                   .group_by(rows.c.author_id, rows.c.day)
                   .having(func.min(rows.c.ratio) <= _SURE_OUT).subquery("per_day"))
        day = cast(per_day.c.day, String)
        # One row per author, their days listed: a county's month is 300 rows, not 9,000.
        for author_id, inside, near_edge in connection.execute(select(
                per_day.c.author_id,
                func.aggregate_strings(case((per_day.c.nearest < _SURE_IN, day)), ","),
                func.aggregate_strings(case((per_day.c.nearest >= _SURE_IN, day)), ","),
        ).group_by(per_day.c.author_id)):
            found[author_id].update(days[int(n)] for n in (inside or "").split(",") if n)
            undecided.update((author_id, int(n)) for n in (near_edge or "").split(",") if n)
    if not undecided:
        return found
    fences: dict[int, _Fence] = {}
    authors = sorted({author_id for author_id, _day in undecided})
    extra = (("village_id", lambda t, u: t.c.village_id), ("lat", lambda t, u: t.c.lat),
             ("lon", lambda t, u: t.c.lon), ("fence_lat", lambda t, u: u.c.lat),
             ("fence_lon", lambda t, u: u.c.lon), ("radius", lambda t, u: u.c.geofence_m))
    for part in _chunks(authors):
        rows = _located_rows(connection, part, low, high, *extra)
        near_edge = select(*(c for c in rows.c if c.name != "ratio")).where(
            rows.c.ratio >= _SURE_IN, rows.c.ratio <= _SURE_OUT)
        for author_id, day, village_id, lat, lon, *fence in connection.execute(near_edge):
            day = int(day)
            if (author_id, day) not in undecided or days[day] in found[author_id]:
                continue
            if village_id not in fences:
                fences[village_id] = _Fence(*fence)
            if fences[village_id].contains(lat, lon):
                found[author_id].add(days[day])
    return found


def _approved_leaves(ids: list[int], start: date, end: date) -> list[LeaveRequest]:
    leaves: list[LeaveRequest] = []
    for part in _chunks(ids):
        leaves += db.session.scalars(select(LeaveRequest).where(
            ids_in(LeaveRequest.author_id, part), LeaveRequest.state == "approved",
            LeaveRequest.start_date <= end, LeaveRequest.end_date >= start))
    return leaves


def _days(first: date, last: date) -> Iterable[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def village_days(user_ids: Iterable[int], start: date, end: date) -> dict[int, dict[date, str]]:
    """Map each user to {day: "records" | "marked" | "official" | "leave"} for start..end.

    Days with nothing are left out. A few bulk queries cover every user and table, so a county
    of hundreds of cadres over a quarter costs the same handful of round trips.
    """
    ids = sorted(set(user_ids))
    result: dict[int, dict[date, str]] = {uid: {} for uid in ids}
    if not ids or end < start:
        return result
    for leave in _approved_leaves(ids, start, end):
        for day in _days(max(leave.start_date, start), min(leave.end_date, end)):
            result[leave.author_id][day] = "leave"
    for part in _chunks(ids):
        for author_id, day, kind in db.session.execute(select(
                DayMark.author_id, DayMark.day, DayMark.kind).where(
                ids_in(DayMark.author_id, part), DayMark.day >= start, DayMark.day <= end)):
            result[author_id][day] = "official" if kind == "official" else "marked"
    for author_id, days in _located_days(ids, start, end).items():
        for day in days:
            result[author_id][day] = "records"
    return result


def leave_days_taken(user_ids: Iterable[int], start: date, end: date) -> dict[int, int]:
    """Return, per user, the days of approved leave falling inside start..end."""
    ids = sorted(set(user_ids))
    taken = dict.fromkeys(ids, 0)
    for leave in _approved_leaves(ids, start, end):
        taken[leave.author_id] += (min(leave.end_date, end) - max(leave.start_date, start)).days + 1
    return taken


# -- the one rule of the threshold ------------------------------------------------------------

def months_between(start: date, end: date) -> float:
    """Return how many months [start, end] spans, counting part months by their days."""
    total, day = 0.0, start
    while day <= end:
        last = date(day.year, day.month, calendar.monthrange(day.year, day.month)[1])
        stop = min(last, end)
        total += ((stop - day).days + 1) / last.day
        day = stop + timedelta(days=1)
    return total


def _half_up(value: float) -> int:
    return math.floor(value + 0.5 + 1e-9)


class DaysTarget(NamedTuple):
    """The village days asked of a cadre over a period (see `days_target`)."""

    required: int  # for the whole period
    expected: int  # by today: pro rata while the period runs, `required` once it is over
    running: bool  # the period holds today: figures and grades are provisional


def days_target(per_month: int, start: date, end: date, today: date) -> DaysTarget:
    """Return the days required of [start, end] and the days expected by `today`.

    The one rule every page states: the county's days a month, times the months of the period
    (part months by their days). While the period runs (today inside it, today counted as
    gone) the threshold is pro rata to the days gone: threshold × days gone ÷ days of the
    period, per month, rounded to the nearest whole day (halves up). On the 3rd of a 30-day
    month with 20 days a month: 20 × 3 ÷ 30 = 2. A period over asks the whole threshold.
    """
    required = _half_up(per_month * months_between(start, end))
    if today < start:
        return DaysTarget(required, 0, False)
    if today >= end:
        return DaysTarget(required, required, today == end)
    return DaysTarget(required, min(required, _half_up(per_month * months_between(start, today))),
                      True)


@dataclass
class MonthFigures:
    """One cadre's month: each day's state and the counts shown against the threshold."""

    year: int
    month: int
    days: dict[date, str]
    threshold: int  # for the whole month
    leave_taken: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    expected: int = 0  # by today (see days_target)
    running: bool = False

    @property
    def village_days(self) -> int:
        return sum(self.counts.get(state, 0) for state in PRESENT)

    @property
    def below(self) -> bool:
        return self.village_days < self.expected

    @property
    def first(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last(self) -> date:
        return date(self.year, self.month, calendar.monthrange(self.year, self.month)[1])


def month_bounds(year: int, month: int) -> tuple[date, date]:
    """Return the first and last day of a month."""
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def _figures(year: int, month: int, days: dict[date, str], threshold: int,
             leave_taken: int) -> MonthFigures:
    counts = {state: 0 for state in DAY_STATES}
    for state in days.values():
        counts[state] += 1
    target = days_target(threshold, *month_bounds(year, month), local_today())
    return MonthFigures(year, month, days, target.required, leave_taken, counts,
                        target.expected, target.running)


def threshold_for(unit: OrgUnit) -> int:
    """Return the county's village days required per month."""
    return int(county_setting(unit, "attendance_days_per_month"))


def month_summary(user: User, year: int, month: int) -> MonthFigures:
    """Return one cadre's month of village days, marks, 报备 and leave."""
    first, last = month_bounds(year, month)
    days = village_days([user.id], first, last)[user.id]
    # Leave taken so far, as every page counts it (a running month is cut at today).
    taken = leave_days_taken([user.id], first, min(last, local_today()))[user.id]
    return _figures(year, month, days, threshold_for(user.scope_unit), taken)


def month_table(viewer: User, year: int, month: int) -> list[tuple[User, MonthFigures]]:
    """Return every secretary in the viewer's scope with their month, by village and name."""
    cadres = list(db.session.scalars(
        select(User).join(OrgUnit, User.scope_unit_id == OrgUnit.id)
        .where(User.role == "secretary", User.active.is_(True),
               User.scope_unit_id.in_(scope_village_ids(viewer)))
        .order_by(OrgUnit.path, User.display_name)))
    first, last = month_bounds(year, month)
    ids = [c.id for c in cadres]
    days = village_days(ids, first, last)
    taken = leave_days_taken(ids, first, min(last, local_today()))
    threshold = threshold_for(viewer.scope_unit)
    return [(c, _figures(year, month, days[c.id], threshold, taken[c.id])) for c in cadres]


def marks_between(user: User, start: date, end: date) -> list[DayMark]:
    """Return the user's day marks in start..end."""
    return list(db.session.scalars(select(DayMark).where(
        DayMark.author_id == user.id, DayMark.day >= start, DayMark.day <= end)
        .order_by(DayMark.day)))


# -- leave ----------------------------------------------------------------------------------------

def chain_of(leave: LeaveRequest) -> list[str]:
    """Return the approval chain fixed on the request."""
    try:
        chain = json.loads(leave.chain or "[]")
    except ValueError:
        return []
    return [str(level) for level in chain] if isinstance(chain, list) else []


def approver_level(user: User) -> str | None:
    """Return the level a user approves at: a supervisor of a township or of a county."""
    if user.role != "supervisor" or user.scope_unit.kind not in LEVELS:
        return None
    return user.scope_unit.kind


def my_leaves(user: User) -> list[LeaveRequest]:
    """Return the user's leave requests, newest first."""
    return list(db.session.scalars(select(LeaveRequest).where(LeaveRequest.author_id == user.id)
                                   .order_by(LeaveRequest.start_date.desc(),
                                             LeaveRequest.received_at.desc())))


def decisions_for(leave_ids: Iterable[str]) -> dict[str, list[LeaveDecision]]:
    """Return the decisions of each request, in step order."""
    ids = list(leave_ids)
    found: dict[str, list[LeaveDecision]] = defaultdict(list)
    if ids:
        for decision in db.session.scalars(select(LeaveDecision).where(
                LeaveDecision.leave_id.in_(ids)).order_by(LeaveDecision.step,
                                                          LeaveDecision.id)):
            found[decision.leave_id].append(decision)
    return found


def pending_approvals(approver: User) -> list[LeaveRequest]:
    """Return the pending requests in the approver's scope whose next step is their level."""
    level = approver_level(approver)
    if level is None:
        return []
    pending = db.session.scalars(select(LeaveRequest).where(
        LeaveRequest.state == "pending", LeaveRequest.village_id.in_(scope_village_ids(approver)))
        .order_by(LeaveRequest.start_date, LeaveRequest.received_at))
    return [leave for leave in pending if _next_level(leave) == level]


def recent_decisions(approver: User, limit: int = 30) -> list[tuple[LeaveDecision, LeaveRequest]]:
    """Return the latest decisions on requests in the approver's scope."""
    return list(db.session.execute(
        select(LeaveDecision, LeaveRequest).join(LeaveRequest,
                                                 LeaveDecision.leave_id == LeaveRequest.id)
        .where(LeaveRequest.village_id.in_(scope_village_ids(approver)))
        .order_by(LeaveDecision.decided_at.desc(), LeaveDecision.id.desc()).limit(limit)))


def _next_level(leave: LeaveRequest) -> str | None:
    chain = chain_of(leave)
    return chain[leave.step] if 0 <= leave.step < len(chain) else None


def decide(approver: User, leave_id: str, decision: str, comment: str) -> LeaveRequest:
    """Record an approver's decision on the current step of a request; commit.

    NotFound outside the approver's scope; Forbidden when it is not their level's turn;
    Conflict when the request is no longer pending; Invalid for a rejection without a comment.
    """
    comment = (comment or "").strip()
    leave = db.session.get(LeaveRequest, str(leave_id)) if _is_uuid(leave_id) else None
    in_scope = leave is not None and db.session.scalar(
        select(OrgUnit.id).where(OrgUnit.id == leave.village_id,
                                 OrgUnit.id.in_(scope_village_ids(approver))))
    if not in_scope:
        raise NotFound("No such leave request in your scope.")
    if decision not in ("approved", "rejected"):
        raise Invalid("Choose approve or reject.", fields={"decision": ["Unknown decision."]})
    if decision == "rejected" and not comment:
        raise Invalid("Say why the request is rejected.", fields={"comment": ["Required."]})
    if len(comment) > 2000:
        raise Invalid("The comment is too long.", fields={"comment": ["Too long."]})
    if leave.state != "pending":
        raise Conflict("This request has already been decided or withdrawn.")
    level = approver_level(approver)
    if level is None or _next_level(leave) != level:
        raise Forbidden("This request is waiting for another level's approval.")
    step, chain, now = leave.step, chain_of(leave), utcnow()
    final = decision == "rejected" or step + 1 >= len(chain)
    values = {"step": step if final else step + 1}
    if final:
        values.update(state=decision, decided_at=now)
    # Only the step that was read may move on: two approvers at once cannot both act.
    moved = db.session.execute(update(LeaveRequest).where(
        LeaveRequest.id == leave.id, LeaveRequest.state == "pending",
        LeaveRequest.step == step).values(**values).execution_options(synchronize_session=False))
    if moved.rowcount != 1:
        db.session.rollback()
        raise Conflict("Someone else acted on this request at the same moment.")
    db.session.add(LeaveDecision(leave_id=leave.id, step=step, level=level,
                                 approver_id=approver.id, decision=decision, comment=comment,
                                 decided_at=now))
    record("leave.approve" if decision == "approved" else "leave.reject", actor=approver,
           object_type="leave", object_id=leave.id,
           details={"step": step, "level": level, "final": final, "comment": comment,
                    "author_id": leave.author_id, "days": leave.days})
    db.session.commit()
    db.session.refresh(leave)
    return leave


def _is_uuid(value) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


# -- settings --------------------------------------------------------------------------------------

def parse_chain(rows: list[tuple[str, str]]) -> list[dict]:
    """Validate (level, from_days) rows from a form into a leave chain; raise Invalid."""
    chain, last = [], 0
    for level, from_days in rows:
        level, from_days = (level or "").strip(), (from_days or "").strip()
        if not level and not from_days:
            continue
        if level not in LEVELS:
            raise Invalid("Each step's level must be township or county.",
                          fields={"chain": ["Unknown level."]})
        if not from_days.isdigit() or int(from_days) < 1:
            raise Invalid("Each step applies from a whole number of days, at least 1.",
                          fields={"chain": ["Bad number of days."]})
        if int(from_days) <= last:
            raise Invalid("Each step must start from more days than the step before it.",
                          fields={"chain": ["Not increasing."]})
        last = int(from_days)
        chain.append({"level": level, "from_days": last})
    if not chain:
        raise Invalid("The chain needs at least one step.", fields={"chain": ["Empty."]})
    return chain


def county_of(user: User) -> OrgUnit:
    """Return the county a user belongs to."""
    return db.session.get(OrgUnit, county_id_of(user.scope_unit))
