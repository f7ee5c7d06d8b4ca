"""Signing in with lockout, passwords, signing out everywhere, and per-device tokens.

Every security event is written to the audit trail in the same transaction as the change.
"""
import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import NoReturn

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import case, func, or_, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from fieldlog.errors import FieldlogError, Forbidden, Invalid, NotFound
from fieldlog.extensions import db
from fieldlog.models import DeviceToken, OrgUnit, User
from fieldlog.models.base import utcnow
from fieldlog.models.people import ROLES
from fieldlog.permissions import unit_in_scope
from fieldlog.ratelimit import note_unknown_name_failure, unknown_name_locked
from fieldlog.services.people import login_locks, password_policy
from fieldlog.services.people.audit import record

# Checked against when the username is unknown, so a miss costs as much time as a hit.
_DUMMY_HASH = generate_password_hash("not-a-password", method="scrypt")


class SignInRefused(FieldlogError):
    """Wrong credentials or a locked account; the answer is the same for unknown usernames."""

    status = 401
    code = "wrong_credentials"


def hash_password(password: str) -> str:
    """Hash a password with scrypt."""
    return generate_password_hash(password, method="scrypt")


def authenticate(username: str, password: str) -> User | None:
    """Check credentials only, without lockout or audit (scripts); sign-in uses `sign_in`."""
    user = db.session.scalar(select(User).where(User.username == username.strip()))
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not check_password_hash(user.password_hash, password) or not user.active:
        return None
    return user


def sign_in(username: str, password: str, *, channel: str, address: str = "",
            known_cookie: str | None = None, device_token: str | None = None,
            allow_pending_change: bool = True) -> User:
    """Check credentials with lockout and record the outcome; return the user or raise.

    Failures lock the source they come from (`address`, or a device the user signed in on
    before, proved by `known_cookie` or `device_token`), never the whole account: see
    services/login_locks. Unknown usernames cost the same scrypt check, get the same message
    and lock after the same number of failures as real accounts, so the answers do not
    reveal who exists.
    """
    name = username.strip()[:64]
    user = db.session.scalar(select(User).where(User.username == name)) if name else None
    password_ok = check_password_hash(user.password_hash if user else _DUMMY_HASH, password)
    if user is None:
        key = f"{name}|{login_locks.address_source(address)}"
        locked = unknown_name_locked(key)
        locked_now = not locked and note_unknown_name_failure(
            key, current_app.config["LOGIN_MAX_FAILURES"],
            current_app.config["LOGIN_LOCK_MINUTES"] * 60)
        _refuse(None, name, "unknown_user", channel, locked or locked_now, locked_now)
    source = (login_locks.device_of_cookie(user, known_cookie)
              or login_locks.device_of_token(user, device_token)
              or login_locks.address_source(address))
    if login_locks.locked_until(user, source):
        _refuse(user, name, "locked", channel, True, None, source)
    if not password_ok or not user.active or user.anonymised_at is not None:
        minutes = login_locks.note_failure(user, source)
        reason = "bad_password" if password_ok is False else "inactive"
        _refuse(user, name, reason, channel, minutes is not None, minutes, source)
    if user.must_change_password and not allow_pending_change:
        record("login.failure", object_type="user", object_id=user.id, actor_name=name,
               details={"reason": "password_change_required", "channel": channel})
        db.session.commit()
        raise SignInRefused("Change the temporary password on the web page first.",
                            code="password_change_required")
    login_locks.note_success(user, source)
    record("login.success", actor=user, object_type="user", object_id=user.id,
           details={"channel": channel})
    db.session.commit()
    return user


def _refuse(user: User | None, name: str, reason: str, channel: str, locked: bool,
            locked_now: bool | int | None, source: str = "") -> NoReturn:
    object_id = user.id if user else ""
    # What was typed into the username box may be a password; keep only real usernames in the
    # append-only trail, and a short fingerprint of anything else (still enough to correlate).
    name = user.username if user else "?" + hashlib.sha256(name.encode()).hexdigest()[:12]
    record("login.failure", object_type="user", object_id=object_id, actor_name=name,
           details={"reason": reason, "channel": channel})
    if locked_now:
        minutes = (locked_now if locked_now is not True
                   else current_app.config["LOGIN_LOCK_MINUTES"])
        record("login.lockout", object_type="user", object_id=object_id, actor_name=name,
               details={"minutes": minutes, "known_user": user is not None,
                        "source": source.partition(":")[0] or "ip"})
    db.session.commit()
    if locked:
        raise SignInRefused("Too many failed sign-ins from here: signing in to this account "
                            "from here is paused for a while.", code="locked")
    raise SignInRefused("Wrong username or password.")


def note_sign_out(user: User, device_id: str | None) -> None:
    """Record a sign-out and revoke this device's token, if the page knew it."""
    revoked = _revoke(user, device_id) if device_id else None
    record("logout", actor=user, object_type="user", object_id=user.id,
           details={"device_id": revoked} if revoked else {})
    db.session.commit()


def note_session_expired(user: User, reason: str) -> None:
    """Record that a session ended by itself (idle or too old)."""
    record("session.expire", actor=user, object_type="user", object_id=user.id,
           details={"reason": reason})
    db.session.commit()


def change_password(user: User, current: str, new: str, confirm: str) -> None:
    """Set a new password that passes the policy; other sessions of the user end.

    Device tokens stay valid: phones keep sending their waiting records. To cut a phone
    off, revoke it or sign out everywhere.
    """
    errors: dict[str, list[str]] = {}
    if not check_password_hash(user.password_hash, current):
        errors["current_password"] = [_("The current password is wrong.")]
    if problems := password_policy.problems(new, user.username):
        errors["new_password"] = problems
    elif new != confirm:
        errors["confirm_password"] = [_("The two new passwords are not the same.")]
    elif not errors and check_password_hash(user.password_hash, new):
        errors["new_password"] = [_("Choose a password different from the current one.")]
    if errors:
        raise Invalid(_("The password was not changed."), fields=errors)
    forced = bool(user.must_change_password)
    user.password_hash = hash_password(new)
    user.password_changed_at = utcnow()
    user.must_change_password = False
    user.session_epoch += 1
    record("password.change", actor=user, object_type="user", object_id=user.id,
           details={"forced": forced})
    db.session.commit()


def sign_out_everywhere(user: User) -> int:
    """End every session of the user and revoke all their device tokens; return how many.

    Phones keep their unsent records: sync gets 401 and asks for a new token once the
    user signs in again on that phone.
    """
    user.session_epoch += 1
    revoked = _revoke_all(user)
    record("session.revoke_all", actor=user, object_type="user", object_id=user.id,
           details={"devices_revoked": revoked})
    db.session.commit()
    return revoked


# Administrators -------------------------------------------------------------------------

@dataclass
class UserPage:
    users: list[User]
    total: int
    page: int
    pages: int


def list_users(admin: User, *, role: str | None = None, query: str = "", page: int = 1,
               per_page: int = 50) -> UserPage:
    """List the users inside the admin's scope, filtered by role and by name."""
    stmt = select(User).join(OrgUnit, User.scope_unit_id == OrgUnit.id).where(
        OrgUnit.path.startswith(admin.scope_unit.path, autoescape=True))
    if role in ROLES:
        stmt = stmt.where(User.role == role)
    if query := query.strip()[:64]:
        stmt = stmt.where(or_(User.username.icontains(query, autoescape=True),
                              User.display_name.icontains(query, autoescape=True)))
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery()))
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    by_role = case({name: n for n, name in enumerate(ROLES)}, value=User.role)
    users = list(db.session.scalars(stmt.order_by(by_role, User.username)
                                    .limit(per_page).offset((page - 1) * per_page)))
    return UserPage(users, total, page, pages)


def user_for_admin(admin: User, user_id: int) -> User:
    """Return a user inside the admin's scope; NotFound otherwise (existence is not revealed)."""
    user = db.session.get(User, user_id)
    if admin.role != "admin" or user is None or not unit_in_scope(admin, user.scope_unit):
        raise NotFound("No such user.")
    return user


def reset_password(admin: User, user: User) -> str:
    """Give the user a temporary password (returned once), force a change, end all sessions."""
    if user.id == admin.id:
        raise Forbidden(_("Change your own password on your account page."))
    temporary = password_policy.temporary_password()
    user.password_hash = hash_password(temporary)
    user.password_changed_at = utcnow()
    user.must_change_password = True
    login_locks.forget(user)
    user.session_epoch += 1
    revoked = _revoke_all(user)
    record("password.reset", actor=admin, object_type="user", object_id=user.id,
           details={"username": user.username, "devices_revoked": revoked})
    db.session.commit()
    return temporary


def unlock(admin: User, user: User) -> None:
    """Lift every lockout of the user now and forget the failed sign-ins, from every source."""
    login_locks.forget(user)
    record("user.unlock", actor=admin, object_type="user", object_id=user.id,
           details={"username": user.username})
    db.session.commit()


def is_locked(user: User) -> bool:
    """Return whether some source is locked out of the user's account right now."""
    return user.locked_until is not None and user.locked_until > utcnow()


# Device tokens ----------------------------------------------------------------------------

def token_digest(raw: str) -> str:
    """Return what is stored of a raw device token: its SHA-256."""
    return DeviceToken.digest(raw)


def issue_device_token(user: User, label: str = "", *, via: str = "session") -> tuple[
        DeviceToken, str]:
    """Create a device token; the raw token is returned once and only its hash is kept."""
    raw = secrets.token_urlsafe(32)
    # The label is the browser's own description: keep it printable (PostgreSQL refuses NUL).
    label = "".join(ch for ch in label if ch.isprintable())[:200]
    token = DeviceToken(id=str(uuid.uuid4()), user_id=user.id, token_hash=token_digest(raw),
                        label=label)
    db.session.add(token)
    record("device.issue", actor=user, object_type="device_token", object_id=token.id,
           details={"label": label[:80], "via": via})
    db.session.commit()
    return token, raw


def user_for_device_token(raw: str) -> tuple[User, DeviceToken] | None:
    """Return the user and token for a raw bearer token that is not revoked."""
    token = db.session.scalar(select(DeviceToken).where(
        DeviceToken.token_hash == token_digest(raw)))
    if token is None or token.revoked_at is not None or not token.user.active:
        return None
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=10):
        token.last_used_at = now  # coarse, so sync does not write on every request
        db.session.commit()
    return token.user, token


def devices_of(user: User, limit: int = 50) -> list[DeviceToken]:
    """Return the user's device tokens, newest first (active and revoked)."""
    return list(db.session.scalars(select(DeviceToken).where(DeviceToken.user_id == user.id)
                                   .order_by(DeviceToken.created_at.desc()).limit(limit)))


def revoke_device(user: User, device_id: str) -> None:
    """Revoke one of the user's own device tokens; NotFound if it is not theirs."""
    if _revoke(user, device_id) is None:
        exists = db.session.scalar(select(DeviceToken.id).where(
            DeviceToken.id == _uuid(device_id), DeviceToken.user_id == user.id))
        if exists is None:
            raise NotFound("No such device.")
        return  # already revoked
    db.session.commit()


def _uuid(value) -> str | None:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        return None


def _revoke(user: User, device_id) -> str | None:
    """Revoke one active token of the user (in the transaction); return its id if it was."""
    device_id = _uuid(device_id)
    if device_id is None:
        return None
    done = db.session.execute(
        update(DeviceToken)
        .where(DeviceToken.id == device_id, DeviceToken.user_id == user.id,
               DeviceToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    ).rowcount
    if not done:
        return None
    record("device.revoke", actor=user, object_type="device_token", object_id=device_id)
    return device_id


def _revoke_all(user: User) -> int:
    return db.session.execute(
        update(DeviceToken)
        .where(DeviceToken.user_id == user.id, DeviceToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    ).rowcount
