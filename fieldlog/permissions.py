"""Who may see and do what: pure predicates, scope queries and a role decorator."""
from functools import wraps

from flask import abort
from flask_login import current_user
from sqlalchemy import Select, select

from fieldlog.models import OrgUnit, User

REVIEWER_ROLES = ("supervisor", "inspector", "admin")


def unit_in_scope(user: User, unit: OrgUnit) -> bool:
    """Return whether `unit` lies inside the user's scope of the org tree."""
    return unit.path.startswith(user.scope_unit.path)


def can_record_in(user: User, village: OrgUnit) -> bool:
    """Return whether the user may make records in this village."""
    return user.role == "secretary" and village.kind == "village" and unit_in_scope(user, village)


def can_view_records_of(user: User, village: OrgUnit) -> bool:
    """Return whether the user may see the records of this village."""
    return user.is_active and unit_in_scope(user, village)


# Why a household's full phone number may be shown (each reveal is audited with it):
# "callback" — an inspector (or an admin working a sample) on their own phone-callback task;
# "register" — the village's own secretary, who knows the household anyway, in the register.
PHONE_REVEALS = {"callback": ("inspector", "admin"), "register": ("secretary",)}


def can_reveal_phone(user: User, village: OrgUnit, purpose: str) -> bool:
    """Return whether the user may see a household's full number in this village, for this
    purpose. Everyone else sees masked numbers only."""
    if user.role not in PHONE_REVEALS.get(purpose, ()) or not can_view_records_of(user, village):
        return False
    return purpose != "register" or user.scope_unit_id == village.id


def scope_village_ids(user: User) -> Select:
    """Select the ids of the villages inside the user's scope (use as a subquery)."""
    return select(OrgUnit.id).where(
        OrgUnit.kind == "village", OrgUnit.path.startswith(user.scope_unit.path, autoescape=True)
    )


def roles_required(*roles: str):
    """Let a view run only for signed-in users with one of `roles`."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                from fieldlog.extensions import login_manager

                return login_manager.unauthorized()
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator
