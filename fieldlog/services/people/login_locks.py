"""Failed sign-ins counted per user and source, so a lockout slows a guesser, not the owner.

A source is where the attempt comes from: the client address ("ip:…", the real client behind
`TRUSTED_PROXIES` hops of reverse proxy) or, when the request proves it comes from a device the
user signed in on before, that device ("device:…"): the browser's signed known-device cookie,
or the phone's device token. After LOGIN_MAX_FAILURES failures from one source that source is
locked for LOGIN_LOCK_MINUTES, and each further lock of the same source lasts twice as long (at
most a day). Other sources, the owner's own browser and phone above all, are not affected.
"""
import secrets
from datetime import datetime, timedelta

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from fieldlog.extensions import db
from fieldlog.models import DeviceToken, LoginLock, User
from fieldlog.models.base import utcnow

KNOWN_DEVICE_COOKIE = "fieldlog_known_device"
KNOWN_DEVICE_DAYS = 400
MAX_LOCK = timedelta(hours=24)
FORGET_LOCKOUTS_AFTER = timedelta(hours=24)  # a source quiet this long starts again at 15 min
FORGET_SOURCES_AFTER = timedelta(days=30)


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="fieldlog-known-device")


def new_known_device_cookie(user: User) -> str:
    """Return a signed value naming the user and a fresh device id, for the browser to keep."""
    return _serializer().dumps({"u": user.id, "d": secrets.token_hex(8)})


def device_of_cookie(user: User, value: str | None) -> str | None:
    """Return the device source a known-device cookie proves for this user, else None."""
    if not value:
        return None
    try:
        data = _serializer().loads(value)
    except BadSignature:
        return None
    if not isinstance(data, dict) or data.get("u") != user.id or not isinstance(data.get("d"),
                                                                                 str):
        return None
    return "device:" + data["d"][:32]


def device_of_token(user: User, raw: str | None) -> str | None:
    """Return the device source of a token this user was ever given (even revoked), else None.

    A phone that signed out keeps proving it is the same phone when it signs in again.
    """
    if not raw:
        return None
    token_id = db.session.scalar(select(DeviceToken.id).where(
        DeviceToken.token_hash == DeviceToken.digest(raw), DeviceToken.user_id == user.id))
    return f"device:{token_id}" if token_id else None


def address_source(address: str) -> str:
    return "ip:" + (address or "unknown")[:64]


def locked_until(user: User, source: str) -> datetime | None:
    """Return until when this source may not sign in as the user (None: it may)."""
    until = db.session.scalar(select(LoginLock.locked_until).where(
        LoginLock.user_id == user.id, LoginLock.source == source))
    return until if until is not None and until > utcnow() else None


def _row(user: User, source: str) -> LoginLock:
    lock = db.session.scalar(select(LoginLock).where(LoginLock.user_id == user.id,
                                                     LoginLock.source == source))
    if lock is None:
        try:
            with db.session.begin_nested():  # two first failures at once: one row wins
                lock = LoginLock(user_id=user.id, source=source, failures=0, lockouts=0,
                                 updated_at=utcnow())
                db.session.add(lock)
        except IntegrityError:
            lock = db.session.scalar(select(LoginLock).where(LoginLock.user_id == user.id,
                                                             LoginLock.source == source))
    return lock


def note_failure(user: User, source: str) -> int | None:
    """Count a failure from the source; return the lock's minutes when it locks now."""
    config = current_app.config
    now = utcnow()
    # Addresses are personal data: forget the user's sources quiet for a month.
    db.session.execute(delete(LoginLock).where(
        LoginLock.user_id == user.id, LoginLock.updated_at < now - FORGET_SOURCES_AFTER,
        LoginLock.source != source))
    lock = _row(user, source)
    if lock.locked_until is not None and now - lock.locked_until > FORGET_LOCKOUTS_AFTER:
        lock.lockouts = 0
    db.session.execute(update(LoginLock).where(LoginLock.id == lock.id).values(
        failures=LoginLock.failures + 1, updated_at=now))  # atomic: parallel tries all count
    db.session.refresh(lock)
    minutes = None
    if lock.failures >= config["LOGIN_MAX_FAILURES"]:
        lock.lockouts += 1
        span = min(timedelta(minutes=config["LOGIN_LOCK_MINUTES"]) * 2 ** min(
            lock.lockouts - 1, 16), MAX_LOCK)
        lock.failures, lock.locked_until = 0, now + span
        minutes = int(span.total_seconds() // 60)
    _summarise(user)
    return minutes


def note_success(user: User, source: str) -> None:
    """Forget the source's failures; other sources keep theirs."""
    db.session.execute(delete(LoginLock).where(LoginLock.user_id == user.id,
                                               LoginLock.source == source))
    _summarise(user)


def forget(user: User) -> None:
    """Forget every source's failures and locks of the user (an administrator's unlock)."""
    db.session.execute(delete(LoginLock).where(LoginLock.user_id == user.id))
    user.failed_logins, user.locked_until = 0, None


def _summarise(user: User) -> None:
    """Keep the user's failed_logins and locked_until as the summary the admin page shows."""
    db.session.flush()
    failures, until = db.session.execute(
        select(func.coalesce(func.sum(LoginLock.failures), 0), func.max(LoginLock.locked_until))
        .where(LoginLock.user_id == user.id)).one()
    user.failed_logins = int(failures)
    user.locked_until = until if until is not None and until > utcnow() else None
