"""Progress of each cadre over a period: days in the village, visits, coverage, six-one, meetings,
ledger, leave and returned records — for a whole county in a few grouped queries.

Every figure is one `GROUP BY` over the period (never a query per cadre), so a county of 300
cadres and a million visits gives its table in a few hundred milliseconds. Records count where
they were made: only villages of the cadres asked about (the viewer's scope) are read.
"""
import re
from calendar import monthrange
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_skeleton
from flask import current_app
from flask_babel import get_locale, get_timezone
from flask_babel import gettext as _
from sqlalchemy import and_, case, func, literal, or_, select, text, union_all

from fieldlog.domain import SANHU, SANLAO, record_title
from fieldlog.errors import Invalid, NotFound
from fieldlog.extensions import db
from fieldlog.models import (
    Action,
    Assignment,
    Household,
    HouseholdTag,
    LedgerEvent,
    LedgerItem,
    Meeting,
    OrgUnit,
    ReviewDecision,
    User,
    Visit,
)
from fieldlog.models.records import ACTION_STATES, ACTION_TYPES, MEETING_TYPES
from fieldlog.permissions import scope_village_ids, unit_in_scope
from fieldlog.services.attendance.days import ids_in
from fieldlog.services.attendance.monthly import days_target
from fieldlog.services.common.parallel import run_side_by_side
from fieldlog.services.org.settings import county_setting
from fieldlog.timefmt import local_midnight_utc, local_today

PERIOD_KINDS = ("month", "quarter", "year", "term")
LEDGER_CLOSED = ("resolved", "feedback")  # the ledger states of a closed item
# The kinds of attendance day that count as a day in the village (leave does not).
VILLAGE_DAY_KINDS = ("records", "marked", "official")
# Record tables a reviewer may return, by the record_type their decisions name.
REVIEWED = {"visit": Visit, "meeting": Meeting, "action": Action, "ledger_item": LedgerItem}
# Up to this many cadres, returned records are found from each cadre's records (see _returned).
_FEW_CADRES = 25
_MONTH, _QUARTER, _YEAR = (re.compile(p) for p in
                           (r"^(\d{4})-(\d{2})$", r"^(\d{4})-Q([1-4])$", r"^(\d{4})$"))


@dataclass(frozen=True)
class Period:
    """A month ("2026-11"), quarter ("2026-Q4"), year ("2026") or each cadre's term ("term").

    `start` and `end` are local dates, both inclusive; a term has none (each cadre's own).
    """

    kind: str
    key: str
    start: date | None = None
    end: date | None = None

    @classmethod
    def parse(cls, text: str | None, today: date | None = None) -> "Period":
        """Read a period key; an empty one is the current month. Raise Invalid when malformed."""
        text = (text or "").strip()
        if not text:
            today = today or local_today()
            return cls.month(today.year, today.month)
        if text == "term":
            return cls("term", "term")
        if m := _MONTH.match(text):
            year, month = int(m[1]), int(m[2])
            if 1 <= month <= 12 and year >= 2000:
                return cls.month(year, month)
        elif m := _QUARTER.match(text):
            if int(m[1]) >= 2000:
                year, quarter = int(m[1]), int(m[2])
                first = date(year, 3 * quarter - 2, 1)
                last = 3 * quarter
                return cls("quarter", f"{year}-Q{quarter}", first,
                           date(year, last, monthrange(year, last)[1]))
        elif (m := _YEAR.match(text)) and int(m[1]) >= 2000:
            year = int(m[1])
            return cls("year", str(year), date(year, 1, 1), date(year, 12, 31))
        raise Invalid(_("A period is written 2026-11 (month), 2026-Q4 (quarter), 2026 (year) "
                        "or term."), fields={"period": "malformed"})

    @classmethod
    def month(cls, year: int, month: int) -> "Period":
        return cls("month", f"{year}-{month:02d}", date(year, month, 1),
                   date(year, month, monthrange(year, month)[1]))

    @classmethod
    def around(cls, kind: str, today: date) -> "Period":
        """Return the period of `kind` that holds `today`."""
        if kind == "quarter":
            return cls.parse(f"{today.year}-Q{(today.month - 1) // 3 + 1}")
        if kind == "year":
            return cls.parse(str(today.year))
        if kind == "term":
            return cls("term", "term")
        return cls.month(today.year, today.month)

    def shifted(self, steps: int) -> "Period":
        """Return the period `steps` before (negative) or after this one; a term stays."""
        if self.kind == "month":
            n = self.start.year * 12 + self.start.month - 1 + steps
            return Period.month(n // 12, n % 12 + 1)
        if self.kind == "quarter":
            n = self.start.year * 4 + (self.start.month - 1) // 3 + steps
            return Period.parse(f"{n // 4}-Q{n % 4 + 1}")
        if self.kind == "year":
            return Period.parse(str(self.start.year + steps))
        return self

    @property
    def label(self) -> str:
        if self.kind == "month":
            return format_skeleton("yMMMM", self.start, locale=get_locale())
        if self.kind == "quarter":
            return _("Q%(q)s %(y)s", q=(self.start.month - 1) // 3 + 1, y=self.start.year)
        if self.kind == "year":
            return _("Year %(y)s", y=self.start.year)
        return _("Term to date")

    def bounds_utc(self) -> tuple[datetime, datetime]:
        """Return [start, end) in stored naive UTC: local midnights of the first and next day."""
        return utc_bounds(self.start, self.end)


def utc_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """Return the naive-UTC instants of local midnight on `start` and on the day after `end`."""
    return local_midnight_utc(start), local_midnight_utc(end + timedelta(days=1))


@dataclass
class CadreFigures:
    """Everything the progress table and a cadre's page show for one cadre and one period."""

    user_id: int
    name: str
    village_id: int
    village: str
    township_id: int | None
    township: str
    start: date  # the local window counted (a running period is cut at today)
    end: date
    days_in_village: int = 0
    days_required: int = 0  # the threshold for the whole period
    days_expected: int = 0  # the threshold pro rata to the days already gone (days_target)
    running: bool = False  # the period holds today: every figure is so far, grades provisional
    visits: dict[str, int] = field(default_factory=lambda: dict.fromkeys(
        ("total", "sanlao", "sanhu", "other"), 0))
    # key → [visited, households] for "all", "sanlao", "sanhu"
    coverage: dict[str, list[int]] = field(default_factory=lambda: {
        k: [0, 0] for k in ("all", "sanlao", "sanhu")})
    actions: dict[str, dict[str, int]] = field(default_factory=lambda: {
        t: dict.fromkeys(ACTION_STATES, 0) for t in ACTION_TYPES})
    meetings: dict[str, int] = field(default_factory=lambda: dict.fromkeys(MEETING_TYPES, 0))
    ledger_opened: int = 0
    ledger_resolved: int = 0
    ledger_overdue: int = 0
    leave_days: int = 0
    returned: int = 0
    day_kinds: dict[date, str] = field(default_factory=dict)
    # Six-one is a term's obligation: each typed action's furthest state by the window's end,
    # and 走访一遍农户 as [households visited since the term began, households of the village].
    six_one: dict[str, str | None] = field(default_factory=lambda: dict.fromkeys(ACTION_TYPES))
    visit_all: list[int] = field(default_factory=lambda: [0, 0])

    @property
    def below_threshold(self) -> bool:
        return self.days_in_village < self.days_expected

    @property
    def meetings_total(self) -> int:
        return sum(self.meetings.values())

    def coverage_percent(self, key: str = "all") -> int:
        visited, total = self.coverage[key]
        return round(100 * visited / total) if total else 0

    @property
    def visit_all_done(self) -> bool:
        """走访一遍农户: every household of the village visited since the term began."""
        visited, total = self.visit_all
        return total > 0 and visited >= total

    @property
    def visit_all_percent(self) -> int:
        visited, total = self.visit_all
        return round(100 * visited / total) if total else 0

    @property
    def six_one_done(self) -> int:
        """How many of the six are done in the term by the window's end (see docs/figures.md)."""
        return self.visit_all_done + sum(1 for t in ACTION_TYPES if self.six_one[t] == "done")


# --- who and when ------------------------------------------------------------------------------

def _cadres(user_ids: list[int]) -> list[CadreFigures]:
    """Return an empty figures row per cadre, with their village and township names."""
    village, township = OrgUnit.__table__.alias("v"), OrgUnit.__table__.alias("t")
    rows = db.session.execute(
        select(User.id, User.display_name, village.c.id, village.c.name, township.c.id,
               township.c.name)
        .join(village, village.c.id == User.scope_unit_id)
        .outerjoin(township, township.c.id == village.c.parent_id)
        .where(ids_in(User.id, user_ids)).order_by(User.id))
    today = local_today()
    return [CadreFigures(uid, name, vid, vname, tid, tname or "", today, today)
            for uid, name, vid, vname, tid, tname in rows]


def _terms(user_ids: list[int], today: date) -> dict[int, tuple[date, date]]:
    """Return each cadre's running (else latest) assignment as a local [start, end]."""
    terms: dict[int, tuple[date, date]] = {}
    for uid, start, end in db.session.execute(
            select(Assignment.user_id, Assignment.start_date, Assignment.end_date)
            .where(ids_in(Assignment.user_id, user_ids), Assignment.start_date <= today)
            .order_by(Assignment.user_id, Assignment.start_date)):
        terms[uid] = (start, min(end or today, today))
    return terms


def _windows(cadres: list[CadreFigures], period: Period,
             today: date) -> dict[tuple[date, date], list[CadreFigures]]:
    """Group cadres by the local window they are counted over (one for a calendar period)."""
    groups: dict[tuple[date, date], list[CadreFigures]] = defaultdict(list)
    thresholds = _Thresholds({c.village_id for c in cadres})
    terms = _terms([c.user_id for c in cadres], today) if period.kind == "term" else {}
    for cadre in cadres:
        if period.kind == "term":
            start, end = terms.get(cadre.user_id, (today.replace(day=1), today))
            whole = (start, end)
        else:
            start, end = period.start, min(period.end, max(today, period.start))
            whole = (period.start, period.end)
        cadre.start, cadre.end = start, max(start, end)
        target = days_target(thresholds(cadre.village_id), *whole, today)
        cadre.days_required, cadre.days_expected = target.required, target.expected
        cadre.running = target.running
        groups[(cadre.start, cadre.end)].append(cadre)
    return groups


class _Thresholds(dict):
    """Days a month in the village each county asks, read once per county."""

    def __init__(self, village_ids: set[int]):
        super().__init__()
        self.county_of = {vid: path.strip("/").split("/")[0] for vid, path in db.session.execute(
            select(OrgUnit.id, OrgUnit.path).where(ids_in(OrgUnit.id, village_ids)))}

    def __call__(self, village_id: int) -> int:
        county = self.county_of[village_id]
        if county not in self:
            unit = db.session.get(OrgUnit, int(county))
            self[county] = int(county_setting(unit, "attendance_days_per_month"))
        return self[county]


# --- the figures -------------------------------------------------------------------------------

# Grouping a quarter's visits per household needs more than the 4 MB default to stay in memory,
# and JIT compiling these short reports costs more (~0.5 s) than it saves. LOCAL: both end with
# the transaction (the request's).
_REPORT_SETTINGS = ("SET LOCAL work_mem = '32MB'", "SET LOCAL jit = off")


def cadre_figures(user_ids, period: Period, *, today: date | None = None,
                  with_days: bool = False) -> dict[int, CadreFigures]:
    """Compute every cadre's figures for `period` in grouped queries; key by user id.

    `with_days` keeps each village day's kind (for a calendar) on the figures.
    """
    user_ids = sorted(set(user_ids))
    if not user_ids:
        return {}
    today = today or local_today()
    if db.engine.dialect.name == "postgresql":
        for statement in _REPORT_SETTINGS:
            db.session.execute(text(statement))
    cadres = _cadres(user_ids)
    for (start, end), group in _windows(cadres, period, today).items():
        _fill(group, start, end, today, with_days)
    return {c.user_id: c for c in cadres}


def _fill(cadres: list[CadreFigures], start: date, end: date, today: date,
          with_days: bool) -> None:
    """Fill the figures of cadres counted over the same local window.

    The three heavy statements (visits, households, village days) run side by side on
    PostgreSQL for a county-sized group; the light ones run here meanwhile.
    """
    by_id = {c.user_id: c for c in cadres}
    ids, villages = list(by_id), sorted({c.village_id for c in cadres})
    lo, hi = utc_bounds(start, end)

    def light() -> None:
        for uid, kind, state, n in db.session.execute(
                select(Action.author_id, Action.action_type, Action.state, func.count())
                .where(ids_in(Action.author_id, ids), ids_in(Action.village_id, villages),
                       Action.occurred_at >= lo, Action.occurred_at < hi)
                .group_by(Action.author_id, Action.action_type, Action.state)):
            by_id[uid].actions.setdefault(kind, {}).setdefault(state, 0)
            by_id[uid].actions[kind][state] += n
        for uid, kind, n in db.session.execute(
                select(Meeting.author_id, Meeting.meeting_type, func.count())
                .where(ids_in(Meeting.author_id, ids), ids_in(Meeting.village_id, villages),
                       Meeting.occurred_at >= lo, Meeting.occurred_at < hi)
                .group_by(Meeting.author_id, Meeting.meeting_type)):
            by_id[uid].meetings[kind] = by_id[uid].meetings.get(kind, 0) + n
        _ledger(by_id, villages, lo, hi, min(end, today))
        _leave(by_id, start, end)
        _returned(by_id, villages, lo, hi)
        _six_one(by_id, hi, end)

    visits, totals, days_of, _ = run_side_by_side(
        [lambda: _visit_counts(villages, lo, hi), lambda: _households(villages),
         lambda: village_days(ids, start, end), light],
        setup=_REPORT_SETTINGS,
        enabled=len(ids) >= current_app.config["PARALLEL_REPORT_MIN_CADRES"])
    _apply_visits(by_id, *visits, totals)
    _term_coverage(by_id, villages, min(end, today), hi, totals)
    for uid, days in days_of.items():
        by_id[uid].days_in_village = sum(1 for k in days.values() if k in VILLAGE_DAY_KINDS)
        if with_days:
            by_id[uid].day_kinds = days


def _tagged(tags: tuple[str, ...]):
    """Select the households carrying any of `tags` (the database hashes it once per statement,
    so testing a household against it costs one lookup)."""
    return select(HouseholdTag.household_id).where(HouseholdTag.tag.in_(tags))


def _flags(household):
    """Return (三老, 三户, neither) as 1/0 SQL expressions for a household id column."""
    return (case((household.in_(_tagged(SANLAO)), 1), else_=0),
            case((household.in_(_tagged(SANHU)), 1), else_=0),
            case((household.in_(_tagged(SANLAO + SANHU)), 0), else_=1))


def _visit_counts(villages: list[int], lo: datetime, hi: datetime) -> tuple[dict, dict]:
    """Count visits by author and category, and households visited per village (where the visit
    was made): one statement of two grouped passes over the period's visits."""
    in_period = (ids_in(Visit.village_id, villages), Visit.occurred_at >= lo,
                 Visit.occurred_at < hi)
    sanlao, sanhu, other = _flags(Visit.household_id)
    by_author = (select(literal("a").label("k"), Visit.author_id.label("key"), func.count(),
                        func.sum(sanlao), func.sum(sanhu), func.sum(other))
                 .where(*in_period).group_by(Visit.author_id))
    pairs = (select(Visit.village_id, Visit.household_id).where(*in_period)
             .group_by(Visit.village_id, Visit.household_id).subquery("pairs"))
    sanlao, sanhu, _other = _flags(pairs.c.household_id)
    by_village = (select(literal("v"), pairs.c.village_id, func.count(), func.sum(sanlao),
                         func.sum(sanhu), literal(0))
                  .group_by(pairs.c.village_id))
    counted: dict[int, tuple] = {}
    visited: dict[int, tuple[int, int, int]] = {}
    for k, key, a, b, c, d in db.session.execute(union_all(by_author, by_village)):
        if k == "v":
            visited[key] = (a, b, c)
        else:
            counted[key] = (a, b, c, d)
    return counted, visited


def _apply_visits(by_id: dict[int, CadreFigures], counted: dict, visited: dict,
                  totals: dict[int, tuple[int, int, int]]) -> None:
    for key, (a, b, c, d) in counted.items():
        if key in by_id:
            by_id[key].visits.update(total=int(a), sanlao=int(b), sanhu=int(c), other=int(d))
    for cadre in by_id.values():
        seen = visited.get(cadre.village_id, (0, 0, 0))
        have = totals.get(cadre.village_id, (0, 0, 0))
        for key, s, h in zip(("all", "sanlao", "sanhu"), seen, have, strict=True):
            cadre.coverage[key] = [min(int(s), int(h)), int(h)]


def _six_one(by_id: dict[int, CadreFigures], hi: datetime, end: date) -> None:
    """Each typed six-one action's furthest state by `end`: one done later is under way then."""
    state = case((and_(Action.state == "done", Action.done_on > end), "under_way"),
                 else_=Action.state)
    rank = {name: n for n, name in enumerate(ACTION_STATES)}
    for uid, kind, reached in db.session.execute(
            select(Action.author_id, Action.action_type, state)
            .where(ids_in(Action.author_id, by_id), Action.occurred_at < hi)
            .group_by(Action.author_id, Action.action_type, state)):
        found = by_id[uid].six_one.get(kind)
        if reached in rank and (found is None or rank[reached] > rank[found]):
            by_id[uid].six_one[kind] = reached


def _term_coverage(by_id: dict[int, CadreFigures], villages: list[int], as_of: date,
                   hi: datetime, totals: dict[int, tuple[int, int, int]]) -> None:
    """走访一遍农户: households of the village visited since the term began, up to `hi`.

    The term start is coverage's (the running assignment, else the first visit); visits after
    the window do not count toward it.
    """
    from fieldlog.services.register.coverage import term_starts

    by_start: dict[date, list[int]] = defaultdict(list)
    for village_id, since in term_starts(villages, as_of).items():
        if since is not None:
            by_start[since].append(village_id)
    visited: dict[int, int] = {}
    for since, group in by_start.items():  # usually one term start for every village
        visited.update(db.session.execute(
            select(Visit.village_id, func.count(func.distinct(Visit.household_id)))
            .join(Household, Household.id == Visit.household_id)
            .where(ids_in(Visit.village_id, group), Household.anonymised_at.is_(None),
                   Visit.occurred_at >= local_midnight_utc(since), Visit.occurred_at < hi)
            .group_by(Visit.village_id)).all())
    for cadre in by_id.values():
        total = totals.get(cadre.village_id, (0, 0, 0))[0]
        cadre.visit_all = [min(int(visited.get(cadre.village_id, 0)), int(total)), int(total)]


def _households(villages: list[int]) -> dict[int, tuple[int, int, int]]:
    """Return (households, of them 三老, 三户) per village, anonymised households left out."""
    sanlao, sanhu, _other = _flags(Household.id)
    return {vid: (int(a), int(b or 0), int(c or 0)) for vid, a, b, c in db.session.execute(
        select(Household.village_id, func.count(), func.sum(sanlao), func.sum(sanhu))
        .where(ids_in(Household.village_id, villages), Household.anonymised_at.is_(None))
        .group_by(Household.village_id))}


def _ledger(by_id: dict[int, CadreFigures], villages: list[int], lo: datetime, hi: datetime,
            as_of: date) -> None:
    """Items raised in the window; items closed in it (closed now, by an event dated in the
    window, as every record is dated by when it happened); items still open past their due
    date."""
    ids = list(by_id)
    raised = and_(LedgerItem.occurred_at >= lo, LedgerItem.occurred_at < hi)
    overdue = and_(LedgerItem.state.in_(("open", "in_progress")), LedgerItem.due_date < as_of,
                   LedgerItem.occurred_at < hi)
    ours = (ids_in(LedgerItem.author_id, ids), ids_in(LedgerItem.village_id, villages))
    for uid, a, c in db.session.execute(
            select(LedgerItem.author_id, func.sum(case((raised, 1), else_=0)),
                   func.sum(case((overdue, 1), else_=0)))
            .where(*ours, or_(raised, overdue)).group_by(LedgerItem.author_id)):
        by_id[uid].ledger_opened, by_id[uid].ledger_overdue = int(a or 0), int(c or 0)
    for uid, n in db.session.execute(
            select(LedgerItem.author_id, func.count(func.distinct(LedgerItem.id)))
            .join(LedgerEvent, LedgerEvent.item_id == LedgerItem.id)
            .where(*ours, LedgerItem.state.in_(LEDGER_CLOSED),
                   LedgerEvent.to_state.in_(LEDGER_CLOSED), LedgerEvent.occurred_at >= lo,
                   LedgerEvent.occurred_at < hi)
            .group_by(LedgerItem.author_id)):
        by_id[uid].ledger_resolved = int(n)


def _leave(by_id: dict[int, CadreFigures], start: date, end: date) -> None:
    """Days of approved leave inside the window."""
    from fieldlog.services.attendance.days import leave_days_taken

    for uid, days in leave_days_taken(list(by_id), start, end).items():
        by_id[uid].leave_days = days


def _returned(by_id: dict[int, CadreFigures], villages: list[int], lo: datetime,
              hi: datetime) -> None:
    """Records of each cadre a reviewer returned in the window (every return counts).

    For a few cadres the planner joins from their own records (an index on the author). For a
    county, a join would read the whole record table as soon as the window holds a few thousand
    decisions; there each decision looks its record up by primary key instead (a correlated
    subquery, which the planner cannot turn into that join)."""
    correlated = len(by_id) > _FEW_CADRES
    parts = []
    for kind, model in REVIEWED.items():
        ours = (ids_in(model.author_id, by_id), ids_in(model.village_id, villages))
        decided = (ReviewDecision.record_type == kind, ReviewDecision.decision == "returned",
                   ReviewDecision.decided_at >= lo, ReviewDecision.decided_at < hi)
        if correlated:
            author = select(model.author_id).where(model.id == ReviewDecision.record_id, *ours)
            parts.append(select(author.scalar_subquery().label("author_id")).where(*decided))
        else:
            parts.append(select(model.author_id.label("author_id"))
                         .join(ReviewDecision, ReviewDecision.record_id == model.id)
                         .where(*ours, *decided))
    both = union_all(*parts).subquery()
    for uid, n in db.session.execute(select(both.c.author_id, func.count())
                                     .group_by(both.c.author_id)):
        if uid is not None:  # the correlated form's decisions on others' records
            by_id[uid].returned = n


# --- days in the village -----------------------------------------------------------------------

def village_days(user_ids: list[int], start: date, end: date) -> dict[int, dict[date, str]]:
    """Return each cadre's days: {day: "records" | "marked" | "official" | "leave"}."""
    from fieldlog.services.attendance.days import village_days as attendance_days

    return attendance_days(user_ids, start, end)


# --- the table and a cadre's page --------------------------------------------------------------

# Columns the table sorts by: key → value of a row (a CadreFigures).
SORTS = {
    "name": lambda f: f.name,
    "place": lambda f: (f.township, f.village),
    "days": lambda f: f.days_in_village,
    "visits": lambda f: f.visits["total"],
    "sanlao": lambda f: f.visits["sanlao"],
    "sanhu": lambda f: f.visits["sanhu"],
    "coverage": lambda f: f.coverage_percent("all"),
    "six_one": lambda f: f.six_one_done,
    "meetings": lambda f: f.meetings_total,
    "ledger_opened": lambda f: f.ledger_opened,
    "ledger_resolved": lambda f: f.ledger_resolved,
    "ledger_overdue": lambda f: f.ledger_overdue,
    "leave": lambda f: f.leave_days,
    "returned": lambda f: f.returned,
}


@dataclass
class TableQuery:
    """What the reader asked of the table: filters and one sort column."""

    township: int | None = None
    village: int | None = None
    below: bool = False
    q: str = ""
    sort: str = "place"
    desc: bool = False


def cadres_in_scope(viewer: User, township: int | None = None,
                    village: int | None = None) -> list[User]:
    """Return the active secretaries whose village lies in the viewer's scope (and filters)."""
    stmt = (select(User).join(OrgUnit, OrgUnit.id == User.scope_unit_id)
            .where(User.role == "secretary", User.active.is_(True),
                   User.scope_unit_id.in_(scope_village_ids(viewer))).order_by(User.id))
    if township is not None:
        stmt = stmt.where(OrgUnit.parent_id == township)
    if village is not None:
        stmt = stmt.where(OrgUnit.id == village)
    return list(db.session.scalars(stmt))


def progress_table(viewer: User, period: Period, query: TableQuery,
                   today: date | None = None) -> list[CadreFigures]:
    """Return the figures of the cadres in scope matching `query`, sorted as asked."""
    cadres = cadres_in_scope(viewer, query.township, query.village)
    if query.q:
        needle = query.q.casefold()
        cadres = [c for c in cadres if needle in c.display_name.casefold()
                  or needle in c.username.casefold()]
    rows = list(cadre_figures([c.id for c in cadres], period, today=today).values())
    rows = [r for r in rows if not query.below or r.below_threshold]
    key = SORTS.get(query.sort, SORTS["place"])
    return sorted(rows, key=lambda r: (key(r), r.name), reverse=query.desc)


def scope_places(viewer: User) -> tuple[list[OrgUnit], list[OrgUnit]]:
    """Return the townships and villages a viewer may filter by."""
    villages = list(db.session.scalars(select(OrgUnit).where(
        OrgUnit.id.in_(scope_village_ids(viewer))).order_by(OrgUnit.code)))
    townships = list(db.session.scalars(select(OrgUnit).where(
        OrgUnit.id.in_({v.parent_id for v in villages})).order_by(OrgUnit.code)))
    return townships, villages


def cadre_in_scope(viewer: User, cadre_id: int) -> User:
    """Return a secretary inside the viewer's scope, else raise NotFound."""
    cadre = db.session.get(User, cadre_id)
    if cadre is None or cadre.role != "secretary" or not viewer.is_active \
            or not unit_in_scope(viewer, cadre.scope_unit):
        raise NotFound("No such cadre in your scope.")
    return cadre


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
