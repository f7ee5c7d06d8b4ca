"""County settings: a value stored for the county, else the product's default."""
import json
from typing import Any

from sqlalchemy import select

from fieldlog.extensions import db
from fieldlog.models import CountySetting, OrgUnit, User
from fieldlog.models.base import utcnow
from fieldlog.services.audit import record

# The product's defaults; a county overrides any of them (admin pages write CountySetting rows).
DEFAULTS: dict[str, Any] = {
    # Days in the village a cadre must reach each month (local rules: 20 a month, 200 a year).
    "attendance_days_per_month": 20,
    # Who approves leave, by length: every step whose `from_days` the request reaches must
    # approve, in order. Here: any leave by the township; 4 days or more by the county too.
    "leave_chain": [{"level": "township", "from_days": 1}, {"level": "county", "from_days": 4}],
}


def county_id_of(unit: OrgUnit) -> int:
    """Return the id of the county a unit belongs to (the first element of its path)."""
    return int(unit.path.strip("/").split("/")[0])


def county_setting(unit: OrgUnit, key: str) -> Any:
    """Return the county's value for `key`, or the default."""
    stored = db.session.scalar(select(CountySetting.value).where(
        CountySetting.county_id == county_id_of(unit), CountySetting.key == key))
    return json.loads(stored) if stored is not None else DEFAULTS[key]


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
