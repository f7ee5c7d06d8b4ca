"""Users: list, reset a password (forces a change at next sign-in), unlock."""
from flask import abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from fieldlog.errors import Forbidden, NotFound
from fieldlog.models.people import ROLES
from fieldlog.permissions import roles_required
from fieldlog.services.people.auth import (
    is_locked,
    list_users,
    reset_password,
    unlock,
    user_for_admin,
)
from fieldlog.views.admin.blueprint import bp


def _user_or_404(user_id: int):
    try:
        return user_for_admin(current_user, user_id)
    except NotFound:
        abort(404)


@bp.get("/users")
@roles_required("admin")
def users():
    role = request.args.get("role") or None
    query = request.args.get("q", "")
    page = list_users(current_user, role=role, query=query,
                      page=request.args.get("page", 1, type=int))
    return render_template("admin/users.html", page=page, roles=ROLES, role=role, query=query,
                           is_locked=is_locked)


@bp.route("/users/<int:user_id>/reset-password", methods=["GET", "POST"])
@roles_required("admin")
def reset(user_id: int):
    user = _user_or_404(user_id)
    temporary = None
    if request.method == "POST":
        try:
            temporary = reset_password(current_user, user)
        except Forbidden as exc:
            flash(exc.message, "error")
            return redirect(url_for("admin.users"))
    response = make_response(render_template("admin/users_reset.html", user=user,
                                             temporary=temporary))
    if temporary:
        response.headers["Cache-Control"] = "no-store"  # shown once, never kept by a cache
    return response


@bp.post("/users/<int:user_id>/unlock")
@roles_required("admin")
def unlock_user(user_id: int):
    user = _user_or_404(user_id)
    unlock(current_user, user)
    flash(_("%(name)s can sign in again.", name=user.display_name), "success")
    return redirect(request.form.get("next") if (request.form.get("next") or "").startswith(
        "/admin/users") else url_for("admin.users"))
