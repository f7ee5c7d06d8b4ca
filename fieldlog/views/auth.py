"""Sign in, sign out, language, and the session rules every request follows."""

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from fieldlog import clock
from fieldlog.extensions import db
from fieldlog.ratelimit import client_ip, limit_sign_in
from fieldlog.services.people import login_locks
from fieldlog.services.people.auth import (
    SignInRefused,
    note_session_expired,
    note_sign_out,
    sign_in,
)
from fieldlog.services.people.login_locks import KNOWN_DEVICE_COOKIE

bp = Blueprint("auth", __name__)

# What a user holding a temporary password may still open (the API answers for itself).
_OPEN_WHILE_CHANGE_PENDING = {"account.password", "auth.login", "auth.logout", "auth.set_language",
                              "static"}


def home_for(user) -> str:
    """Return where a user lands after signing in."""
    if user.must_change_password:
        return url_for("account.password")
    if user.role == "secretary":
        return url_for("mobile.home")
    return url_for("inspect.index") if user.role == "inspector" else url_for("review.visits")


def start_session(user) -> None:
    """Begin a fresh session. No remember-me cookie: it would outlive the expiry rules."""
    session.clear()
    login_user(user)
    session.permanent = True  # the cookie lives PERMANENT_SESSION_LIFETIME (the absolute limit)
    session["login_at"] = session["seen_at"] = int(clock.epoch_seconds())


def end_session() -> None:
    """Forget the signed-in user in this browser."""
    session.clear()
    logout_user()  # after clear(): it leaves the flag that deletes an old remember-me cookie


def _expiry_reason(user) -> str | None:
    config = current_app.config
    login_at, seen_at = session.get("login_at"), session.get("seen_at")
    if not isinstance(login_at, int) or not isinstance(seen_at, int):
        return "legacy"  # from before these rules, or restored from a remember-me cookie
    now = clock.epoch_seconds()
    if now - login_at > config["SESSION_ABSOLUTE_DAYS"] * 24 * 3600:
        return "absolute"
    idle = config["ADMIN_SESSION_IDLE_MINUTES" if user.role == "admin" else
                  "SESSION_IDLE_MINUTES"]
    return "idle" if now - seen_at > idle * 60 else None


@bp.before_app_request
def apply_session_rules():
    """End idle or old sessions; keep a user with a temporary password on the change page."""
    if request.endpoint == "static" or not current_user.is_authenticated:
        return None
    user = current_user._get_current_object()
    if reason := _expiry_reason(user):
        end_session()
        note_session_expired(user, reason)
        if request.blueprint != "api":
            flash(_("Your session has ended. Please sign in again; records on this phone are "
                    "kept and sent after you do."), "info")
        return None  # pages that need a user now send the visitor to sign in
    now = int(clock.epoch_seconds())
    if now - session["seen_at"] > 60:  # coarse, so the cookie does not change every request
        session["seen_at"] = now
    if (user.must_change_password and request.blueprint not in ("api", "pwa")
            and request.endpoint not in _OPEN_WHILE_CHANGE_PENDING):
        return redirect(url_for("account.password"))
    return None


@bp.get("/")
def index():
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    return redirect(url_for("auth.login"))


@bp.route("/login", methods=["GET", "POST"])
@limit_sign_in
def login():
    if request.method == "GET" and current_user.is_authenticated:
        return redirect(home_for(current_user))
    username = request.form.get("username", "")[:64]
    lock_minutes = current_app.config["LOGIN_LOCK_MINUTES"]
    if request.method == "GET":
        return render_template("auth/login.html", username=username, lock_minutes=lock_minutes)
    known = request.cookies.get(KNOWN_DEVICE_COOKIE)
    try:
        user = sign_in(username, request.form.get("password", "")[:256], channel="web",
                       address=client_ip(), known_cookie=known)
    except SignInRefused as refused:
        return render_template("auth/login.html", form_error=refused.code, username=username,
                               lock_minutes=lock_minutes), 401
    start_session(user)
    response = redirect(home_for(user))
    if login_locks.device_of_cookie(user, known) is None:
        # This browser has now signed in: a lockout of its address will not keep it out.
        response.set_cookie(KNOWN_DEVICE_COOKIE, login_locks.new_known_device_cookie(user),
                            max_age=login_locks.KNOWN_DEVICE_DAYS * 24 * 3600, httponly=True,
                            samesite="Lax", secure=current_app.config["SESSION_COOKIE_SECURE"])
    return response


@bp.post("/logout")
@login_required
def logout():
    note_sign_out(current_user._get_current_object(), request.form.get("device_id"))
    end_session()
    return redirect(url_for("auth.login"))


@bp.get("/lang/<code>")
def set_language(code: str):
    if code in current_app.config["LANGUAGES"]:
        session["locale"] = code
        if current_user.is_authenticated:
            current_user.locale = code
            db.session.commit()
    target = request.referrer or url_for("auth.index")
    return redirect(target if target.startswith(request.host_url) else url_for("auth.index"))
