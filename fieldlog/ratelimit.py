"""Rate limits on signing in (Flask-Limiter), and lockout counters for unknown usernames.

Counters live in memory by default; set RATELIMIT_STORAGE_URI=redis://… when several app
processes serve one database, so that they share them. If Redis goes away, signing in keeps
working on per-process counters rather than failing.
"""
import hashlib
import logging

from flask import Flask, current_app, g, render_template, request
from flask_limiter import Limiter

from fieldlog.errors import error_response

log = logging.getLogger(__name__)


def client_ip() -> str:
    """Return the address the request came from (behind a proxy, configure ProxyFix)."""
    return request.remote_addr or "unknown"


def _digest(name: str) -> str:
    # Keys never hold the typed name: people type passwords into the username field.
    return hashlib.sha256(name.strip().lower().encode()).hexdigest()[:32]


def _username_key() -> str:
    name = request.form.get("username")
    if name is None:
        body = request.get_json(silent=True)
        name = body.get("username") if isinstance(body, dict) else None
    return "user:" + _digest(str(name or "")[:64])


def _refused(response) -> bool:
    return response.status_code == 401


limiter = Limiter(
    key_func=client_ip, key_prefix="fieldlog", strategy="moving-window",
    headers_enabled=True, retry_after="delta-seconds", swallow_errors=True,
    in_memory_fallback_enabled=True,
)


def _from_a_known_device() -> bool:
    """Tell whether the sign-in comes from a device the named user signed in on before.

    Such a request is not held back by the limits others can use up (the username's, the
    shared address's): it still counts its own failures and locks itself (login_locks).
    """
    if "known_device" not in g:  # asked once per limit: look it up once per request
        g.known_device = _look_up_known_device()
    return g.known_device


def _look_up_known_device() -> bool:
    from fieldlog.extensions import db
    from fieldlog.models import User
    from fieldlog.services.people import login_locks

    body = request.get_json(silent=True) if request.is_json else None
    body = body if isinstance(body, dict) else {}
    name = request.form.get("username") or body.get("username")
    cookie = request.cookies.get(login_locks.KNOWN_DEVICE_COOKIE)
    token = body.get("device_token")
    if not isinstance(name, str) or not (cookie or isinstance(token, str) and token):
        return False
    user = db.session.scalar(db.select(User).where(User.username == name.strip()[:64]))
    return user is not None and bool(
        login_locks.device_of_cookie(user, cookie)
        or (isinstance(token, str) and login_locks.device_of_token(user, token[:200])))


def limit_sign_in(view):
    """Limit a sign-in view's POSTs: refusals per IP, attempts per IP, attempts per username."""
    for value, key, deduct in (
        (lambda: current_app.config["LOGIN_RATE_LIMIT_USER"], _username_key, None),
        (lambda: current_app.config["LOGIN_RATE_LIMIT_IP_ALL"], client_ip, None),
        (lambda: current_app.config["LOGIN_RATE_LIMIT_IP"], client_ip, _refused),
    ):
        view = limiter.limit(value, key_func=key, methods=["POST"], deduct_when=deduct,
                             exempt_when=_from_a_known_device)(view)
    return view


def init_ratelimit(app: Flask) -> None:
    """Bind the limiter to the app and answer 429 with a page or the API's JSON error."""
    app.config.setdefault("RATELIMIT_ENABLED", True)
    app.config.setdefault("RATELIMIT_STORAGE_URI", "memory://")
    limiter.init_app(app)

    @app.errorhandler(429)
    def too_many(exc):
        if request.path.startswith("/api/"):
            return error_response("rate_limited", "Too many sign-in attempts. Wait a minute, "
                                  "then try again.", 429)
        return render_template("auth/too_many.html"), 429


def _storage():
    return limiter.storage if limiter.enabled and limiter.initialized else None


def unknown_name_locked(name: str) -> bool:
    """Return whether sign-ins for this (unknown) username are held back like a locked account."""
    storage = _storage()
    try:
        return bool(storage and storage.get(f"fieldlog/lock/{_digest(name)}"))
    except Exception:  # a storage outage must not stop anyone signing in
        log.warning("rate-limit storage unreachable; unknown-username lockout skipped")
        return False


def note_unknown_name_failure(name: str, max_failures: int, lock_seconds: int) -> bool:
    """Count a failed sign-in for a username nobody has; return True when it now locks.

    An unknown username locks exactly as a real account does, so the answers cannot tell an
    attacker which usernames exist.
    """
    storage = _storage()
    if storage is None:
        return False
    digest = _digest(name)
    try:
        failures = storage.incr(f"fieldlog/fail/{digest}", 24 * 3600)
        if failures < max_failures:
            return False
        storage.clear(f"fieldlog/fail/{digest}")
        # Each further lock lasts twice as long, at most a day, as for a real account.
        lockouts = storage.incr(f"fieldlog/lockouts/{digest}", 24 * 3600 + lock_seconds)
        storage.incr(f"fieldlog/lock/{digest}", min(lock_seconds * 2 ** min(lockouts - 1, 16),
                                                     24 * 3600))
        return True
    except Exception:
        log.warning("rate-limit storage unreachable; unknown-username lockout skipped")
        return False
