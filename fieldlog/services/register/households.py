"""Reading and editing one household of the register (户籍台账), and who may change a village's.

Only the village's secretary or an administrator in scope changes a register, by file
(register.importing) or one household at a time here. Edits are checked like imported rows
(register.fields), audited and committed.
"""
from flask_babel import gettext as _
from sqlalchemy import select

from fieldlog.domain import TAGS
from fieldlog.errors import Forbidden, Invalid, NotFound
from fieldlog.extensions import db
from fieldlog.models import Household, HouseholdTag, OrgUnit, User
from fieldlog.permissions import unit_in_scope
from fieldlog.services.people.audit import record
from fieldlog.services.register.fields import check_household


def village_for_import(user: User, village_id: int) -> OrgUnit:
    """Return the village whose register the user may change (its secretary, or an admin)."""
    village = db.session.get(OrgUnit, village_id)
    if village is None or village.kind != "village" or not unit_in_scope(user, village):
        raise NotFound(_("No such village in your scope."))
    if village.retired:
        raise Invalid(_("%(name)s is retired: its register can no longer be changed.",
                        name=village.name))
    if user.role == "admin" or (user.role == "secretary" and user.scope_unit_id == village.id):
        return village
    raise Forbidden(_("Only the village's secretary or an administrator may change its "
                      "register."))


STATE = ("head_name", "member_count", "phone", "tags", "lat", "lon")


def state(h: Household) -> tuple:
    """Return a household's fields in STATE order, for comparing with an imported row."""
    return (h.head_name, h.member_count, h.phone, sorted(h.tags), h.lat, h.lon)


def editable_household(user: User, household_id: str) -> Household:
    """Return a household the user may edit (its village's secretary, or an admin in scope)."""
    household = db.session.get(Household, str(household_id))
    if household is None:
        raise NotFound(_("No such household in your scope."))
    village_for_import(user, household.village_id)
    return household


def update_household(user: User, household_id: str, form) -> Household:
    """Change a household's fields, tags and location; Invalid with field errors; audited."""
    household = editable_household(user, household_id)
    cells = {k: (form.get(k) or "").strip() for k in
             ("head_name", "house_label", "member_count", "phone", "lat", "lon")}
    if not cells["phone"] and not form.get("clear_phone"):
        cells["phone"] = household.phone or ""  # the form never shows the number: blank keeps it
    unknown = [t for t in form.getlist("tags") if t not in TAGS]
    cells["tags"] = " ".join(t for t in form.getlist("tags") if t in TAGS)
    values, errors = check_household(cells)
    if unknown:
        errors.setdefault("tags", []).append(_("Unknown category."))
    taken = db.session.scalar(select(Household.id).where(
        Household.village_id == household.village_id,
        Household.house_label == values["house_label"], Household.id != household.id))
    if values["house_label"] and taken:
        errors.setdefault("house_label", []).append(
            _("Another household already has this house number."))
    if errors:
        raise Invalid(_("Please correct the marked fields."), fields=errors)
    names = ("head_name", "member_count", "phone", "tags", "lat", "lon")
    before = {"house_label": household.house_label,
              **dict(zip(names, state(household), strict=True))}
    changed = sorted(k for k, v in values.items() if before[k] != v)
    for key in ("head_name", "house_label", "member_count", "phone", "lat", "lon"):
        setattr(household, key, values[key])
    if "tags" in changed:
        kept = [row for row in household.tag_rows if row.tag in values["tags"]]
        have = {row.tag for row in kept}
        household.tag_rows = kept + [HouseholdTag(tag=t) for t in values["tags"]
                                     if t not in have]
    record("household.update", actor=user, object_type="household", object_id=household.id,
           details={"fields": changed})
    db.session.commit()
    return household
