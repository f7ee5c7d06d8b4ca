"""Progress of each cadre over a period: days in the village, visits, coverage, six-one, meetings,
ledger, leave and returned records — for a whole county in a few grouped queries.

This module owns the figures (`CadreFigures`), who is counted over which local window (a term is
each cadre's own, with the county's threshold of days), and `cadre_figures`, the one function
every page takes them from; the grouped queries themselves are in `figure_queries`.

Every figure is one `GROUP BY` over the period (never a query per cadre), so a county of 300
cadres and a million visits gives its table in a few hundred milliseconds. Records count where
they were made: only villages of the cadres asked about (the viewer's scope) are read.
"""
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from flask import current_app
from sqlalchemy import case, func, select, text

from fieldlog.extensions import db
from fieldlog.models import Action, Assignment, Meeting, OrgUnit, User
from fieldlog.models.records import ACTION_STATES, ACTION_TYPES, MEETING_TYPES
from fieldlog.services.attendance.days import ids_in
from fieldlog.services.attendance.monthly import days_target
from fieldlog.services.common.parallel import run_side_by_side
from fieldlog.services.org.settings import county_setting
from fieldlog.services.reporting import figure_queries as queries
from fieldlog.services.reporting.period import Period, utc_bounds
from fieldlog.timefmt import local_today

# The kinds of attendance day that count as a day in the village (leave does not).
VILLAGE_DAY_KINDS = ("records", "marked", "official")


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

def _cadres(user_ids: list[int], village_of: dict[int, int] | None = None) -> list[CadreFigures]:
    """Return an empty figures row per cadre, with their village and township names.

    A cadre's village is their scope's, unless `village_of` names another (their term's).
    """
    village, township = OrgUnit.__table__.alias("v"), OrgUnit.__table__.alias("t")
    village_id = User.scope_unit_id
    if village_of:
        village_id = case(*((User.id == uid, vid) for uid, vid in village_of.items()),
                          else_=User.scope_unit_id)
    rows = db.session.execute(
        select(User.id, User.display_name, village.c.id, village.c.name, township.c.id,
               township.c.name)
        .join(village, village.c.id == village_id)
        .outerjoin(township, township.c.id == village.c.parent_id)
        .where(ids_in(User.id, user_ids)).order_by(User.id))
    today = local_today()
    return [CadreFigures(uid, name, vid, vname, tid, tname or "", today, today)
            for uid, name, vid, vname, tid, tname in rows]


def villages_on(user_ids: list[int], day: date) -> dict[int, int]:
    """Return each cadre's village on `day`: their term's then, else their latest term's
    begun by then (cadres without a term are left out: their scope's village stands).

    A period counts a cadre in the village of their term at its end (today for a running
    one), so last month's figures of a cadre moved since stay with the old village.
    """
    villages: dict[int, int] = {}
    for uid, vid in db.session.execute(
            select(Assignment.user_id, Assignment.village_id)
            .where(ids_in(Assignment.user_id, user_ids), Assignment.start_date <= day)
            .order_by(Assignment.user_id, Assignment.start_date)):
        villages[uid] = vid
    return villages


def period_day(period: Period, today: date) -> date:
    """Return the day whose term places a cadre for `period`: its end, or today if sooner."""
    return today if period.kind == "term" or period.end is None else min(period.end, today)


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
        # A village's path ends county/township/village (a city may sit above the county).
        self.county_of = {vid: path.strip("/").split("/")[-3] for vid, path in db.session.execute(
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
                  with_days: bool = False,
                  village_of: dict[int, int] | None = None) -> dict[int, CadreFigures]:
    """Compute every cadre's figures for `period` in grouped queries; key by user id.

    `with_days` keeps each village day's kind (for a calendar) on the figures. A cadre is
    counted in the village of their term at the period's end (`villages_on`); `village_of`
    names another village (a given past term's, for a handover).
    """
    user_ids = sorted(set(user_ids))
    if not user_ids:
        return {}
    today = today or local_today()
    if db.engine.dialect.name == "postgresql":
        for statement in _REPORT_SETTINGS:
            db.session.execute(text(statement))
    cadres = _cadres(user_ids, {**villages_on(user_ids, period_day(period, today)),
                                **(village_of or {})})
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
        queries.ledger(by_id, villages, lo, hi, min(end, today))
        queries.leave(by_id, start, end)
        queries.returned(by_id, villages, lo, hi)
        queries.six_one(by_id, hi, end)

    visits, totals, days_of, _ = run_side_by_side(
        [lambda: queries.visit_counts(villages, lo, hi), lambda: queries.households(villages),
         lambda: village_days(ids, start, end), light],
        setup=_REPORT_SETTINGS,
        enabled=len(ids) >= current_app.config["PARALLEL_REPORT_MIN_CADRES"])
    queries.apply_visits(by_id, *visits, totals)
    queries.term_coverage(by_id, villages, min(end, today), hi, totals)
    for uid, days in days_of.items():
        by_id[uid].days_in_village = sum(1 for k in days.values() if k in VILLAGE_DAY_KINDS)
        if with_days:
            by_id[uid].day_kinds = days


# --- days in the village -----------------------------------------------------------------------

def village_days(user_ids: list[int], start: date, end: date) -> dict[int, dict[date, str]]:
    """Return each cadre's days: {day: "records" | "marked" | "official" | "leave"}."""
    from fieldlog.services.attendance.days import village_days as attendance_days

    return attendance_days(user_ids, start, end)
