"""Read-side queries over visits, always through the current user's scope."""
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Select, func, select
from sqlalchemy.orm import contains_eager

from fieldlog.errors import NotFound
from fieldlog.extensions import db
from fieldlog.models import OrgUnit, Photo, User, Visit
from fieldlog.permissions import scope_village_ids
from fieldlog.services.common.geo import distance_m, sketch
from fieldlog.timefmt import local_midnight_utc


def month_start_utc(today: date) -> datetime:
    """Return the first instant of today's month in the display zone, as naive UTC."""
    return local_midnight_utc(today.replace(day=1))


def scoped_visits(user: User) -> Select:
    """Select visits the user may see, with household, author and village loaded in one query."""
    query = (
        select(Visit)
        .join(Visit.household).join(Visit.author).join(Visit.village)
        .options(contains_eager(Visit.household), contains_eager(Visit.author),
                 contains_eager(Visit.village))
        .where(Visit.village_id.in_(scope_village_ids(user)))
    )
    if user.role == "secretary":
        query = query.where(Visit.author_id == user.id)
    return query


def photo_counts(visit_ids: list[str]) -> dict[str, int]:
    """Count received photos per visit in one grouped query."""
    if not visit_ids:
        return {}
    rows = db.session.execute(
        select(Photo.record_id, func.count()).where(
            Photo.record_type == "visit", Photo.record_id.in_(visit_ids)
        ).group_by(Photo.record_id)
    )
    return {str(record_id): count for record_id, count in rows}


@dataclass
class VisitPage:
    visits: list[Visit]
    photos: dict[str, int]
    total: int
    page: int
    pages: int


def filtered_visits(user: User, village_id: int | None = None,
                    author_id: int | None = None) -> Select:
    """Select visits in scope, narrowed by village and secretary (list and export alike)."""
    query = scoped_visits(user)
    if village_id:
        query = query.where(Visit.village_id == village_id)
    if author_id:
        query = query.where(Visit.author_id == author_id)
    return query


def list_visits(user: User, *, village_id: int | None = None, author_id: int | None = None,
                page: int = 1, per_page: int = 30) -> VisitPage:
    """List visits in scope, newest first, filtered by village and secretary."""
    query = filtered_visits(user, village_id, author_id)
    total = db.session.scalar(select(func.count()).select_from(
        query.with_only_columns(Visit.id).order_by(None).subquery()))
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    visits = list(db.session.scalars(
        query.order_by(Visit.occurred_at.desc(), Visit.id)
        .limit(per_page).offset((page - 1) * per_page)
    ).unique())
    return VisitPage(visits, photo_counts([v.id for v in visits]), total, page, pages)


def filter_choices(user: User) -> tuple[list[OrgUnit], list[User]]:
    """Return the villages and secretaries a reviewer may filter by."""
    villages = list(db.session.scalars(
        select(OrgUnit).where(OrgUnit.id.in_(scope_village_ids(user))).order_by(OrgUnit.code)))
    secretaries = list(db.session.scalars(
        select(User).where(User.role == "secretary",
                           User.scope_unit_id.in_(scope_village_ids(user)))
        .order_by(User.display_name)))
    return villages, secretaries


@dataclass
class VisitDetail:
    visit: Visit
    photos: list[Photo]
    from_village_m: float | None
    from_household_m: float | None
    sketch: dict | None


def visit_detail(user: User, visit_id: str) -> VisitDetail:
    """Return one visit in scope with its photos and its distances; NotFound otherwise."""
    visit = db.session.scalar(scoped_visits(user).where(Visit.id == visit_id))
    if visit is None:
        raise NotFound("No such visit in your scope.")
    photos = list(db.session.scalars(
        select(Photo).where(Photo.record_type == "visit", Photo.record_id == visit.id)
        .order_by(Photo.taken_at, Photo.received_at)))
    village, household = visit.village, visit.household
    drawing = None
    if village.lat is not None and village.lon is not None:
        drawing = sketch((village.lat, village.lon), village.geofence_m or 1000, {
            "visit": (visit.lat, visit.lon), "household": (household.lat, household.lon)})
    return VisitDetail(
        visit, photos,
        distance_m(visit.lat, visit.lon, village.lat, village.lon),
        distance_m(visit.lat, visit.lon, household.lat, household.lon),
        drawing,
    )


def tag_choices() -> list[dict]:
    """Return the tags a household picker filters by."""
    from fieldlog.domain import TAGS

    return [{"code": code, "label": str(label)} for code, label in TAGS.items()]
