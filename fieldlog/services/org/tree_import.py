"""Importing an org tree file: the preview against what is stored, then applying it.

All or nothing, like the household register: the whole file is checked, and only a file
without a single error is written, in one transaction. Villages are matched by 村代码 (so a
re-import updates, never duplicates), townships and counties by name, created as needed under
the administrator's unit: a county administrator imports into their county, a city
administrator into any county of the city (new counties are created under it).
"""
from dataclasses import dataclass, field

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select

from fieldlog.errors import Invalid
from fieldlog.extensions import db
from fieldlog.models import OrgUnit, User
from fieldlog.services.org.tree_file import (
    COLUMN_NAMES,
    RowError,
    TreeRow,
    parse_tree,
)
from fieldlog.services.org.units import add_unit, reparent, subtree
from fieldlog.services.people.audit import record

DEFAULT_RADIUS = 1000


@dataclass
class TreePreview:
    rows: list[TreeRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    new_counties: list[str] = field(default_factory=list)
    new_townships: list[str] = field(default_factory=list)  # "county · township"

    def count(self, action: str) -> int:
        return sum(1 for row in self.rows if row.action == action)


@dataclass
class TreeResult:
    created: int
    updated: int
    unchanged: int
    townships: int
    counties: int


class _Plan:
    """What is stored under the admin's unit, indexed the ways the file is matched."""

    def __init__(self, actor: User):
        scope = actor.scope_unit
        if scope.kind not in ("city", "county"):
            raise Invalid(_("Importing a tree needs a county or city administrator."),
                          code="scope")
        self.scope = scope
        units = list(db.session.scalars(subtree(scope)))
        self.by_id = {u.id: u for u in units}
        self.counties = {u.name: u for u in units if u.kind == "county"}
        self.townships = {(u.parent_id, u.name): u for u in units if u.kind == "township"}
        self.villages_by_name = {(u.parent_id, u.name): u for u in units if u.kind == "village"}

    def county_for(self, row: TreeRow, errors: list[RowError]) -> OrgUnit | str | None:
        """The row's county: a stored one, the name of one to create, or None (an error)."""
        if self.scope.kind == "county":
            if row.county and row.county != self.scope.name:
                errors.append(RowError(row.row, COLUMN_NAMES["county"], _(
                    "%(county)s is outside your scope: you administer %(scope)s.",
                    county=row.county, scope=self.scope.name)))
                return None
            return self.scope
        if not row.county:
            errors.append(RowError(row.row, COLUMN_NAMES["county"], _(
                "missing: name the county of %(scope)s.", scope=self.scope.name)))
            return None
        return self.counties.get(row.county, row.county)


def _describe_changes(row: TreeRow, village: OrgUnit, township_name: str,
                      by_id: dict) -> list[str]:
    changes = []
    if village.name != row.village:
        changes.append(_("name %(old)s → %(new)s", old=village.name, new=row.village))
    old_township = by_id.get(village.parent_id)
    old_county = by_id.get(old_township.parent_id) if old_township else None
    if old_township is None or old_township.name != township_name or (
            row.county and old_county is not None and old_county.name != row.county):
        changes.append(_("moves from %(old)s to %(new)s", old=old_township.name if
                         old_township else "—", new=township_name))
    if (round(village.lat or 0, 7), round(village.lon or 0, 7)) != (
            round(row.lat, 7), round(row.lon, 7)):
        changes.append(_("centre %(old)s → %(new)s",
                         old=f"{village.lat}, {village.lon}", new=f"{row.lat}, {row.lon}"))
    if row.radius is not None and row.radius != village.geofence_m:
        changes.append(_("radius %(old)s → %(new)s m", old=village.geofence_m, new=row.radius))
    return changes


def preview_tree(actor: User, data: bytes) -> TreePreview:
    """Parse a tree file and mark each village as new, an update (saying what changes) or
    unchanged; every problem, in the file or against what is stored, is a row error."""
    plan = _Plan(actor)
    parsed = parse_tree(data)
    preview = TreePreview(errors=list(parsed.errors))
    codes = {row.code for row in parsed.rows}
    stored = {u.code: u for u in db.session.scalars(
        select(OrgUnit).where(OrgUnit.code.in_(codes)))} if codes else {}
    new_counties: set[str] = set()
    new_townships: set[tuple[str, str]] = set()
    for row in parsed.rows:
        county = plan.county_for(row, preview.errors)
        if county is None:
            continue
        existing = stored.get(row.code)
        if existing is not None and existing.id not in plan.by_id:
            preview.errors.append(RowError(row.row, COLUMN_NAMES["code"], _(
                "%(code)s is already used by a unit outside your scope.", code=row.code)))
            continue
        if existing is not None and existing.kind != "village":
            preview.errors.append(RowError(row.row, COLUMN_NAMES["code"], _(
                "%(code)s is already the code of %(name)s, which is not a village.",
                code=row.code, name=existing.name)))
            continue
        township = None
        if isinstance(county, OrgUnit):
            township = plan.townships.get((county.id, row.township))
            if township is not None and township.retired:
                preview.errors.append(RowError(row.row, COLUMN_NAMES["township"], _(
                    "%(name)s is retired; bring it back first.", name=township.name)))
                continue
        else:
            new_counties.add(county)
        if township is None:
            new_townships.add((row.county or plan.scope.name, row.township))
        elif existing is None:
            twin = plan.villages_by_name.get((township.id, row.village))
            if twin is not None:
                preview.errors.append(RowError(row.row, COLUMN_NAMES["village"], _(
                    "%(township)s already has a village %(name)s, with the code %(code)s.",
                    township=township.name, name=row.village, code=twin.code)))
                continue
        if existing is not None:
            row.village_id = existing.id
            row.changes = _describe_changes(row, existing, row.township, plan.by_id)
            row.action = "update" if row.changes else "unchanged"
        preview.rows.append(row)
    preview.new_counties = sorted(new_counties)
    preview.new_townships = [f"{c} · {t}" for c, t in sorted(new_townships)]
    return preview


def _free_code(wanted: str, taken: set[str]) -> str:
    """`wanted` when no unit has it, else wanted-2, wanted-3… (a county or township made by
    name from its villages' codes; the admin may correct it on the tree page)."""
    code, n = wanted, 1
    while code in taken or db.session.scalar(
            select(OrgUnit.id).where(OrgUnit.code == code)) is not None:
        n += 1
        code = f"{wanted}-{n}"
    taken.add(code)
    return code


def import_tree(actor: User, data: bytes, filename: str = "") -> TreeResult:
    """Import a whole tree file or nothing: Invalid lists every row error; audited."""
    preview = preview_tree(actor, data)
    if preview.errors:
        raise Invalid(ngettext("The file has %(num)s error; nothing was imported.",
                               "The file has %(num)s errors; nothing was imported.",
                               len(preview.errors)), code="tree_errors",
                      fields={"rows": [str(e) for e in preview.errors]})
    plan = _Plan(actor)
    taken = {row.code for row in preview.rows}
    made_counties = made_townships = 0
    try:
        for row in preview.rows:
            if row.action == "unchanged":
                continue
            county = plan.county_for(row, [])
            if not isinstance(county, OrgUnit):
                county = add_unit(plan.scope, _free_code(row.code[:6], taken), row.county)
                plan.counties[county.name] = county
                made_counties += 1
            township = plan.townships.get((county.id, row.township))
            if township is None:
                township = add_unit(county, _free_code(row.code[:9], taken), row.township)
                plan.townships[(county.id, row.township)] = township
                made_townships += 1
            radius = row.radius
            if row.village_id is None:
                add_unit(township, row.code, row.village, lat=row.lat, lon=row.lon,
                         geofence_m=radius or DEFAULT_RADIUS)
                continue
            village = db.session.get(OrgUnit, row.village_id)
            village.name, village.lat, village.lon = row.village, row.lat, row.lon
            if radius is not None:
                village.geofence_m = radius
            if village.parent_id != township.id:
                reparent(village, township)
        result = TreeResult(preview.count("new"), preview.count("update"),
                            preview.count("unchanged"), made_townships, made_counties)
        record("org.import", actor=actor, object_type="org_unit", object_id=plan.scope.id,
               details={"created": result.created, "updated": result.updated,
                        "unchanged": result.unchanged, "townships": result.townships,
                        "counties": result.counties, "filename": filename[:100]})
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return result
