"""Importing a register file into a village: the preview against what is stored, then applying it.

An import is all or nothing: the file is parsed and checked in full, and only a file without
a single error is written, in one transaction, updating households by 门牌号 (house label).
A column the file does not have leaves the stored value alone, and a masked number that
matches the one on file keeps it: the default (masked) export comes back unchanged.
"""
import uuid
from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import delete, insert, select, update

from fieldlog.errors import Invalid
from fieldlog.extensions import db
from fieldlog.models import Household, HouseholdTag, User
from fieldlog.services.people.audit import record
from fieldlog.services.people.privacy import mask_phone
from fieldlog.services.register.fields import COLUMN_NAMES
from fieldlog.services.register.households import state, village_for_import
from fieldlog.services.register.parsing import Preview, RegisterRow, RowError, parse_register


@dataclass
class ImportResult:
    created: int
    updated: int
    unchanged: int


def _keep_what_the_file_lacks(row: RegisterRow, household: Household | None,
                              columns: set[str]) -> str | None:
    """Fill a row's missing columns and masked phone from the household on file.

    Return an error message when a masked number does not stand for the one on file.
    """
    if household is not None:
        for key in ("member_count", "phone"):
            if key not in columns:
                setattr(row, key, getattr(household, key))
        if "tags" not in columns:
            row.tags = sorted(household.tags)
        if "lat" not in columns or "lon" not in columns:
            row.lat, row.lon = household.lat, household.lon
    if row.phone and "*" in row.phone:
        if household is None or mask_phone(household.phone) != row.phone:
            return _("%(phone)s is a masked number that is not the one on file: type the "
                     "full number, or leave the cell empty.", phone=row.phone)
        row.phone = household.phone
    return None


def _comparable(state: tuple) -> tuple:
    """Round coordinates to ~1 cm: a spreadsheet keeps 15 significant digits, not 17."""
    return tuple(round(v, 7) if isinstance(v, float) else v for v in state)


def preview_register(user: User, village_id: int, data: bytes, filename: str = "") -> Preview:
    """Parse a file for a village and mark each row as new, an update or unchanged."""
    village_for_import(user, village_id)
    preview = parse_register(data, filename)
    existing = {h.house_label: h for h in db.session.scalars(
        select(Household).where(Household.village_id == village_id))}
    kept = []
    for row in preview.rows:
        household = existing.get(row.house_label)
        problem = _keep_what_the_file_lacks(row, household, preview.columns)
        if problem:
            preview.errors.append(RowError(row.row, COLUMN_NAMES["phone"], problem))
            continue
        kept.append(row)
        if household is not None:
            row.household_id = household.id
            same = _comparable(state(household)) == _comparable(
                (row.head_name, row.member_count, row.phone, row.tags, row.lat, row.lon))
            row.action = "unchanged" if same else "update"
    preview.rows = kept
    return preview


def import_register(user: User, village_id: int, data: bytes, filename: str = "") -> ImportResult:
    """Import a whole file or nothing: Invalid lists every row error; audited and committed."""
    preview = preview_register(user, village_id, data, filename)
    if preview.errors:
        raise Invalid(ngettext("The file has %(num)s error; nothing was imported.",
                               "The file has %(num)s errors; nothing was imported.",
                               len(preview.errors)), code="register_errors",
                      fields={"rows": [str(e) for e in preview.errors]})
    new = [r for r in preview.rows if r.action == "new"]
    changed = [r for r in preview.rows if r.action == "update"]
    try:
        for row in new:
            row.household_id = str(uuid.uuid4())
        if new:
            db.session.execute(insert(Household), [
                {"id": r.household_id, "village_id": village_id, **_columns(r)} for r in new])
        if changed:
            db.session.execute(update(Household), [
                {"id": r.household_id, **_columns(r)} for r in changed])
            ids = [r.household_id for r in changed]
            for start in range(0, len(ids), 500):
                db.session.execute(delete(HouseholdTag).where(
                    HouseholdTag.household_id.in_(ids[start:start + 500])))
        tag_rows = [{"household_id": r.household_id, "tag": t} for r in new + changed
                    for t in r.tags]
        if tag_rows:
            db.session.execute(insert(HouseholdTag), tag_rows)
        result = ImportResult(len(new), len(changed), preview.count("unchanged"))
        record("register.import", actor=user, object_type="village", object_id=village_id,
               details={"created": result.created, "updated": result.updated,
                        "unchanged": result.unchanged, "filename": filename[:100]})
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    db.session.expire_all()  # bulk statements bypass the identity map
    return result


def _columns(row: RegisterRow) -> dict:
    return {"head_name": row.head_name, "house_label": row.house_label,
            "member_count": row.member_count, "phone": row.phone, "lat": row.lat,
            "lon": row.lon}
