"""Sign-in and per-device tokens."""
import hashlib
import secrets
import uuid
from datetime import timedelta

from sqlalchemy import select, update
from werkzeug.security import check_password_hash, generate_password_hash

from fieldlog.extensions import db
from fieldlog.models import DeviceToken, User
from fieldlog.models.base import utcnow

# Checked against when the username is unknown, so a miss costs as much time as a hit.
_DUMMY_HASH = generate_password_hash("not-a-password", method="scrypt")


def hash_password(password: str) -> str:
    """Hash a password with scrypt."""
    return generate_password_hash(password, method="scrypt")


def authenticate(username: str, password: str) -> User | None:
    """Return the active user with these credentials, or None."""
    user = db.session.scalar(select(User).where(User.username == username.strip()))
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not check_password_hash(user.password_hash, password) or not user.active:
        return None
    return user


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def issue_device_token(user: User, label: str = "") -> tuple[DeviceToken, str]:
    """Create a device token; the raw token is returned once and only its hash is kept."""
    raw = secrets.token_urlsafe(32)
    token = DeviceToken(id=str(uuid.uuid4()), user_id=user.id, token_hash=_digest(raw),
                        label=label[:200])
    db.session.add(token)
    db.session.commit()
    return token, raw


def user_for_device_token(raw: str) -> tuple[User, DeviceToken] | None:
    """Return the user and token for a raw bearer token that is not revoked."""
    token = db.session.scalar(select(DeviceToken).where(DeviceToken.token_hash == _digest(raw)))
    if token is None or token.revoked_at is not None or not token.user.active:
        return None
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=10):
        token.last_used_at = now  # coarse, so sync does not write on every request
        db.session.commit()
    return token.user, token


def revoke_device_token(user: User, device_id: str | None) -> None:
    """Revoke one of the user's device tokens (on sign-out)."""
    try:
        device_id = str(uuid.UUID(str(device_id)))
    except ValueError:
        return  # the page could not tell which device it is; sign-out still goes ahead
    db.session.execute(
        update(DeviceToken)
        .where(DeviceToken.id == device_id, DeviceToken.user_id == user.id,
               DeviceToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    db.session.commit()
