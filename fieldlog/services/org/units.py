"""Building the org tree."""
from fieldlog.extensions import db
from fieldlog.models import OrgUnit

_CHILD_KIND = {None: "county", "county": "township", "township": "village"}


def add_unit(parent: OrgUnit | None, code: str, name: str, *, lat: float | None = None,
             lon: float | None = None, geofence_m: int | None = None) -> OrgUnit:
    """Add a unit under `parent` (kind follows from the parent) and set its path; no commit."""
    kind = _CHILD_KIND[parent.kind if parent else None]
    unit = OrgUnit(parent=parent, kind=kind, code=code, name=name, lat=lat, lon=lon,
                   geofence_m=geofence_m)
    db.session.add(unit)
    db.session.flush()
    unit.path = f"{parent.path if parent else '/'}{unit.id}/"
    return unit
