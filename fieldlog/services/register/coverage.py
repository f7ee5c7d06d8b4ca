"""Visit coverage (走访一遍农户): last visit per household, progress, overdue households."""
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import get_timezone
from sqlalchemy import func, or_, select

from fieldlog.domain import SANHU, SANLAO
from fieldlog.errors import NotFound
from fieldlog.extensions import db
from fieldlog.models import Assignment, Household, OrgUnit, User, Visit
from fieldlog.permissions import scope_village_ids, unit_in_scope
from fieldlog.services.org.settings import county_id_of
from fieldlog.timefmt import local_midnight_utc


@dataclass
class CoverageRow:
    household: Household
    last_visit: date | None
    interval_days: int
    due: date
    overdue_days: int  # > 0 when overdue

    @property
    def overdue(self) -> bool:
        return self.overdue_days > 0


@dataclass
class Progress:
    key: str
    visited: int = 0
    total: int = 0

    @property
    def percent(self) -> int:
        return round(100 * self.visited / self.total) if self.total else 0


@dataclass
class Coverage:
    village: OrgUnit
    since: date | None  # start of the term the progress counts from
    rows: list[CoverageRow]
    village_progress: Progress
    groups: list[Progress] = field(default_factory=list)

    @property
    def overdue(self) -> list[CoverageRow]:
        return sorted((r for r in self.rows if r.overdue), key=lambda r: -r.overdue_days)


def intervals_for(village: OrgUnit) -> tuple[dict[str, int], int]:
    """Return (days between visits per tag, days for an untagged household) for a village."""
    config = current_app.config
    per_tag = dict(config["VISIT_INTERVAL_DAYS"])
    default = config["VISIT_INTERVAL_DEFAULT"]
    county = db.session.get(OrgUnit, county_id_of(village)) if village.path else None
    override = config["COUNTY_VISIT_INTERVALS"].get(county.code, {}) if county else {}
    per_tag.update({k: int(v) for k, v in override.items() if k != "default"})
    return per_tag, int(override.get("default", default))


def _local_date(value: datetime) -> date:
    zone = ZoneInfo(str(get_timezone()))
    return value.replace(tzinfo=UTC).astimezone(zone).date()


def term_start(village_id: int, today: date) -> date | None:
    """Return the start of the running assignment, else the day of the first visit."""
    return term_starts([village_id], today)[village_id]


def term_starts(village_ids, today: date) -> dict[int, date | None]:
    """Return each village's term start (see term_start) in two grouped queries at most."""
    ids = sorted(set(village_ids))
    if not ids:
        return {}
    starts = dict(db.session.execute(
        select(Assignment.village_id, func.max(Assignment.start_date)).where(
            Assignment.village_id.in_(ids), Assignment.start_date <= today,
            or_(Assignment.end_date.is_(None), Assignment.end_date >= today))
        .group_by(Assignment.village_id)).all())
    missing = [v for v in ids if starts.get(v) is None]
    firsts = dict(db.session.execute(
        select(Visit.village_id, func.min(Visit.occurred_at))
        .where(Visit.village_id.in_(missing)).group_by(Visit.village_id)).all()) \
        if missing else {}
    return {v: starts.get(v) or (_local_date(firsts[v]) if firsts.get(v) else None)
            for v in ids}


def viewable_village(user: User, village_id: int | None) -> OrgUnit:
    """Return the village to show: a secretary's own, or one in a reviewer's scope."""
    village = db.session.get(OrgUnit, village_id or user.scope_unit_id)
    if village is None or village.kind != "village" or not user.is_active \
            or not unit_in_scope(user, village):
        raise NotFound("No such village in your scope.")
    return village


def villages_in_scope(user: User, *, in_use: bool = False) -> list[OrgUnit]:
    """Return the villages a user may pick, by code (`in_use`: not retired, for pickers of
    new things; history pickers keep retired villages)."""
    stmt = select(OrgUnit).where(OrgUnit.id.in_(scope_village_ids(user)))
    if in_use:
        stmt = stmt.where(OrgUnit.retired_at.is_(None))
    return list(db.session.scalars(stmt.order_by(OrgUnit.code)))


def village_coverage(village: OrgUnit, today: date) -> Coverage:
    """Compute coverage of a village's households as of `today` (local date)."""
    per_tag, default = intervals_for(village)
    since = term_start(village.id, today)
    last = {hid: _local_date(at) for hid, at in db.session.execute(
        select(Visit.household_id, func.max(Visit.occurred_at))
        .where(Visit.village_id == village.id).group_by(Visit.household_id))}
    since_utc = local_midnight_utc(since) if since else None
    visited_ids = set(db.session.scalars(
        select(Visit.household_id).where(Visit.village_id == village.id,
                                         Visit.occurred_at >= since_utc).distinct())
    ) if since_utc else set()
    households = db.session.scalars(
        select(Household).where(Household.village_id == village.id,
                                Household.anonymised_at.is_(None))
        .order_by(Household.house_label))
    groups = {key: Progress(key) for key in ("sanlao", "sanhu", "others")}
    overall, rows = Progress("village"), []
    for household in households:
        tags = household.tags
        interval = min((per_tag.get(t, default) for t in tags), default=default)
        reference = last.get(household.id) or since or today
        due = reference + timedelta(days=interval)
        rows.append(CoverageRow(household, last.get(household.id), interval, due,
                                max(0, (today - due).days)))
        visited = household.id in visited_ids
        keys = [k for k, members in (("sanlao", SANLAO), ("sanhu", SANHU))
                if any(t in members for t in tags)] or ["others"]
        for progress in [overall] + [groups[k] for k in keys]:
            progress.total += 1
            progress.visited += visited
    return Coverage(village, since, rows, overall, list(groups.values()))
