"""Village boundaries from a GeoJSON or KML file: match each feature to a village in the
administrator's scope (by 村代码/code, else by a name only one village has), check it (a clean
polygon that holds the village centre), preview, then store all or nothing (audited)."""
import json
from dataclasses import dataclass, field

from flask_babel import gettext as _
from flask_babel import ngettext

from fieldlog.errors import Invalid
from fieldlog.extensions import db
from fieldlog.models import OrgUnit, User
from fieldlog.services.common.geo import bbox_of, point_in_polygon
from fieldlog.services.org.boundary_file import Feature, parse_boundaries
from fieldlog.services.org.units import subtree
from fieldlog.services.people.audit import record


@dataclass
class BoundaryRow:
    feature: Feature
    village: OrgUnit | None = None
    action: str = ""  # new | replace | unchanged
    problem: str = ""


@dataclass
class BoundaryPreview:
    rows: list[BoundaryRow] = field(default_factory=list)

    @property
    def errors(self) -> list[BoundaryRow]:
        return [r for r in self.rows if r.problem]

    def count(self, action: str) -> int:
        return sum(1 for r in self.rows if r.action == action and not r.problem)


def _as_text(geometry: dict) -> str:
    return json.dumps(geometry, separators=(",", ":"))


def preview_boundaries(actor: User, data: bytes, filename: str = "",
                       gcj02: bool = False) -> BoundaryPreview:
    """Read the file and say, per feature, which village it is and whether it can be stored."""
    features = parse_boundaries(data, filename, gcj02)
    villages = list(db.session.scalars(subtree(actor.scope_unit, kind="village")))
    by_code = {v.code: v for v in villages}
    by_name: dict[str, list[OrgUnit]] = {}
    for v in villages:
        by_name.setdefault(v.name, []).append(v)
    preview, seen = BoundaryPreview(), {}
    for feature in features:
        row = BoundaryRow(feature)
        preview.rows.append(row)
        if feature.code:
            row.village = by_code.get(feature.code)
        elif feature.name and len(by_name.get(feature.name, [])) == 1:
            row.village = by_name[feature.name][0]
        if row.village is None:
            row.problem = _("no village in your scope has the code %(code)s.",
                            code=feature.code) if feature.code else _(
                "%(name)s names more than one village in your scope: give the 村代码.",
                name=feature.name) if len(by_name.get(feature.name, [])) > 1 else _(
                "no village in your scope is called %(name)s.", name=feature.name or "—")
            continue
        if row.village.id in seen:
            row.problem = _("%(name)s already has a boundary in feature %(n)s.",
                            name=row.village.name, n=seen[row.village.id])
            continue
        seen[row.village.id] = feature.number
        if feature.problem:
            row.problem = _("malformed geometry: %(problem)s.", problem=feature.problem)
            continue
        v = row.village
        if v.lat is not None and v.lon is not None and not point_in_polygon(
                v.lat, v.lon, feature.geometry):
            row.problem = _("the boundary does not contain the village centre (%(lat)s, "
                            "%(lon)s); check the file, or the option for GCJ-02 coordinates.",
                            lat=v.lat, lon=v.lon)
            continue
        text = _as_text(feature.geometry)
        row.action = "new" if not v.boundary else "unchanged" if v.boundary == text \
            else "replace"
    return preview


def import_boundaries(actor: User, data: bytes, filename: str = "",
                      gcj02: bool = False) -> int:
    """Store every boundary of the file or none: Invalid lists each problem; audited."""
    preview = preview_boundaries(actor, data, filename, gcj02)
    if preview.errors:
        raise Invalid(ngettext("The file has %(num)s problem; nothing was stored.",
                               "The file has %(num)s problems; nothing was stored.",
                               len(preview.errors)), code="boundary_errors",
                      fields={"rows": [_("Feature %(n)s (%(label)s): %(problem)s",
                                         n=r.feature.number, label=r.feature.label,
                                         problem=r.problem) for r in preview.errors]})
    stored = 0
    try:
        for row in preview.rows:
            if row.action == "unchanged":
                continue
            set_boundary(row.village, row.feature.geometry)
            stored += 1
        record("org.boundaries", actor=actor, object_type="org_unit",
               object_id=actor.scope_unit_id,
               details={"villages": stored, "unchanged": preview.count("unchanged"),
                        "gcj02": gcj02, "filename": filename[:100]})
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return stored


def set_boundary(village: OrgUnit, geometry: dict | None) -> None:
    """Store (or with None, clear) a village's boundary and its bounding box; no commit."""
    if geometry is None:
        village.boundary = None
        village.bbox_min_lat = village.bbox_min_lon = None
        village.bbox_max_lat = village.bbox_max_lon = None
        return
    village.boundary = _as_text(geometry)
    (village.bbox_min_lat, village.bbox_min_lon,
     village.bbox_max_lat, village.bbox_max_lon) = bbox_of(geometry)


def clear_boundary(actor: User, village: OrgUnit) -> None:
    """Remove a village's boundary: the centre and radius count again (audited)."""
    if village.boundary is None:
        return
    set_boundary(village, None)
    record("org.boundary_clear", actor=actor, object_type="org_unit", object_id=village.id,
           details={"name": village.name})
    db.session.commit()
