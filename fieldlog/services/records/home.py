"""What a secretary's phone shows of the village's households: home's figures and short lists,
and the whole village (the households page and the visit form's picker).

Home costs the same for a village of 50 or 1,500 households: its figures are counts and its
lists are a few rows, each from one statement; only the households page and the picker read
every household, in two statements (households with their last visit, and their tags).
"""
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import and_, case, exists, func, select

from fieldlog.domain import PRIORITY_TAGS, tag_label
from fieldlog.extensions import db
from fieldlog.models import Household, HouseholdTag, User, Visit
from fieldlog.services.records.visits import month_start_utc, photo_counts, scoped_visits

HOME_UNVISITED = 10  # households home lists by name; the rest are a search or a tap away
HOME_RECENT = 8


def _last_visits(village_id: int):
    """Return a subquery of each visited household's last visit time in the village."""
    return (select(Visit.household_id.label("household_id"),
                   func.max(Visit.occurred_at).label("last"))
            .where(Visit.village_id == village_id).group_by(Visit.household_id).subquery())


def _tags_of(village_id: int, ids: list[str] | None = None) -> dict[str, list[str]]:
    """Return the tags of the village's households (or of `ids`) in one statement."""
    query = select(HouseholdTag.household_id, HouseholdTag.tag).order_by(HouseholdTag.tag)
    if ids is None:
        query = query.join(Household, Household.id == HouseholdTag.household_id).where(
            Household.village_id == village_id)
    elif not ids:
        return {}
    else:
        query = query.where(HouseholdTag.household_id.in_(ids))
    tags: dict[str, list[str]] = {}
    for household_id, tag in db.session.execute(query):
        tags.setdefault(str(household_id), []).append(tag)
    return tags


def _household_dict(row, tags: list[str], since: datetime | None) -> dict:
    last = row.last
    return {
        "id": str(row.id), "village_id": row.village_id, "head_name": row.head_name,
        "house_label": row.house_label, "member_count": row.member_count,
        "tags": tags, "tag_labels": [tag_label(t) for t in tags],
        "priority": any(t in PRIORITY_TAGS for t in tags),
        "last_visit": last.date().isoformat() if last else None,
        "visited_since": bool(last and since and last >= since),
    }


def household_dicts(village_id: int, since: datetime | None = None) -> list[dict]:
    """Return every household of the village for the phone, key households first, then the
    longest unvisited, with last visit dates; two statements whatever the village's size."""
    last = _last_visits(village_id)
    rows = db.session.execute(
        select(Household.id, Household.village_id, Household.head_name, Household.house_label,
               Household.member_count, last.c.last)
        .outerjoin(last, last.c.household_id == Household.id)
        .where(Household.village_id == village_id))
    tags = _tags_of(village_id)
    result = [_household_dict(row, tags.get(str(row.id), []), since) for row in rows]
    result.sort(key=lambda h: (not h["priority"], h["last_visit"] or "", h["house_label"]))
    return result


SHOWN_BY = ("unvisited", "priority")  # the households page's filters besides all


def shown_by(household: dict, query: str, show: str) -> bool:
    """Tell whether the households page shows a household for a search and a filter
    (static/js/households.js filters the same way on the phone)."""
    if show == "unvisited" and household["visited_since"]:
        return False
    if show == "priority" and not household["priority"]:
        return False
    needle = query.casefold()
    return (not needle or needle in household["head_name"].casefold()
            or needle in household["house_label"].casefold()
            or any(needle in label.casefold() for label in household["tag_labels"]))


def households_page(village_id: int, since: datetime, query: str, show: str
                    ) -> tuple[list[tuple[dict, bool]], int]:
    """Return every household of the village with whether the page shows it for the search
    and filter (the phone hides and shows rows itself), and how many are shown."""
    rows = [(h, shown_by(h, query, show)) for h in household_dicts(village_id, since)]
    return rows, sum(shown for _h, shown in rows)


@dataclass
class Home:
    month_visits: int
    month_households: int
    households_total: int
    unvisited_count: int
    unvisited: list[dict]  # the first HOME_UNVISITED, in the order of the households page
    recent: list[dict]


def _unvisited_condition(village_id: int, since: datetime):
    """Return the condition: a household of the village without a visit since `since`
    (answered from the visits' (household, time) index)."""
    visited = exists().where(Visit.household_id == Household.id, Visit.occurred_at >= since)
    return and_(Household.village_id == village_id, ~visited)


def _unvisited(village_id: int, since: datetime, limit: int) -> list[dict]:
    """Return the first `limit` households without a visit since `since`: key households
    first, then never visited, then the longest unvisited (the households page's order).

    The last visit is looked up only for those households, in the index, not grouped over
    the village's year of visits.
    """
    last = (select(func.max(Visit.occurred_at)).where(Visit.household_id == Household.id)
            .correlate(Household).scalar_subquery().label("last"))
    listed = (select(Household.id, Household.village_id, Household.head_name,
                     Household.house_label, Household.member_count, last)
              .where(_unvisited_condition(village_id, since)).subquery())
    priority = exists().where(HouseholdTag.household_id == listed.c.id,
                              HouseholdTag.tag.in_(PRIORITY_TAGS))
    rows = list(db.session.execute(
        select(listed).order_by(case((priority, 0), else_=1), listed.c.last.is_not(None),
                                func.date(listed.c.last), listed.c.house_label)
        .limit(limit)))
    tags = _tags_of(village_id, [str(r.id) for r in rows])
    return [_household_dict(r, tags.get(str(r.id), []), since) for r in rows]


def _figures(user: User, village_id: int, since: datetime) -> tuple[int, int, int, int]:
    """Return the month's visits by the user, households visited, households in the village
    and households not visited, in one statement."""
    def count(query):
        return query.scalar_subquery()

    row = db.session.execute(select(
        count(select(func.count()).select_from(Visit).where(
            Visit.author_id == user.id, Visit.occurred_at >= since)),
        count(select(func.count(func.distinct(Visit.household_id))).where(
            Visit.village_id == village_id, Visit.occurred_at >= since)),
        count(select(func.count()).select_from(Household).where(
            Household.village_id == village_id)),
        count(select(func.count()).select_from(Household).where(
            _unvisited_condition(village_id, since))),
    )).one()
    return tuple(int(n or 0) for n in row)


def secretary_home(user: User, today: date, village_id: int) -> Home:
    """Gather the figures and short lists of a secretary's home in a handful of statements,
    whatever the size of the village."""
    since = month_start_utc(today)
    month_visits, month_households, total, unvisited_count = _figures(user, village_id, since)
    unvisited = _unvisited(village_id, since, HOME_UNVISITED)
    recent_visits = list(db.session.scalars(
        scoped_visits(user).order_by(Visit.occurred_at.desc()).limit(HOME_RECENT)).unique())
    counts = photo_counts([v.id for v in recent_visits])
    recent = [{
        "id": v.id, "head_name": v.household.head_name, "house_label": v.household.house_label,
        "occurred_at": v.occurred_at, "photo_count": counts.get(v.id, 0),
        "follow_up": v.follow_up,
    } for v in recent_visits]
    return Home(month_visits, month_households, total, unvisited_count, unvisited, recent)
