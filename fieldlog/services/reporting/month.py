"""A cadre's month (记实): every figure of the monthly record, from the records already kept.

One record entered once feeds the monthly 记实登记表: `month_records` gathers any number of
cadres with grouped queries (the township report), `month_record` is the one-cadre case.
Every figure that is also shown elsewhere (days, visits, meetings, six-one, ledger, leave,
returned) comes from `figures.cadre_figures`, the one function behind the progress table, the
cadre page and scoring; this module adds the month's lines (which visits, which meetings…).
The definitions are in docs/figures.md.
Months are the county's calendar months: a visit at 23:30 on the 31st (local time) belongs to
that month even though it is stored in UTC as the next day's 15:30 of the day before.
"""
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from flask_babel import get_timezone
from sqlalchemy import case, func, or_, select

from fieldlog.domain import SANHU, SANLAO
from fieldlog.extensions import db
from fieldlog.models import (
    Action,
    Assignment,
    DayMark,
    Goal,
    GoalLink,
    Household,
    HouseholdTag,
    LeaveRequest,
    LedgerEvent,
    LedgerItem,
    Meeting,
    OrgUnit,
    User,
    Visit,
)
from fieldlog.models.records import ACTION_STATES, ACTION_TYPES, MEETING_TYPES
from fieldlog.services.attendance.monthly import month_bounds
from fieldlog.services.org.settings import county_id_of, county_setting
from fieldlog.services.reporting.figure_queries import LEDGER_CLOSED as CLOSED
from fieldlog.timefmt import local_midnight_utc, local_today

SUMMARY_CHARS = 60
REVIEWED_MODELS = (Visit, Meeting, Action, Goal, LedgerItem, DayMark, LeaveRequest)


@dataclass(frozen=True)
class Period:
    """A calendar month of the county."""

    year: int
    month: int

    @classmethod
    def parse(cls, text: str | None) -> "Period | None":
        """Read "2026-10"; return None when it is not a month from 2015 on."""
        try:
            year, month = (int(part) for part in (text or "").split("-"))
        except ValueError:
            return None
        if len(text) != 7 or not (2015 <= year <= 2100 and 1 <= month <= 12):
            return None
        return cls(year, month)

    @classmethod
    def current(cls) -> "Period":
        today = local_today()
        return cls(today.year, today.month)

    @property
    def first(self) -> date:
        return month_bounds(self.year, self.month)[0]

    @property
    def last(self) -> date:
        return month_bounds(self.year, self.month)[1]

    @property
    def start_utc(self) -> datetime:
        return local_midnight_utc(self.first)

    @property
    def end_utc(self) -> datetime:
        return local_midnight_utc(self.next.first)

    @property
    def previous(self) -> "Period":
        return Period(self.year - 1, 12) if self.month == 1 else Period(self.year, self.month - 1)

    @property
    def next(self) -> "Period":
        return Period(self.year + 1, 1) if self.month == 12 else Period(self.year, self.month + 1)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


@dataclass
class MonthRecord:
    """Everything one cadre did in one month, ready for the phone page and the printed form."""

    user: User
    period: Period
    village: OrgUnit | None
    dispatching_unit: str = ""
    term_start: date | None = None
    days_in_village: int = 0
    days_required: int = 20  # for the whole month
    days_expected: int = 20  # by today: pro rata while the month runs (attendance.days_target)
    running: bool = False  # the month holds today: figures so far
    official_days: int = 0
    visits: list[dict] = field(default_factory=list)
    visit_counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(
        ("total", "sanlao", "sanhu", "others"), 0))
    meetings: list[dict] = field(default_factory=list)
    meeting_counts: dict[str, int] = field(default_factory=dict)
    actions: list[dict] = field(default_factory=list)  # one per six-one type, in order
    visit_all: dict = field(default_factory=dict)  # 走访一遍农户: visited, total, percent, done
    goals: list[dict] = field(default_factory=list)
    ledger_opened: list[dict] = field(default_factory=list)
    ledger_closed: list[dict] = field(default_factory=list)
    ledger_opened_count: int = 0
    ledger_closed_count: int = 0
    ledger_overdue: int = 0
    leave: list[dict] = field(default_factory=list)
    leave_days: int = 0
    returned: int = 0  # returns decided in the month (figures.CadreFigures.returned)
    approved: int = 0
    six_one_done: int = 0  # of six, in the term by the month's end

    @property
    def meeting_total(self) -> int:
        return sum(self.meeting_counts.values())

    @property
    def days_short(self) -> bool:
        return self.days_in_village < self.days_expected


def local_date(value: datetime) -> date:
    """Return the county's calendar day of a stored naive-UTC time."""
    return value.replace(tzinfo=UTC).astimezone(ZoneInfo(str(get_timezone()))).date()


def summary(text: str | None, limit: int = SUMMARY_CHARS) -> str:
    """Shorten free text to one line for a table cell."""
    flat = " ".join((text or "").split())
    return flat if len(flat) <= limit else flat[:limit - 1] + "…"


def month_record(user: User, year: int, month: int) -> MonthRecord:
    """Gather one cadre's month."""
    return month_records([user], Period(year, month))[0]


def month_records(users: list[User], period: Period, *, details: bool = True) -> list[MonthRecord]:
    """Gather the month of each cadre with grouped queries (a few per kind, not per cadre)."""
    if not users:
        return []
    ids = [u.id for u in users]
    places = _places(users, period)
    records = {u.id: MonthRecord(u, period, *places[u.id]) for u in users}
    required: dict[int, int] = {}  # per county: one settings query each, not one per cadre
    for record in records.values():
        if record.village is not None:
            county = county_id_of(record.village)
            if county not in required:
                required[county] = int(county_setting(record.village,
                                                      "attendance_days_per_month"))
            record.days_required = required[county]
    window = (period.start_utc, period.end_utc)
    _visits(records, ids, window)
    _meetings(records, ids, window)
    _actions(records, ids, period)
    _goals(records, ids, window)
    _ledger(records, ids, period)
    _leave(records, ids, period)
    _review_status(records, ids, window)
    _figures(records, period)
    if not details:
        for record in records.values():
            record.visits, record.meetings = [], []
    return [records[i] for i in ids]


def _places(users: list[User], period: Period) -> dict[int, tuple]:
    """Return user id → (village, dispatching unit, term start) for the month's assignment."""
    rows = db.session.execute(
        select(Assignment).where(
            Assignment.user_id.in_([u.id for u in users]), Assignment.start_date <= period.last,
            or_(Assignment.end_date.is_(None), Assignment.end_date >= period.first))
        .order_by(Assignment.start_date)).scalars()
    latest = {a.user_id: a for a in rows}  # the last one started wins
    villages = {v.id: v for v in db.session.scalars(select(OrgUnit).where(OrgUnit.id.in_(
        {a.village_id for a in latest.values()} | {u.scope_unit_id for u in users})))}
    places = {}
    for user in users:
        a = latest.get(user.id)
        if a is not None:
            places[user.id] = (villages.get(a.village_id), a.dispatching_unit, a.start_date)
        else:
            unit = villages.get(user.scope_unit_id)
            places[user.id] = (unit if unit is not None and unit.kind == "village" else None,
                               "", None)
    return places


def _in_month(column, window):
    return (column >= window[0]) & (column < window[1])


def _visits(records, ids, window) -> None:
    rows = db.session.execute(
        select(Visit.author_id, Visit.id, Visit.occurred_at, Visit.requests, Visit.heard,
               Visit.household_id, Household.head_name, Household.house_label)
        .join(Household, Household.id == Visit.household_id)
        .where(Visit.author_id.in_(ids), _in_month(Visit.occurred_at, window))
        .order_by(Visit.occurred_at)).all()
    tags: dict[str, set[str]] = defaultdict(set)
    for household_id, tag in db.session.execute(
            select(HouseholdTag.household_id, HouseholdTag.tag).where(
                HouseholdTag.household_id.in_({r.household_id for r in rows}),
                HouseholdTag.tag.in_(SANLAO + SANHU))):
        tags[household_id].add(tag)
    for row in rows:
        record = records[row.author_id]
        found = tags.get(row.household_id, set())
        groups = [g for g, members in (("sanlao", SANLAO), ("sanhu", SANHU))
                  if found & set(members)] or ["others"]
        record.visit_counts["total"] += 1
        for group in groups:
            record.visit_counts[group] += 1
        record.visits.append({
            "id": row.id, "day": local_date(row.occurred_at), "head_name": row.head_name,
            "house_label": row.house_label, "groups": groups,
            "summary": summary(row.requests) or summary(row.heard),
            "asked": bool((row.requests or "").strip())})


def _meetings(records, ids, window) -> None:
    rows = db.session.execute(
        select(Meeting.author_id, Meeting.id, Meeting.occurred_at, Meeting.meeting_type,
               Meeting.title, Meeting.topics, Meeting.attended_count)
        .where(Meeting.author_id.in_(ids), _in_month(Meeting.occurred_at, window))
        .order_by(Meeting.occurred_at)).all()
    for record in records.values():
        record.meeting_counts = dict.fromkeys(MEETING_TYPES, 0)
    for row in rows:
        record = records[row.author_id]
        record.meeting_counts[row.meeting_type] = record.meeting_counts.get(row.meeting_type,
                                                                            0) + 1
        record.meetings.append({
            "id": row.id, "day": local_date(row.occurred_at), "meeting_type": row.meeting_type,
            "title": row.title, "topics": summary(row.topics or row.title, 80),
            "attended": row.attended_count})


def _actions(records, ids, period: Period) -> None:
    """Per six-one type: the furthest state reached by the end of the month, and its title."""
    rows = db.session.execute(
        select(Action.author_id, Action.action_type, Action.state, Action.title, Action.done_on,
               Action.occurred_at)
        .where(Action.author_id.in_(ids), Action.occurred_at < period.end_utc)
        .order_by(Action.occurred_at)).all()
    rank = {state: n for n, state in enumerate(ACTION_STATES)}
    best: dict[tuple[int, str], dict] = {}
    for row in rows:
        state = row.state
        if state == "done" and row.done_on and row.done_on > period.last:
            state = "under_way"  # done after this month: not yet done in the month's record
        key = (row.author_id, row.action_type)
        found = best.get(key)
        if found is None or rank[state] >= rank[found["state"]]:
            best[key] = {"action_type": row.action_type, "state": state, "title": row.title,
                         "count": (found or {}).get("count", 0) + 1,
                         "this_month": (found or {}).get("this_month", False)}
        else:
            found["count"] += 1
        done_here = state == "done" and (
            (row.done_on and row.done_on >= period.first)
            or (not row.done_on and row.occurred_at >= period.start_utc))
        best[key]["this_month"] = best[key]["this_month"] or bool(done_here)
    for record in records.values():
        record.actions = [best.get((record.user.id, t), {
            "action_type": t, "state": None, "title": "", "count": 0, "this_month": False})
            for t in ACTION_TYPES]


def _goals(records, ids, window) -> None:
    goals = db.session.execute(
        select(Goal.author_id, Goal.id, Goal.goal_type, Goal.title, Goal.state)
        .where(Goal.author_id.in_(ids), Goal.occurred_at < window[1])
        .order_by(Goal.goal_type, Goal.occurred_at)).all()
    counts = {goal_id: (total, recent) for goal_id, total, recent in db.session.execute(
        select(GoalLink.goal_id, func.count(),
               func.sum(case((_in_month(GoalLink.linked_at, window), 1), else_=0)))
        .where(GoalLink.goal_id.in_([g.id for g in goals]), GoalLink.linked_at < window[1])
        .group_by(GoalLink.goal_id))}
    for goal in goals:
        total, recent = counts.get(goal.id, (0, 0))
        records[goal.author_id].goals.append({
            "id": goal.id, "goal_type": goal.goal_type, "title": goal.title, "state": goal.state,
            "evidence": total, "evidence_month": int(recent or 0)})


def _ledger(records, ids, period: Period) -> None:
    window = (period.start_utc, period.end_utc)
    columns = (LedgerItem.author_id, LedgerItem.id, LedgerItem.occurred_at, LedgerItem.content,
               LedgerItem.category, LedgerItem.state, LedgerItem.due_date,
               LedgerItem.raiser_name, Household.head_name)
    base = select(*columns).outerjoin(Household, Household.id == LedgerItem.household_id)
    opened = db.session.execute(base.where(
        LedgerItem.author_id.in_(ids), _in_month(LedgerItem.occurred_at, window))
        .order_by(LedgerItem.occurred_at)).all()
    # Closed in the month: closed now (resolved or feedback given) by an event dated in it.
    closed_at = dict(db.session.execute(
        select(LedgerEvent.item_id, func.max(LedgerEvent.occurred_at))
        .join(LedgerItem, LedgerItem.id == LedgerEvent.item_id)
        .where(LedgerItem.author_id.in_(ids), LedgerItem.state.in_(CLOSED),
               LedgerEvent.to_state.in_(CLOSED), _in_month(LedgerEvent.occurred_at, window))
        .group_by(LedgerEvent.item_id)).all())
    closed = db.session.execute(base.where(LedgerItem.id.in_(list(closed_at)))).all() \
        if closed_at else []
    # Overdue: still open at the report's date (the month's end, or today in the running month).
    as_of = min(period.last, local_today())
    for author_id, count in db.session.execute(
            select(LedgerItem.author_id, func.count()).where(
                LedgerItem.author_id.in_(ids), LedgerItem.state.in_(("open", "in_progress")),
                LedgerItem.due_date < as_of, LedgerItem.occurred_at < window[1])
            .group_by(LedgerItem.author_id)):
        records[author_id].ledger_overdue = count

    def line(row, day):
        return {"id": row.id, "day": day, "content": summary(row.content),
                "category": row.category, "state": row.state, "due_date": row.due_date,
                "raiser": row.head_name or row.raiser_name}

    for row in opened:
        records[row.author_id].ledger_opened.append(line(row, local_date(row.occurred_at)))
    for row in sorted(closed, key=lambda r: closed_at[r.id]):
        records[row.author_id].ledger_closed.append(line(row, local_date(closed_at[row.id])))


def _leave(records, ids, period: Period) -> None:
    rows = db.session.scalars(select(LeaveRequest).where(
        LeaveRequest.author_id.in_(ids), LeaveRequest.start_date <= period.last,
        LeaveRequest.end_date >= period.first,
        LeaveRequest.state.in_(("pending", "approved")))
        .order_by(LeaveRequest.start_date)).all()
    for leave in rows:
        first, last = max(leave.start_date, period.first), min(leave.end_date, period.last)
        days = (last - first).days + 1
        record = records[leave.author_id]
        record.leave.append({"id": leave.id, "leave_type": leave.leave_type,
                             "start": leave.start_date, "end": leave.end_date,
                             "days": days, "state": leave.state})
        if leave.state == "approved":
            record.leave_days += days


def _review_status(records, ids, window) -> None:
    """Records of the month approved so far (returns are counted by progress: every return)."""
    for model in REVIEWED_MODELS:
        for author_id, count in db.session.execute(
                select(model.author_id, func.count())
                .where(model.author_id.in_(ids), _in_month(model.occurred_at, window),
                       model.status == "approved")
                .group_by(model.author_id)):
            records[author_id].approved += count


def _figures(records: dict[int, MonthRecord], period: Period) -> None:
    """Take every figure shown elsewhere too from figures.cadre_figures (one definition)."""
    from fieldlog.services.reporting import figures
    from fieldlog.services.reporting import period as periods

    found = figures.cadre_figures(list(records), periods.Period.month(period.year, period.month),
                                  with_days=True)
    for user_id, record in records.items():
        f = found.get(user_id)
        if f is None:  # not a secretary of a village: nothing counted
            record.days_expected = record.days_required
            continue
        record.days_in_village, record.days_required = f.days_in_village, f.days_required
        record.days_expected, record.running = f.days_expected, f.running
        record.official_days = sum(kind == "official" for kind in f.day_kinds.values())
        record.visit_counts = {"total": f.visits["total"], "sanlao": f.visits["sanlao"],
                               "sanhu": f.visits["sanhu"], "others": f.visits["other"]}
        record.meeting_counts = dict(f.meetings)
        record.ledger_opened_count, record.ledger_closed_count = (f.ledger_opened,
                                                                  f.ledger_resolved)
        record.ledger_overdue, record.leave_days = f.ledger_overdue, f.leave_days
        record.returned, record.six_one_done = f.returned, f.six_one_done
        for line in record.actions:
            line["state"] = f.six_one.get(line["action_type"])
        visited, total = f.visit_all
        record.visit_all = {"visited": visited, "total": total, "percent": f.visit_all_percent,
                            "done": f.visit_all_done}
