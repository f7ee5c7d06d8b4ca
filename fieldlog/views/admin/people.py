"""Users and terms: create (one-time password), edit, deactivate, reactivate; a cadre's terms."""
from flask import abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from fieldlog.errors import Forbidden, Invalid, NotFound
from fieldlog.models.people import POSTS, ROLES
from fieldlog.permissions import roles_required
from fieldlog.services.people import terms as term_service
from fieldlog.services.people import users as user_service
from fieldlog.timefmt import local_today
from fieldlog.views.admin.blueprint import bp


def _managed(user_id: int):
    try:
        return user_service.managed_user(current_user, user_id)
    except NotFound:
        abort(404)


def passwords_page(issued: list[dict], *, title: str, back_url: str):
    """Render the one-time passwords, once: never cached, never stored in clear."""
    response = make_response(render_template(
        "admin/passwords.html", issued=issued, title=title, back_url=back_url,
        post_label=term_service.post_label, today=local_today()))
    response.headers["Cache-Control"] = "no-store"
    return response


def _form_page(template_user, values: dict, errors: dict, status: int = 200, **extra):
    return render_template(
        "admin/user_form.html", user=template_user, values=values, errors=errors,
        roles=ROLES, locales=user_service.LOCALES, units=user_service.units_for(
            current_user, keep=template_user.scope_unit_id if template_user else None),
        **extra), status


@bp.route("/users/new", methods=["GET", "POST"])
@roles_required("admin")
def user_new():
    values = request.form.to_dict() if request.method == "POST" else {
        "role": request.args.get("role", "secretary")}
    if request.method == "POST":
        try:
            created = user_service.create_user(current_user, request.form)
        except Invalid as exc:
            return _form_page(None, values, exc.fields, 422, message=exc.message)
        user = created.user
        return passwords_page([{"user": user, "password": created.password,
                                "unit": user.scope_unit.name, "post": None}],
                              title=_("New account"),
                              back_url=url_for("admin.user_edit", user_id=user.id))
    return _form_page(None, values, {})


def _edit_values(user) -> dict:
    return {"display_name": user.display_name, "phone": user.phone or "", "role": user.role,
            "scope_unit_id": str(user.scope_unit_id), "locale": user.locale or ""}


def _edit_page(user, values=None, errors=None, status=200, **extra):
    villages = user_service.units_for(current_user, ("village",))  # in use only
    return _form_page(user, values or _edit_values(user), errors or {}, status,
                      terms=term_service.terms_of(user) if user.role == "secretary" else [],
                      current_term=term_service.current_term(user), villages=villages,
                      posts=POSTS, post_label=term_service.post_label, today=local_today(),
                      **extra)


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@roles_required("admin")
def user_edit(user_id: int):
    user = _managed(user_id)
    if request.method == "POST":
        try:
            changed = user_service.update_user(current_user, user, request.form)
        except Invalid as exc:
            return _edit_page(user, request.form.to_dict(), exc.fields, 422,
                              message=exc.message)
        flash(_("Saved.") if changed else _("Nothing changed."), "success")
        return redirect(url_for("admin.user_edit", user_id=user.id))
    return _edit_page(user)


@bp.post("/users/<int:user_id>/deactivate")
@roles_required("admin")
def user_deactivate(user_id: int):
    user = _managed(user_id)
    try:
        user_service.deactivate(current_user, user)
        flash(_("%(name)s was deactivated: they cannot sign in, their phones are signed out; "
                "their records stay.", name=user.display_name), "success")
    except Forbidden as exc:
        flash(exc.message, "error")
    return redirect(url_for("admin.user_edit", user_id=user.id))


@bp.post("/users/<int:user_id>/reactivate")
@roles_required("admin")
def user_reactivate(user_id: int):
    user = _managed(user_id)
    try:
        user_service.reactivate(current_user, user)
        flash(_("%(name)s can sign in again.", name=user.display_name), "success")
    except Invalid as exc:
        flash(exc.message, "error")
    return redirect(url_for("admin.user_edit", user_id=user.id))


def _term_action(user_id: int, action):
    user = _managed(user_id)
    try:
        action(user)
    except Invalid as exc:
        return _edit_page(user, errors={}, status=422, term_errors=exc.fields,
                          term_message=exc.message, term_form=request.form.to_dict(),
                          term_kind=request.endpoint)
    flash(_("Terms saved."), "success")
    return redirect(url_for("admin.user_edit", user_id=user.id) + "#terms")


@bp.post("/users/<int:user_id>/terms")
@roles_required("admin")
def term_start(user_id: int):
    return _term_action(user_id, lambda user: term_service.start_term(
        current_user, user, request.form))


@bp.post("/users/<int:user_id>/terms/end")
@roles_required("admin")
def term_end(user_id: int):
    return _term_action(user_id, lambda user: term_service.end_term(
        current_user, user, request.form.get("term_id"), request.form.get("end")))


@bp.post("/users/<int:user_id>/terms/move")
@roles_required("admin")
def term_move(user_id: int):
    return _term_action(user_id, lambda user: term_service.move_cadre(
        current_user, user, request.form))


@bp.get("/teams")
@roles_required("admin")
def teams():
    return render_template("admin/teams.html", teams=term_service.village_teams(current_user),
                           post_label=term_service.post_label)
