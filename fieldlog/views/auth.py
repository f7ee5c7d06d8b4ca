"""Sign in, sign out, language."""
from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from fieldlog.extensions import db
from fieldlog.services.auth import authenticate, revoke_device_token

bp = Blueprint("auth", __name__)


def home_for(user) -> str:
    """Return where a user lands after signing in."""
    return url_for("mobile.home") if user.role == "secretary" else url_for("review.visits")


@bp.get("/")
def index():
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    return redirect(url_for("auth.login"))


@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "GET" and current_user.is_authenticated:
        return redirect(home_for(current_user))
    form_error = None
    username = request.form.get("username", "")[:64]
    if request.method == "POST":
        user = authenticate(username, request.form.get("password", "")[:256])
        if user is None:
            form_error = "wrong_credentials"
        else:
            session.clear()
            login_user(user, remember=True)
            return redirect(home_for(user))
    return render_template("auth/login.html", form_error=form_error, username=username), \
        (401 if form_error else 200)


@bp.post("/logout")
@login_required
def logout():
    revoke_device_token(current_user, request.form.get("device_id"))
    session.clear()
    logout_user()  # after clear(): it leaves the flag that deletes the remember-me cookie
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
