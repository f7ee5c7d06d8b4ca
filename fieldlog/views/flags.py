"""Reviewers explain integrity flags: one form post per flag, back to the visit page."""
from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from fieldlog.errors import Conflict, Invalid, NotFound
from fieldlog.permissions import REVIEWER_ROLES, roles_required
from fieldlog.services.integrity.flags import describe, explain_flag, flag_for_viewer, kind_label

bp = Blueprint("flags", __name__, url_prefix="/flags")
bp.add_app_template_filter(describe, "flag_sentence")
bp.add_app_template_filter(kind_label, "flag_kind")


@bp.post("/<int:flag_id>/explain")
@roles_required(*REVIEWER_ROLES)
def explain(flag_id: int):
    try:
        flag = flag_for_viewer(current_user, flag_id)
    except NotFound:
        abort(404)
    try:
        explain_flag(current_user, flag_id, request.form.get("reason", ""))
        flash(_("The flag is marked explained."), "success")
    except Invalid:
        flash(_("Please give a reason of at most 500 characters."), "error")
    except Conflict:
        flash(_("This flag had already been explained."), "warning")
    return redirect(url_for("review.visit", visit_id=flag.record_id, _anchor="flags"))
