"""The signed-in user's own account: password, devices, signing out everywhere."""
import re

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from fieldlog.errors import Invalid, NotFound
from fieldlog.ratelimit import limiter
from fieldlog.services.people import password_policy
from fieldlog.services.people.auth import (
    change_password,
    devices_of,
    revoke_device,
    sign_out_everywhere,
)
from fieldlog.views.auth import end_session, home_for, start_session

bp = Blueprint("account", __name__, url_prefix="/account")

ROLE_LABELS = {
    "secretary": _l("First secretary"),
    "supervisor": _l("Supervisor"),
    "inspector": _l("Inspector"),
    "admin": _l("Administrator"),
}

_SYSTEMS = (("HarmonyOS", "HarmonyOS"), ("Android", "Android"), ("iPhone", "iPhone"),
            ("iPad", "iPad"), ("Windows", "Windows"), ("Mac OS X", "Mac"), ("Linux", "Linux"))
_BROWSERS = (("MicroMessenger", _l("WeChat")), ("EdgA?/", "Edge"), ("Firefox/", "Firefox"),
             ("HuaweiBrowser", "Huawei"), ("Chrome/", "Chrome"), ("Safari/", "Safari"))


@bp.app_template_filter("device_name")
def device_name(label: str) -> str:
    """Name a device by its browser's user agent: "Chrome · Android"."""
    system = next((name for key, name in _SYSTEMS if key in label), "")
    browser = next((str(name) for key, name in _BROWSERS if re.search(key, label)), "")
    return " · ".join(part for part in (browser, system) if part) or label[:40] or _("Device")


@bp.app_template_global("role_label")
def role_label(role: str) -> str:
    """Return the translated name of a role."""
    return str(ROLE_LABELS.get(role, role))


@bp.get("")
@login_required
def index():
    return render_template("account/index.html", user=current_user,
                           devices=devices_of(current_user))


@bp.route("/password", methods=["GET", "POST"])
@login_required
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT_USER"], methods=["POST"],
               key_func=lambda: f"password-change:{current_user.get_id()}")
def password():
    errors, user = {}, current_user._get_current_object()
    if request.method == "POST":
        form = request.form
        try:
            change_password(user, form.get("current_password", "")[:256],
                            form.get("new_password", "")[:256],
                            form.get("confirm_password", "")[:256])
        except Invalid as exc:
            errors = exc.fields
        else:
            start_session(user)  # the new epoch ended every other session; keep this one
            flash(_("Password changed. You were signed out everywhere else; phones keep "
                    "sending their waiting records."), "success")
            return redirect(home_for(user))
    return render_template("account/password.html", errors=errors,
                           min_length=password_policy.MIN_LENGTH), 422 if errors else 200


@bp.post("/devices/<uuid:device_id>/revoke")
@login_required
def revoke(device_id):
    try:
        revoke_device(current_user, str(device_id))
    except NotFound:
        abort(404)
    flash(_("That device can no longer send records. If it is still signed in, it will get a "
            "new key the next time it opens fieldlog."), "success")
    return redirect(url_for("account.index"))


@bp.post("/sign-out-everywhere")
@login_required
def everywhere():
    sign_out_everywhere(current_user)
    end_session()
    flash(_("You were signed out on every device. Records waiting on a phone stay on it and are "
            "sent after you sign in there again."), "success")
    return redirect(url_for("auth.login"))
