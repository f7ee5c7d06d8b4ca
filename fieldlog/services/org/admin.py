"""The administrator's edits of the org tree, each within their scope and audited: create,
edit (name, code, centre, radius), move under another parent of the right kind, retire and
bring back, delete (only a unit nothing refers to)."""
import re
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from fieldlog.errors import Conflict, Invalid, NotFound
from fieldlog.extensions import db
from fieldlog.models import OrgUnit, User
from fieldlog.models.base import utcnow
from fieldlog.permissions import unit_in_scope
from fieldlog.services.org.units import PARENT_KINDS, add_unit, reparent, subtree
from fieldlog.services.people.audit import record

VILLAGE_CODE = re.compile(r"\d{12}")
UNIT_CODE = re.compile(r"\d{6,12}")  # a county's 6, a township's 9, or the 12-digit form
NAME_MAX = 80
RADIUS_MIN, RADIUS_MAX, RADIUS_DEFAULT = 50, 20_000, 1000
EDITABLE = ("name", "code", "lat", "lon", "geofence_m")


@dataclass
class TreeNode:
    unit: OrgUnit
    depth: int
    children: list["TreeNode"] = field(default_factory=list)


def tree_for_admin(actor: User) -> list[TreeNode]:
    """Return the admin's part of the tree in display order (siblings by code), flattened."""
    units = list(db.session.scalars(subtree(actor.scope_unit).order_by(OrgUnit.code)))
    nodes = {u.id: TreeNode(u, 0) for u in units}
    roots = []
    for unit in units:
        parent = nodes.get(unit.parent_id)
        (parent.children if parent else roots).append(nodes[unit.id])
    flat: list[TreeNode] = []

    def walk(node: TreeNode, depth: int) -> None:
        node.depth = depth
        flat.append(node)
        for child in node.children:
            walk(child, depth + 1)

    for root in roots:
        walk(root, 0)
    return flat


def unit_for_admin(actor: User, unit_id: int | None) -> OrgUnit:
    """Return a unit inside the admin's scope; NotFound otherwise (existence not revealed)."""
    unit = db.session.get(OrgUnit, unit_id) if unit_id else None
    if actor.role != "admin" or unit is None or not unit_in_scope(actor, unit):
        raise NotFound(_("No such unit."))
    return unit


def parent_choices(actor: User, kind: str) -> list[OrgUnit]:
    """Return the units in scope a unit of `kind` may hang under (not retired), by code."""
    kinds = [k for k in PARENT_KINDS[kind] if k]
    return list(db.session.scalars(subtree(actor.scope_unit, active_only=True)
                                   .where(OrgUnit.kind.in_(kinds)).order_by(OrgUnit.code)))


def child_kind(unit: OrgUnit) -> str | None:
    """Return the kind of the units created under `unit` (None under a village)."""
    return {"city": "county", "county": "township", "township": "village"}.get(unit.kind)


def _number(text: str, low: float, high: float, label: str, errors: dict, key: str,
            integer: bool = False):
    text = (text or "").strip()
    if not text:
        return None
    try:
        value = int(text) if integer else float(text)
    except ValueError:
        errors[key] = _("%(label)s must be a number.", label=label)
        return None
    if not low <= value <= high:
        errors[key] = _("%(label)s must lie between %(low)s and %(high)s.", label=label,
                        low=low, high=high)
        return None
    return value


def clean_form(kind: str, form: dict, *, current_code: str | None = None) -> dict:
    """Check the fields of a unit of `kind`; Invalid names every problem by field."""
    errors: dict[str, str] = {}
    name = (form.get("name") or "").strip()
    if not name or len(name) > NAME_MAX:
        errors["name"] = _("Give a name of at most %(n)s characters.", n=NAME_MAX)
    code = (form.get("code") or "").strip()
    pattern = VILLAGE_CODE if kind == "village" else UNIT_CODE
    if code != current_code and not pattern.fullmatch(code):
        errors["code"] = _("A village's 统计用区划代码 has 12 digits.") if kind == "village" \
            else _("The 统计用区划代码 has 6 to 12 digits.")
    values = {"name": name, "code": code}
    if kind == "village":
        values["lat"] = _number(form.get("lat"), -90, 90, _("Latitude"), errors, "lat")
        values["lon"] = _number(form.get("lon"), -180, 180, _("Longitude"), errors, "lon")
        for key in ("lat", "lon"):
            if values[key] is None and key not in errors:
                errors[key] = _("A village needs its centre (latitude and longitude).")
        radius = _number(form.get("geofence_m"), RADIUS_MIN, RADIUS_MAX, _("Radius (m)"),
                         errors, "geofence_m", integer=True)
        values["geofence_m"] = radius if radius is not None else RADIUS_DEFAULT
    if "code" not in errors and code != current_code and db.session.scalar(
            select(OrgUnit.id).where(OrgUnit.code == code)) is not None:
        errors["code"] = _("The code %(code)s is already used by another unit.", code=code)
    if errors:
        raise Invalid(_("Please correct the marked fields."), fields=errors)
    return values


def _commit() -> None:
    try:
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise


def create_unit(actor: User, parent_id: int, form: dict) -> OrgUnit:
    """Create a unit under a parent in scope (its kind follows from the parent); audited."""
    parent = unit_for_admin(actor, parent_id)
    kind = child_kind(parent)
    if kind is None or parent.retired:
        raise Invalid(_("Nothing can be created under %(name)s.", name=parent.name))
    values = clean_form(kind, form)
    unit = add_unit(parent, **values)
    record("org.create", actor=actor, object_type="org_unit", object_id=unit.id,
           details={"kind": kind, "code": unit.code, "name": unit.name, "parent": parent.id})
    _commit()
    return unit


def create_root(kind: str, code: str, name: str) -> OrgUnit:
    """Create a tree's root, a county or a city (the command line's `flask org add-root`:
    the pages only create units under one an admin already holds); audited, committed.

    A fresh database has no unit, hence no admin: an operator adds the root, then its first
    admin with `flask create-user --role admin --unit CODE`, who sets up the rest in pages.
    """
    if kind not in ("county", "city"):
        raise Invalid(_("A root is a county or a city."))
    values = clean_form(kind, {"name": name, "code": code})
    unit = add_unit(None, kind=kind, **values)
    record("org.create", actor_name="cli", object_type="org_unit", object_id=unit.id,
           details={"kind": kind, "code": unit.code, "name": unit.name, "parent": None})
    _commit()
    return unit


def update_unit(actor: User, unit: OrgUnit, form: dict) -> list[str]:
    """Change a unit's name, code, centre and radius; audited with what changed."""
    values = clean_form(unit.kind, form, current_code=unit.code)
    changed = {key: [getattr(unit, key), value] for key, value in values.items()
               if getattr(unit, key) != value}
    for key, (_old, new) in changed.items():
        setattr(unit, key, new)
    if changed:
        record("org.update", actor=actor, object_type="org_unit", object_id=unit.id,
               details={"changes": {k: [str(o), str(n)] for k, (o, n) in changed.items()}})
        _commit()
    return sorted(changed)


def move_unit(actor: User, unit: OrgUnit, parent_id: int) -> None:
    """Hang a unit (and its subtree) under another parent in scope of the right kind."""
    if unit.id == actor.scope_unit_id:
        raise Invalid(_("You cannot move the unit you administer."))
    parent = unit_for_admin(actor, parent_id)
    if parent.kind not in PARENT_KINDS[unit.kind] or parent.retired:
        raise Invalid(_("A %(kind)s cannot be moved under %(name)s.", kind=kind_label(
            unit.kind), name=parent.name))
    if parent.id == unit.parent_id:
        return
    before = unit.parent_id
    reparent(unit, parent)
    record("org.move", actor=actor, object_type="org_unit", object_id=unit.id,
           details={"from": before, "to": parent.id})
    _commit()


def retire_unit(actor: User, unit: OrgUnit) -> None:
    """Retire a unit: gone from pickers and new assignments, its history kept. Its units
    below must be retired (or moved) first."""
    if unit.id == actor.scope_unit_id:
        raise Invalid(_("You cannot retire the unit you administer."))
    active_children = db.session.scalar(select(OrgUnit.id).where(
        OrgUnit.parent_id == unit.id, OrgUnit.retired_at.is_(None)).limit(1))
    if active_children is not None:
        raise Conflict(_("%(name)s still has units in use below it: retire or move them "
                         "first.", name=unit.name))
    if unit.retired:
        return
    unit.retired_at = utcnow()
    record("org.retire", actor=actor, object_type="org_unit", object_id=unit.id,
           details={"name": unit.name})
    _commit()


def restore_unit(actor: User, unit: OrgUnit) -> None:
    """Bring a retired unit back into use (its parent must be in use)."""
    if unit.parent is not None and unit.parent.retired:
        raise Conflict(_("Bring %(name)s back first.", name=unit.parent.name))
    if not unit.retired:
        return
    unit.retired_at = None
    record("org.restore", actor=actor, object_type="org_unit", object_id=unit.id,
           details={"name": unit.name})
    _commit()


def delete_unit(actor: User, unit: OrgUnit) -> None:
    """Delete a unit nothing refers to (no units below, records, households or users: the
    database's foreign keys say so); otherwise Conflict: retire it instead."""
    if unit.id == actor.scope_unit_id or db.session.scalar(
            select(OrgUnit.id).where(OrgUnit.parent_id == unit.id).limit(1)) is not None:
        raise Conflict(_("%(name)s has units below it; retire it instead.", name=unit.name))
    details = {"kind": unit.kind, "code": unit.code, "name": unit.name}
    unit_id = unit.id
    try:
        with db.session.begin_nested():
            db.session.delete(unit)
            db.session.flush()
    except IntegrityError as exc:
        db.session.rollback()
        raise Conflict(_("%(name)s has records, households or users; retire it instead.",
                         name=details["name"])) from exc
    record("org.delete", actor=actor, object_type="org_unit", object_id=unit_id,
           details=details)
    _commit()


def kind_label(kind: str) -> str:
    """Return the reader's word for a kind of unit."""
    return {"city": _("city"), "county": _("county"), "township": _("township"),
            "village": _("village")}.get(kind, kind)
