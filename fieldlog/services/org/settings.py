"""County settings: a value stored for the county, else the product's default."""
import copy
import json
from typing import Any

from sqlalchemy import select

from fieldlog.extensions import db
from fieldlog.models import CountySetting, OrgUnit, User
from fieldlog.models.base import utcnow
from fieldlog.services.people.audit import record

# The product's defaults; a county overrides any of them (admin pages write CountySetting rows).
DEFAULTS: dict[str, Any] = {
    # Days in the village a cadre must reach each month (local rules: 20 a month, 200 a year).
    "attendance_days_per_month": 20,
    # Who approves leave, by length: every step whose `from_days` the request reaches must
    # approve, in order. Here: any leave by the township; 4 days or more by the county too.
    "leave_chain": [{"level": "township", "from_days": 1}, {"level": "county", "from_days": 4}],
    # The 千分制 scoring rubric (services/scoring.py validates it): items worth 1000 points in
    # all, each computed from a metric (linear to `max` at `target`; for a lower-is-better
    # metric full at `target`, zero at `zero_at`; count metrics are per month) or scored by
    # hand by a supervisor with a reason; grade bands from the highest `min` down.
    "scoring_rubric": {
        "items": [
            {"code": "days", "label": {"zh": "驻村天数", "en": "Days in the village"},
             "max": 200, "computed": {"metric": "days_ratio", "target": 1.0}},
            {"code": "visits", "label": {"zh": "走访农户", "en": "Household visits"},
             "max": 120, "computed": {"metric": "visits_per_month", "target": 20}},
            {"code": "coverage", "label": {"zh": "走访覆盖", "en": "Visit coverage"},
             "max": 80, "computed": {"metric": "visit_coverage", "target": 1.0}},
            {"code": "sanlao_sanhu", "label": {"zh": "访三老走三户", "en": "三老/三户 coverage"},
             "max": 100, "computed": {"metric": "key_coverage", "target": 1.0}},
            {"code": "six_one", "label": {"zh": "六个一", "en": "Six-one actions"},
             "max": 150, "computed": {"metric": "six_one", "target": 1.0}},
            {"code": "meetings", "label": {"zh": "三会一课与村民说事", "en": "Meetings held"},
             "max": 100, "computed": {"metric": "meetings_per_month", "target": 4}},
            {"code": "ledger", "label": {"zh": "民情办结", "en": "Ledger items resolved"},
             "max": 100, "computed": {"metric": "ledger_resolution", "target": 0.9}},
            {"code": "quality", "label": {"zh": "记录质量（退回率）", "en": "Record quality"},
             "max": 50, "computed": {"metric": "returned_rate", "target": 0.0, "zero_at": 0.2}},
            {"code": "evaluation", "label": {"zh": "组织与群众评价", "en": "Evaluation"},
             "max": 100, "manual": True},
        ],
        "bands": [
            {"min": 900, "label": {"zh": "优秀", "en": "Excellent"}},
            {"min": 750, "label": {"zh": "称职", "en": "Competent"}},
            {"min": 600, "label": {"zh": "基本称职", "en": "Basically competent"}},
            {"min": 0, "label": {"zh": "不称职", "en": "Not competent"}},
        ],
    },
}


_LEVELS_BELOW_COUNTY = {"county": 0, "township": 1, "village": 2}


def county_id_of(unit: OrgUnit) -> int:
    """Return the id of the county a unit belongs to: on its path, as many levels up as the
    unit's kind lies below a county (a city may sit above the county). For a city itself,
    its first county by code (a city administrator's county settings pages act on that
    county until they offer a choice)."""
    ids = [int(part) for part in unit.path.strip("/").split("/") if part]
    if unit.kind in _LEVELS_BELOW_COUNTY:
        return ids[len(ids) - 1 - _LEVELS_BELOW_COUNTY[unit.kind]]
    county = db.session.scalar(select(OrgUnit.id).where(
        OrgUnit.parent_id == unit.id, OrgUnit.kind == "county").order_by(OrgUnit.code))
    return county if county is not None else unit.id


def county_setting(unit: OrgUnit, key: str) -> Any:
    """Return the county's value for `key`, or the default."""
    stored = db.session.scalar(select(CountySetting.value).where(
        CountySetting.county_id == county_id_of(unit), CountySetting.key == key))
    # A copy: a caller may change what it gets without changing the product's default.
    return json.loads(stored) if stored is not None else copy.deepcopy(DEFAULTS[key])


def set_county_setting(actor: User, county: OrgUnit, key: str, value: Any) -> None:
    """Store a county's value for `key` (audited) and commit."""
    if key not in DEFAULTS:
        raise KeyError(key)
    row = db.session.scalar(select(CountySetting).where(
        CountySetting.county_id == county.id, CountySetting.key == key))
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    if row is None:
        row = CountySetting(county_id=county.id, key=key, value=text)
        db.session.add(row)
    row.value, row.updated_by_id, row.updated_at = text, actor.id, utcnow()
    record("settings.update", actor=actor, object_type="county", object_id=str(county.id),
           details={"key": key})
    db.session.commit()


def leave_chain(unit: OrgUnit, days: int) -> list[str]:
    """Return the levels that must approve a leave of `days` days, in order."""
    steps = county_setting(unit, "leave_chain")
    return [step["level"] for step in steps if days >= int(step.get("from_days", 1))] \
        or [steps[0]["level"]]


def settings_counties(user: User) -> list[OrgUnit]:
    """Return the counties a user's county settings pages may act on: their own county, or
    each county (in use) of a city administrator's city, by code."""
    unit = user.scope_unit
    if unit.kind != "city":
        return [db.session.get(OrgUnit, county_id_of(unit))]
    return list(db.session.scalars(select(OrgUnit).where(
        OrgUnit.parent_id == unit.id, OrgUnit.kind == "county", OrgUnit.retired_at.is_(None))
        .order_by(OrgUnit.code)))


def settings_county(user: User, county_id: int | None) -> OrgUnit | None:
    """Return the county a settings page acts on: the only one, or the one chosen among
    `settings_counties`; None when a city administrator has not chosen (never a guess)."""
    counties = settings_counties(user)
    if len(counties) == 1:
        return counties[0]
    return next((c for c in counties if c.id == county_id), None)
