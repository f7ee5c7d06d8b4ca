"""Village days: what each day of a period was for a cadre, from their records and their marks.

A day counts as present in the village when the cadre's own located records that (county-local)
day lie inside the village's geofence, or when the cadre marked it present; a day away on
reported official business (报备) counts too. Approved leave is leave. Nothing is ever asked of
the cadre just to be counted: their ordinary records already say where they were. This module
owns that computation (the geofence, the grouped SQL and the row-by-row Python paths), the day
marks read back, and the approved leave days taken; the month against the threshold is
`monthly`, leave requests and their approval are `leave`.
"""
import math
import sqlite3
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from functools import cache
from itertools import pairwise

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
)

from fieldlog.extensions import db
from fieldlog.models import (
    Action,
    DayMark,
    Goal,
    LeaveRequest,
    LedgerItem,
    Meeting,
    OrgUnit,
    User,
    Visit,
)
from fieldlog.services.org.fence import Fence
from fieldlog.timefmt import local_midnight_utc

# The record tables whose located records put a cadre in the village on their day.
LOCATED_MODELS = (Visit, Meeting, Action, Goal, LedgerItem)
# What a day was, strongest evidence first; the first three are village days.
DAY_STATES = ("records", "marked", "official", "leave")
PRESENT = frozenset(("records", "marked", "official"))
_CHUNK = 500  # ids per IN (...) list
_M_PER_DEG = 111_320.0  # metres per degree of latitude (and of longitude at the equator)


# -- village days -------------------------------------------------------------------------------

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
    fences: dict[int, Fence] = {}
    found: dict[int, set[date]] = defaultdict(set)
    for model in LOCATED_MODELS:
        table, units = model.__table__, OrgUnit.__table__
        for part in _chunks(ids):
            rows = connection.execute(select(
                table.c.author_id, table.c.village_id, table.c.occurred_at, table.c.lat,
                table.c.lon, units.c.lat, units.c.lon, units.c.geofence_m, units.c.boundary,
            ).join(units, units.c.id == table.c.village_id).where(
                ids_in(table.c.author_id, part), table.c.occurred_at >= low,
                table.c.occurred_at < high, table.c.lat.is_not(None), table.c.lon.is_not(None)))
            for author_id, village_id, occurred_at, lat, lon, *fence in rows:
                day = days[bisect_right(edges, occurred_at) - 1]
                seen = found[author_id]
                if day in seen:
                    continue
                if village_id not in fences:
                    fences[village_id] = Fence(*fence)
                if fences[village_id].contains(lat, lon):
                    seen.add(day)
    return found


# The database groups the period's located rows to one per (author, local day) holding the
# smallest (distance / fence radius)², by the equirectangular approximation `Fence` pre-tests
# with. Below _SURE_IN the nearest record is inside for `Fence.contains` too, above _SURE_OUT
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
    of radius 0 or less gives 1 (undecided: the exact test settles it). A village with a
    boundary: outside its bounding box is surely out (4), inside it undecided (1): the exact
    point-in-polygon test runs in Python on those rows only."""
    dy = (table.c.lat - units.c.lat) * _M_PER_DEG
    dx = (table.c.lon - units.c.lon) * _M_PER_DEG * func.cos(units.c.lat * (math.pi / 180))
    radius = cast(units.c.geofence_m, Float)
    in_box = ((table.c.lat >= units.c.bbox_min_lat) & (table.c.lat <= units.c.bbox_max_lat)
              & (table.c.lon >= units.c.bbox_min_lon) & (table.c.lon <= units.c.bbox_max_lon))
    has_boundary = units.c.bbox_min_lat.is_not(None)
    return case((has_boundary & in_box, 1.0), (has_boundary, 4.0),
                (units.c.geofence_m > 0, (dx * dx + dy * dy) / (radius * radius)),
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
    fences: dict[int, Fence] = {}
    authors = sorted({author_id for author_id, _day in undecided})
    extra = (("village_id", lambda t, u: t.c.village_id), ("lat", lambda t, u: t.c.lat),
             ("lon", lambda t, u: t.c.lon), ("fence_lat", lambda t, u: u.c.lat),
             ("fence_lon", lambda t, u: u.c.lon), ("radius", lambda t, u: u.c.geofence_m),
             ("boundary", lambda t, u: u.c.boundary))
    for part in _chunks(authors):
        rows = _located_rows(connection, part, low, high, *extra)
        near_edge = select(*(c for c in rows.c if c.name != "ratio")).where(
            rows.c.ratio >= _SURE_IN, rows.c.ratio <= _SURE_OUT)
        for author_id, day, village_id, lat, lon, *fence in connection.execute(near_edge):
            day = int(day)
            if (author_id, day) not in undecided or days[day] in found[author_id]:
                continue
            if village_id not in fences:
                fences[village_id] = Fence(*fence)
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


def marks_between(user: User, start: date, end: date) -> list[DayMark]:
    """Return the user's day marks in start..end."""
    return list(db.session.scalars(select(DayMark).where(
        DayMark.author_id == user.id, DayMark.day >= start, DayMark.day <= end)
        .order_by(DayMark.day)))
