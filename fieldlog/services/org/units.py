"""Building the org tree: (city →) county → township → village, with materialised paths."""
from sqlalchemy import func, select, update

from fieldlog.extensions import db
from fieldlog.models import OrgUnit

# The kind of a unit's children; a root is a county unless made a city.
CHILD_KIND = {None: "county", "city": "county", "county": "township", "township": "village"}
# The kinds a unit of each kind may hang under (a county may be a root or under a city).
PARENT_KINDS = {"city": (None,), "county": (None, "city"), "township": ("county",),
                "village": ("township",)}


def add_unit(parent: OrgUnit | None, code: str, name: str, *, lat: float | None = None,
             lon: float | None = None, geofence_m: int | None = None,
             kind: str | None = None) -> OrgUnit:
    """Add a unit under `parent` (kind follows from the parent; a root may be made a city)
    and set its path; no commit."""
    kind = kind or CHILD_KIND[parent.kind if parent else None]
    if (parent.kind if parent else None) not in PARENT_KINDS[kind]:
        raise ValueError(f"a {kind} cannot hang under {parent.kind if parent else 'nothing'}")
    unit = OrgUnit(parent=parent, kind=kind, code=code, name=name, lat=lat, lon=lon,
                   geofence_m=geofence_m)
    db.session.add(unit)
    db.session.flush()
    unit.path = f"{parent.path if parent else '/'}{unit.id}/"
    return unit


def subtree(unit: OrgUnit, *, kind: str | None = None, active_only: bool = False):
    """Select the units under `unit`, itself included (optionally of one kind, not retired)."""
    query = select(OrgUnit).where(OrgUnit.path.startswith(unit.path, autoescape=True))
    if kind:
        query = query.where(OrgUnit.kind == kind)
    if active_only:
        query = query.where(OrgUnit.retired_at.is_(None))
    return query


def reparent(unit: OrgUnit, parent: OrgUnit) -> None:
    """Hang `unit` under `parent` and rewrite the materialised path of its whole subtree in
    one statement; no commit."""
    old, new = unit.path, f"{parent.path}{unit.id}/"
    unit.parent = parent
    db.session.flush()
    db.session.execute(
        update(OrgUnit).where(OrgUnit.path.startswith(old, autoescape=True))
        .values(path=new + func.substr(OrgUnit.path, len(old) + 1))
        .execution_options(synchronize_session=False))
    db.session.expire_all()


def ancestors(unit: OrgUnit) -> list[OrgUnit]:
    """Return the units on the path from the root down to `unit`, itself included."""
    ids = [int(part) for part in unit.path.strip("/").split("/") if part]
    by_id = {u.id: u for u in db.session.scalars(select(OrgUnit).where(OrgUnit.id.in_(ids)))}
    return [by_id[i] for i in ids if i in by_id]
