"""Read-side queries over meeting minutes (会议记录), always through the user's scope."""
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import Select, func, select

from fieldlog.domain import MEETING_TYPE_LABELS
from fieldlog.errors import NotFound
from fieldlog.extensions import db
from fieldlog.models import Goal, GoalLink, Household, LedgerItem, LedgerLink, Meeting, Photo, User
from fieldlog.models.records import MEETING_TYPES
from fieldlog.permissions import scope_village_ids
from fieldlog.services.common.geo import distance_m, sketch
from fieldlog.timefmt import local_midnight_utc

MEETING_LABELS = MEETING_TYPE_LABELS
assert set(MEETING_LABELS) == set(MEETING_TYPES)


def meeting_label(code: str) -> str:
    """Return the display label of a meeting type."""
    return str(MEETING_LABELS.get(code, code))


def scoped(model, user: User) -> Select:
    """Select rows of a record model the user may read: own records for a secretary."""
    query = select(model).where(model.village_id.in_(scope_village_ids(user)))
    if user.role == "secretary":
        query = query.where(model.author_id == user.id)
    return query


def as_utc(value: date | datetime | None) -> datetime | None:
    """Take a local date (its midnight in the county zone) or a naive-UTC datetime."""
    if value is None or isinstance(value, datetime):
        return value
    return local_midnight_utc(value)


def secretary_meetings(user: User, since: date | None = None) -> list[Meeting]:
    """List the secretary's own meetings since a local date (the term start), newest first."""
    query = scoped(Meeting, user).where(Meeting.author_id == user.id)
    if since is not None:
        query = query.where(Meeting.occurred_at >= as_utc(since))
    return list(db.session.scalars(query.order_by(Meeting.occurred_at.desc(), Meeting.id)))


def photos_of(record_type: str, record_id: str) -> list[Photo]:
    """Return a record's received photos, oldest first."""
    return list(db.session.scalars(
        select(Photo).where(Photo.record_type == record_type, Photo.record_id == record_id)
        .order_by(Photo.taken_at, Photo.received_at)))


def photo_counts(record_type: str, record_ids: list[str]) -> dict[str, int]:
    """Count received photos per record in one grouped query."""
    if not record_ids:
        return {}
    return {str(rid): n for rid, n in db.session.execute(
        select(Photo.record_id, func.count()).where(
            Photo.record_type == record_type, Photo.record_id.in_(record_ids))
        .group_by(Photo.record_id))}


def linked_goals(record_type: str, record_id: str) -> list[Goal]:
    """Return the goals a record is offered as evidence for."""
    return list(db.session.scalars(
        select(Goal).join(GoalLink, GoalLink.goal_id == Goal.id)
        .where(GoalLink.record_type == record_type, GoalLink.record_id == record_id)
        .order_by(Goal.goal_type, Goal.title)))


@dataclass
class Place:
    """Where a record was made, compared with its village."""

    from_village_m: float | None
    sketch: dict | None


def place_of(record) -> Place:
    """Return the distance of a record's fix from its village centre, and a sketch."""
    village = record.village
    drawing = None
    if village.lat is not None and village.lon is not None:
        drawing = sketch((village.lat, village.lon), village.geofence_m or 1000,
                         {"record": (record.lat, record.lon)})
    return Place(distance_m(record.lat, record.lon, village.lat, village.lon), drawing)


@dataclass
class MeetingDetail:
    meeting: Meeting
    photos: list[Photo]
    place: Place
    goals: list[Goal]
    ledger_items: list[tuple[LedgerItem, Household | None]] = field(default_factory=list)


def meeting_detail(user: User, meeting_id: str) -> MeetingDetail:
    """Return one meeting in scope with photos, place, goals and ledger items; else NotFound."""
    meeting = db.session.scalar(scoped(Meeting, user).where(Meeting.id == meeting_id))
    if meeting is None:
        raise NotFound("No such meeting in your scope.")
    items = list(db.session.execute(
        select(LedgerItem, Household)
        .join(LedgerLink, LedgerLink.item_id == LedgerItem.id)
        .outerjoin(Household, Household.id == LedgerItem.household_id)
        .where(LedgerLink.record_type == "meeting", LedgerLink.record_id == meeting.id)
        .order_by(LedgerItem.occurred_at, LedgerItem.id)).all())
    return MeetingDetail(meeting, photos_of("meeting", meeting.id), place_of(meeting),
                         linked_goals("meeting", meeting.id), items)


def meeting_counts_by_type(user_ids: list[int], start: date | datetime,
                           end: date | datetime) -> dict[int, dict[str, int]]:
    """Count meetings per author and type in [start, end) in one grouped query.

    `start`/`end` are local dates (their midnight in the county zone) or naive-UTC datetimes.
    Every asked user gets a dict with every type (0 when none).
    """
    result = {uid: dict.fromkeys(MEETING_TYPES, 0) for uid in user_ids}
    if not user_ids:
        return result
    rows = db.session.execute(
        select(Meeting.author_id, Meeting.meeting_type, func.count())
        .where(Meeting.author_id.in_(user_ids), Meeting.occurred_at >= as_utc(start),
               Meeting.occurred_at < as_utc(end))
        .group_by(Meeting.author_id, Meeting.meeting_type))
    for author_id, meeting_type, count in rows:
        result[author_id][meeting_type] = count
    return result


def household_choices(village_id: int) -> list[dict]:
    """Return the village's households for a "who raised it" picker (one light query)."""
    rows = db.session.execute(
        select(Household.id, Household.head_name, Household.house_label)
        .where(Household.village_id == village_id, Household.anonymised_at.is_(None))
        .order_by(Household.house_label))
    return [{"id": hid, "head_name": name, "house_label": label} for hid, name, label in rows]
