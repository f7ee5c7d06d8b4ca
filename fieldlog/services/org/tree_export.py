"""Exporting the administrator's part of the org tree as XLSX, in the columns the import reads
(县, 乡镇, 村, 村代码, 中心纬度, 中心经度, 半径(米)): export → edit → import round-trips."""
import io

from sqlalchemy import select

from fieldlog.extensions import db
from fieldlog.models import OrgUnit, User
from fieldlog.services.common.cells import cell
from fieldlog.services.org.tree_file import EXPORT_HEADER
from fieldlog.services.org.units import subtree
from fieldlog.services.people.audit import record


def tree_rows(actor: User) -> list[list]:
    """Return one row per village in use under the admin's unit, by code."""
    units = {u.id: u for u in db.session.scalars(subtree(actor.scope_unit))}
    villages = sorted((u for u in units.values() if u.kind == "village" and not u.retired),
                      key=lambda u: u.code)
    rows = []
    for v in villages:
        township = units.get(v.parent_id)
        county = units.get(township.parent_id) if township else None
        if county is None and township is not None:  # an admin of a township or below
            county = db.session.scalar(select(OrgUnit).where(OrgUnit.id == township.parent_id))
        rows.append([cell(county.name if county else ""), cell(township.name if township else ""),
                     cell(v.name), v.code, v.lat, v.lon, v.geofence_m])
    return rows


def export_tree(actor: User) -> bytes:
    """Return the tree as XLSX (audited)."""
    from openpyxl import Workbook

    rows = tree_rows(actor)
    record("org.export", actor=actor, object_type="org_unit", object_id=actor.scope_unit_id,
           details={"rows": len(rows)})
    db.session.commit()
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("组织架构")
    sheet.append(list(EXPORT_HEADER))
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
