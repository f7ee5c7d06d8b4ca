"""The progress table: the cadres a viewer may see (and the places to filter them by), their
figures filtered and sorted as the reader asked.
"""
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from fieldlog.errors import NotFound
from fieldlog.extensions import db
from fieldlog.models import OrgUnit, User
from fieldlog.permissions import scope_village_ids, unit_in_scope
from fieldlog.services.reporting.figures import CadreFigures, cadre_figures
from fieldlog.services.reporting.period import Period

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
