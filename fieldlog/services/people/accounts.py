"""Creating accounts (from the command line today; an admin page later)."""
from sqlalchemy import select

from fieldlog.errors import Invalid
from fieldlog.extensions import db
from fieldlog.models import OrgUnit, User
from fieldlog.models.people import ROLES
from fieldlog.services.people import password_policy
from fieldlog.services.people.audit import record
from fieldlog.services.people.auth import hash_password


def create_user(username: str, display_name: str, role: str, unit_code: str,
                password: str) -> User:
    """Create a user scoped to an org unit, with a password that meets the policy; commit."""
    username = username.strip()
    if role not in ROLES:
        raise Invalid(f"Unknown role {role}.")
    unit = db.session.scalar(select(OrgUnit).where(OrgUnit.code == unit_code))
    if unit is None:
        raise Invalid(f"No org unit with code {unit_code}.")
    if role == "secretary" and unit.kind != "village":
        raise Invalid("A secretary's scope must be a village.")
    if db.session.scalar(select(User.id).where(User.username == username)):
        raise Invalid(f"The username {username} is taken.")
    if problems := password_policy.problems(password, username):
        raise Invalid(" ".join(problems))
    user = User(username=username, display_name=display_name.strip(), role=role,
                scope_unit_id=unit.id, password_hash=hash_password(password))
    db.session.add(user)
    db.session.flush()
    record("user.create", object_type="user", object_id=user.id, actor_name="cli",
           details={"role": role, "unit": unit_code})
    db.session.commit()
    return user
