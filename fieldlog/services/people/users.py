"""Administering accounts: create with a one-time password, edit, deactivate and reactivate.

An admin administers only the users whose scope lies inside their own scope (a county admin
their county; a city admin the counties below the city), and can give nobody a scope wider
than their own. Users are never deleted: a deactivated user cannot sign in on the web or the
API, their sessions and device tokens stop working, and everything they recorded stays.
"""
import re
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import func, or_, select

from fieldlog.errors import Forbidden, Invalid, NotFound
from fieldlog.extensions import db
from fieldlog.models import Assignment, OrgUnit, User
from fieldlog.models.people import ROLES
from fieldlog.permissions import unit_in_scope
from fieldlog.services.people import login_locks, password_policy
from fieldlog.services.people.audit import record
from fieldlog.services.people.auth import _revoke_all, hash_password
from fieldlog.timefmt import local_today

LOCALES = ("", "zh_Hans_CN", "en")  # "" follows the browser
USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{2,63}$")
PHONE_RE = re.compile(r"^1[3-9]\d{9}$")
EDITABLE = ("display_name", "phone", "role", "scope_unit_id", "locale")


@dataclass
class Created:
    """A new account and its one-time password (returned once; only the hash is stored)."""

    user: User
    password: str


# --- scope -------------------------------------------------------------------------------

def units_for(admin: User, kinds: tuple[str, ...] | None = None, *, keep: int | None = None
              ) -> list[OrgUnit]:
    """Return the units a picker offers inside the admin's scope (optionally of some kinds),
    tree order: retired units are left out, except `keep` (the unit an edited user holds)."""
    stmt = select(OrgUnit).where(OrgUnit.path.startswith(admin.scope_unit.path, autoescape=True),
                                 or_(OrgUnit.retired_at.is_(None), OrgUnit.id == (keep or 0)))
    if kinds:
        stmt = stmt.where(OrgUnit.kind.in_(kinds))
    return list(db.session.scalars(stmt.order_by(OrgUnit.path)))


def unit_for(admin: User, unit_id, *, current: int | None = None) -> OrgUnit:
    """Return a unit inside the admin's scope and in use (a retired one only if it is
    `current`, the unit the user already holds); Invalid otherwise."""
    unit = db.session.get(OrgUnit, unit_id) if str(unit_id or "").isdigit() else None
    if unit is None or not unit_in_scope(admin, unit):
        raise Invalid(_("Choose an area inside your own."), fields={
            "scope_unit_id": [_("Choose an area inside your own.")]})
    if unit.retired and unit.id != current:
        message = _("%(name)s is retired: choose a unit in use.", name=unit.name)
        raise Invalid(message, fields={"scope_unit_id": [message]})
    return unit


def managed_user(admin: User, user_id: int) -> User:
    """Return a user the admin administers; NotFound otherwise (existence is not revealed)."""
    user = db.session.get(User, user_id)
    if admin.role != "admin" or user is None or not unit_in_scope(admin, user.scope_unit):
        raise NotFound(_("No such user."))
    return user


# --- checks ------------------------------------------------------------------------------

def normalise_phone(raw: str) -> str:
    """Return a mobile number as 11 digits: spaces, dashes and a +86 prefix dropped."""
    digits = re.sub(r"[\s\-()（）]", "", raw or "")
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    return digits


def phone_problem(admin: User, phone: str, *, except_user_id: int | None = None) -> str | None:
    """Return why a phone cannot be used for an active account, or None.

    The holder is named only when the admin administers them; otherwise the message says
    the number is taken outside the admin's area and nothing more.
    """
    if not PHONE_RE.match(phone):
        return _("Enter an 11-digit mobile number, e.g. 13800001234.")
    stmt = select(User).where(User.phone == phone, User.active.is_(True))
    if except_user_id is not None:
        stmt = stmt.where(User.id != except_user_id)
    holder = db.session.scalars(stmt.limit(1)).first()
    if holder is None:
        return None
    if admin.role == "admin" and unit_in_scope(admin, holder.scope_unit):
        return _("This phone is already used by %(name)s (%(username)s).",
                 name=holder.display_name, username=holder.username)
    return _("This phone is already used by an account outside your area.")


def username_taken(username: str) -> bool:
    """Return whether a username exists (active or not, anywhere: usernames are never reused)."""
    return db.session.scalar(select(User.id).where(
        func.lower(User.username) == username.lower())) is not None


def _role_fits(role: str, unit: OrgUnit) -> str | None:
    if role == "secretary" and unit.kind != "village":
        return _("A first secretary or team member belongs to a village.")
    if role != "secretary" and unit.kind == "village":
        return _("Supervisors, inspectors and administrators are assigned to a township, a "
                 "county or above, not to a village.")
    return None


def _clean(admin: User, form, user: User | None) -> tuple[dict, dict[str, list[str]]]:
    """Check the editable fields of a form; return (values, errors by field)."""
    errors: dict[str, list[str]] = {}
    values = {"display_name": (form.get("display_name") or "").strip()[:64],
              "phone": normalise_phone(form.get("phone") or "") or None,
              "role": form.get("role") or "", "locale": form.get("locale") or ""}
    if not values["display_name"]:
        errors["display_name"] = [_("Enter the person's name.")]
    if values["role"] not in ROLES:
        errors["role"] = [_("Choose a role.")]
    if values["locale"] not in LOCALES:
        errors["locale"] = [_("Choose a language.")]
    if values["phone"] and (problem := phone_problem(
            admin, values["phone"], except_user_id=user.id if user else None)):
        errors["phone"] = [problem]
    try:
        unit = unit_for(admin, form.get("scope_unit_id"),
                        current=user.scope_unit_id if user else None)
        values["scope_unit_id"] = unit.id
        if "role" not in errors and (problem := _role_fits(values["role"], unit)):
            errors["scope_unit_id"] = [problem]
    except Invalid as exc:
        errors.update(exc.fields)
    if values["role"] == "secretary" and not values["phone"]:
        errors.setdefault("phone", [_("A cadre's mobile number is needed.")])
    return values, errors


def _invalid(errors: dict) -> Invalid:
    return Invalid(_("Nothing was saved: correct the fields marked below."), fields=errors)


# --- changes -----------------------------------------------------------------------------

def create_user(admin: User, form) -> Created:
    """Create an account with a one-time password it must change at first sign-in; commit."""
    values, errors = _clean(admin, form, None)
    username = (form.get("username") or "").strip()
    if not USERNAME_RE.match(username):
        errors["username"] = [_("Use 3–64 letters, digits, dots, dashes or underscores.")]
    elif username_taken(username):
        errors["username"] = [_("The username %(name)s is taken.", name=username)]
    if errors:
        raise _invalid(errors)
    created = add_account(admin, username, values)
    db.session.commit()
    return created


def add_account(admin: User, username: str, values: dict, *, via: str = "form") -> Created:
    """Add a checked account with a one-time password, audited; the caller commits."""
    password = password_policy.temporary_password()
    user = User(username=username, password_hash=hash_password(password),
                must_change_password=True, active=True,  # never changed: a welcome, not a reset
                **{key: values[key] or None if key in ("phone", "locale") else values[key]
                   for key in EDITABLE})
    db.session.add(user)
    db.session.flush()
    record("user.create", actor=admin, object_type="user", object_id=user.id,
           details={"username": username, "role": user.role,
                    "scope_unit_id": user.scope_unit_id, "via": via})
    return Created(user, password)


def update_user(admin: User, user: User, form) -> list[str]:
    """Save the edited fields; return the names of those that changed (audited); commit."""
    values, errors = _clean(admin, form, user)
    if user.id == admin.id and (values.get("role") != user.role
                                or values.get("scope_unit_id") != user.scope_unit_id):
        errors["role"] = [_("You cannot change your own role or area; ask another "
                            "administrator.")]
    if (user.role == "secretary" and "scope_unit_id" not in errors
            and values.get("scope_unit_id") != user.scope_unit_id and _has_current_term(user)):
        errors["scope_unit_id"] = [_("This cadre has a running term: move them to another "
                                     "village on the terms below.")]
    if errors:
        raise _invalid(errors)
    values["phone"] = values["phone"] or None
    values["locale"] = values["locale"] or None
    changed = [key for key in EDITABLE if getattr(user, key) != values[key]]
    if not changed:
        return []
    before = {key: getattr(user, key) for key in changed}
    for key in changed:
        setattr(user, key, values[key])
    if {"role", "scope_unit_id"} & set(changed):
        _end_access(user)  # what they may see changed: sign in again
    record("user.update", actor=admin, object_type="user", object_id=user.id,
           details={"username": user.username, "fields": changed,
                    "previous": {k: v for k, v in before.items() if k != "phone"}})
    db.session.commit()
    return changed


def _has_current_term(user: User) -> bool:
    today = local_today()
    return db.session.scalar(select(Assignment.id).where(
        Assignment.user_id == user.id, Assignment.start_date <= today,
        (Assignment.end_date.is_(None)) | (Assignment.end_date >= today)).limit(1)) is not None


def _end_access(user: User) -> int:
    """End every session of the user and revoke their device tokens; return how many."""
    user.session_epoch += 1
    return _revoke_all(user)


def deactivate(admin: User, user: User) -> None:
    """Stop the user from signing in anywhere; keep the account and its records; commit."""
    if user.id == admin.id:
        raise Forbidden(_("You cannot deactivate your own account."))
    if not user.active:
        return
    user.active = False
    revoked = _end_access(user)
    record("user.deactivate", actor=admin, object_type="user", object_id=user.id,
           details={"username": user.username, "devices_revoked": revoked})
    db.session.commit()


def reactivate(admin: User, user: User) -> None:
    """Let a deactivated user sign in again, unless their phone is now someone else's; commit."""
    if user.active:
        return
    if user.anonymised_at is not None:
        raise Invalid(_("This account was anonymised and cannot be used again."))
    if user.phone and (problem := phone_problem(admin, user.phone, except_user_id=user.id)):
        raise Invalid(problem, fields={"phone": [problem]})
    user.active = True
    login_locks.forget(user)
    record("user.reactivate", actor=admin, object_type="user", object_id=user.id,
           details={"username": user.username})
    db.session.commit()
