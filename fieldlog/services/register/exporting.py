"""Exporting a village's register as XLSX: masked by default, in full for administrators.

The default export is masked (docs/security.md): phones as 138****5678, no categories (they
say who is poor, disabled, petitioning or left behind) and no position (it is a home). The
full register is a separate export for administrators, with a stated reason, audited.
"""
import io

from flask_babel import gettext as _
from sqlalchemy import select

from fieldlog.errors import Forbidden, Invalid, NotFound
from fieldlog.extensions import db
from fieldlog.models import Household, OrgUnit, User
from fieldlog.permissions import unit_in_scope
from fieldlog.services.common.cells import cell, marking
from fieldlog.services.people.audit import record
from fieldlog.services.people.privacy import REASON_MAX, mask_phone
from fieldlog.services.register.fields import COLUMN_NAMES, TAG_CHINESE

MASKED_COLUMNS = ("head_name", "house_label", "member_count", "phone")
FULL_COLUMNS = ("head_name", "house_label", "member_count", "phone", "tags", "lon", "lat")


def export_register(user: User, village_id: int, *, full_reason: str | None = None) -> bytes:
    """Return the village's register as XLSX, marked as personal information; audited.

    By default phones are masked and categories and positions left out. With `full_reason`
    (administrators only) everything is exported, and the reason is kept in the audit trail.
    """
    from openpyxl import Workbook

    village = db.session.get(OrgUnit, village_id)
    if village is None or village.kind != "village" or not unit_in_scope(user, village):
        raise NotFound(_("No such village in your scope."))
    full = full_reason is not None
    if full:
        full_reason = full_reason.strip()
        if user.role != "admin":
            raise Forbidden(_("Only an administrator may export the full register."))
        if not full_reason or len(full_reason) > REASON_MAX:
            message = _("Say why the full register is needed (at most %(n)s characters).",
                        n=REASON_MAX)
            raise Invalid(message, fields={"reason": [message]})
    households = list(db.session.scalars(
        select(Household).where(Household.village_id == village_id,
                                Household.anonymised_at.is_(None))
        .order_by(Household.house_label)))
    details = {"rows": len(households), "masked": not full}
    if full:
        details["reason"] = full_reason
    record("export.register_full" if full else "export.register", actor=user,
           object_type="village", object_id=village_id, details=details)
    db.session.commit()
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("户籍台账（含个人信息）")
    sheet.append([marking()])
    sheet.append([_("Full register, exported for: %(reason)s", reason=cell(full_reason)) if full
                  else _("Phones masked; categories and positions not exported.")])
    columns = FULL_COLUMNS if full else MASKED_COLUMNS
    sheet.append([COLUMN_NAMES[k] for k in columns])
    for h in households:
        cells = {"head_name": cell(h.head_name), "house_label": cell(h.house_label),
                 "member_count": h.member_count,
                 "phone": cell(h.phone or "") if full else mask_phone(h.phone),
                 "tags": "、".join(TAG_CHINESE[t] for t in h.tags if t in TAG_CHINESE),
                 "lon": h.lon, "lat": h.lat}
        sheet.append([cells[k] for k in columns])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
