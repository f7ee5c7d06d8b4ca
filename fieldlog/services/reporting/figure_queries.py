"""The grouped queries behind each cadre's figures: visits and coverage, six-one, households,
ledger, leave and returned records.

Each is one `GROUP BY` over a local window for every cadre counted over it (never a query per
cadre), and writes its figures onto the cadres' `CadreFigures` (see `figures.cadre_figures`).
Records count where they were made: only villages of the cadres asked about are read.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import and_, case, func, literal, or_, select, union_all

from fieldlog.domain import SANHU, SANLAO
from fieldlog.extensions import db
from fieldlog.models import (
    Action,
    Household,
    HouseholdTag,
    LedgerEvent,
    LedgerItem,
    Meeting,
    ReviewDecision,
    Visit,
)
from fieldlog.models.records import ACTION_STATES
from fieldlog.services.attendance.days import ids_in
from fieldlog.timefmt import local_midnight_utc

if TYPE_CHECKING:
    from fieldlog.services.reporting.figures import CadreFigures

LEDGER_CLOSED = ("resolved", "feedback")  # the ledger states of a closed item
# Record tables a reviewer may return, by the record_type their decisions name.
REVIEWED = {"visit": Visit, "meeting": Meeting, "action": Action, "ledger_item": LedgerItem}
# Up to this many cadres, returned records are found from each cadre's records (see returned).
_FEW_CADRES = 25


def _tagged(tags: tuple[str, ...]):
    """Select the households carrying any of `tags` (the database hashes it once per statement,
    so testing a household against it costs one lookup)."""
    return select(HouseholdTag.household_id).where(HouseholdTag.tag.in_(tags))


def _flags(household):
    """Return (三老, 三户, neither) as 1/0 SQL expressions for a household id column."""
    return (case((household.in_(_tagged(SANLAO)), 1), else_=0),
            case((household.in_(_tagged(SANHU)), 1), else_=0),
            case((household.in_(_tagged(SANLAO + SANHU)), 0), else_=1))


def visit_counts(villages: list[int], lo: datetime, hi: datetime) -> tuple[dict, dict]:
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


def apply_visits(by_id: dict[int, CadreFigures], counted: dict, visited: dict,
                  totals: dict[int, tuple[int, int, int]]) -> None:
    """Write the visit counts and the coverage per village onto the cadres' figures."""
    for key, (a, b, c, d) in counted.items():
        if key in by_id:
            by_id[key].visits.update(total=int(a), sanlao=int(b), sanhu=int(c), other=int(d))
    for cadre in by_id.values():
        seen = visited.get(cadre.village_id, (0, 0, 0))
        have = totals.get(cadre.village_id, (0, 0, 0))
        for key, s, h in zip(("all", "sanlao", "sanhu"), seen, have, strict=True):
            cadre.coverage[key] = [min(int(s), int(h)), int(h)]


def six_one(by_id: dict[int, CadreFigures], hi: datetime, end: date) -> None:
    """Find each typed six-one action's furthest state by `end` (one done later is under way
    then)."""
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


def term_coverage(by_id: dict[int, CadreFigures], villages: list[int], as_of: date,
                   hi: datetime, totals: dict[int, tuple[int, int, int]]) -> None:
    """Count 走访一遍农户: households of the village visited since the term began, up to `hi`.

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


def households(villages: list[int]) -> dict[int, tuple[int, int, int]]:
    """Return (households, of them 三老, 三户) per village, anonymised households left out."""
    sanlao, sanhu, _other = _flags(Household.id)
    return {vid: (int(a), int(b or 0), int(c or 0)) for vid, a, b, c in db.session.execute(
        select(Household.village_id, func.count(), func.sum(sanlao), func.sum(sanhu))
        .where(ids_in(Household.village_id, villages), Household.anonymised_at.is_(None))
        .group_by(Household.village_id))}


def ledger(by_id: dict[int, CadreFigures], villages: list[int], lo: datetime, hi: datetime,
            as_of: date) -> None:
    """Count items raised in the window; items closed in it (closed now, by an event dated in the
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


def leave(by_id: dict[int, CadreFigures], start: date, end: date) -> None:
    """Count the days of approved leave inside the window."""
    from fieldlog.services.attendance.days import leave_days_taken

    for uid, days in leave_days_taken(list(by_id), start, end).items():
        by_id[uid].leave_days = days


def returned(by_id: dict[int, CadreFigures], villages: list[int], lo: datetime,
              hi: datetime) -> None:
    """Count the records of each cadre a reviewer returned in the window (every return counts).

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
