"""The progress table: the cadres a viewer may see (and the places to filter them by), their
figures filtered and sorted as the reader asked.
"""
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from fieldlog.errors import NotFound
from fieldlog.extensions import db
from fieldlog.models import Assignment, OrgUnit, User
from fieldlog.permissions import scope_village_ids, unit_in_scope
from fieldlog.services.reporting.figures import CadreFigures, cadre_figures, period_day
from fieldlog.services.reporting.period import Period
from fieldlog.timefmt import local_today

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


def _places(viewer: User, township: int | None, village: int | None):
    """Select the ids of the villages in the viewer's scope, narrowed by the filters."""
    stmt = select(OrgUnit.id).where(OrgUnit.id.in_(scope_village_ids(viewer)))
    if township is not None:
        stmt = stmt.where(OrgUnit.parent_id == township)
    if village is not None:
        stmt = stmt.where(OrgUnit.id == village)
    return stmt


def cadres_in_scope(viewer: User, township: int | None = None,
                    village: int | None = None, *,
                    window: tuple[date, date] | None = None) -> list[User]:
    """Return the active secretaries whose village lies in the viewer's scope (and filters);
    with a `window` (local days), also those who had a term in such a village then."""
    places = _places(viewer, township, village)
    wanted = User.scope_unit_id.in_(places)
    if window is not None:
        wanted = wanted | User.id.in_(select(Assignment.user_id).where(
            Assignment.village_id.in_(places), Assignment.start_date <= window[1],
            (Assignment.end_date.is_(None)) | (Assignment.end_date >= window[0])))
    return list(db.session.scalars(select(User).where(
        User.role == "secretary", User.active.is_(True), wanted).order_by(User.id)))


def progress_table(viewer: User, period: Period, query: TableQuery,
                   today: date | None = None) -> list[CadreFigures]:
    """Return the figures of the cadres in scope matching `query`, sorted as asked."""
    today = today or local_today()
    window = None if period.kind == "term" or period.start is None else (
        period.start, period_day(period, today))
    cadres = cadres_in_scope(viewer, query.township, query.village, window=window)
    if query.q:
        needle = query.q.casefold()
        cadres = [c for c in cadres if needle in c.display_name.casefold()
                  or needle in c.username.casefold()]
    rows = list(cadre_figures([c.id for c in cadres], period, today=today).values())
    # Each cadre counts where their term was at the period's end (figures.villages_on).
    places = set(db.session.scalars(_places(viewer, query.township, query.village)))
    rows = [r for r in rows if r.village_id in places]
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
