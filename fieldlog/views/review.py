"""Supervisors' pages: visits in scope, one visit with photos and location; photo serving."""
from flask import Blueprint, Response, abort, render_template, request, stream_with_context
from flask_login import current_user, login_required

from fieldlog.errors import Invalid, NotFound
from fieldlog.permissions import REVIEWER_ROLES, roles_required
from fieldlog.services.exports import visits_csv
from fieldlog.services.findings import findings_for_records
from fieldlog.services.integrity import flags_for
from fieldlog.services.privacy import REASON_MAX, mask_phone, reveal_household_phone
from fieldlog.services.uploads import photo_for_viewer, photo_store
from fieldlog.services.visits import filter_choices, list_visits, visit_detail

bp = Blueprint("review", __name__, url_prefix="/review")


@bp.get("/")
@roles_required(*REVIEWER_ROLES)
def visits():
    village_id = request.args.get("village", type=int)
    author_id = request.args.get("secretary", type=int)
    page = list_visits(current_user, village_id=village_id, author_id=author_id,
                       page=request.args.get("page", 1, type=int))
    villages, secretaries = filter_choices(current_user)
    return render_template("review/visits.html", page=page, villages=villages,
                           secretaries=secretaries, village_id=village_id, author_id=author_id)


@bp.get("/visits.csv")
@roles_required(*REVIEWER_ROLES)
def visits_export():
    """Download the filtered visit list as CSV (marked, phones masked, audited)."""
    lines = visits_csv(current_user, village_id=request.args.get("village", type=int),
                       author_id=request.args.get("secretary", type=int))
    return Response(stream_with_context(lines), mimetype="text/csv", headers={
        "Content-Disposition": 'attachment; filename="fieldlog-visits.csv"',
        "Cache-Control": "no-store"})


def _visit_page(visit_id, *, revealed: str | None = None, reveal_error: str | None = None,
                status: int = 200):
    try:
        detail = visit_detail(current_user, str(visit_id))
    except NotFound:
        abort(404)
    reviewer = current_user.role in REVIEWER_ROLES
    response = Response(render_template(
        "review/visit.html", detail=detail, visit=detail.visit, revealed_phone=revealed,
        masked_phone=mask_phone(detail.visit.household.phone), reveal_error=reveal_error,
        reason_max=REASON_MAX, flags=flags_for("visit", [detail.visit.id]).get(detail.visit.id, []),
        can_explain=reviewer, findings=findings_for_records([detail.visit.id]) if reviewer else []),
        status=status)
    if revealed:
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/visits/<uuid:visit_id>")
@login_required
def visit(visit_id):
    return _visit_page(visit_id)


@bp.post("/visits/<uuid:visit_id>/reveal-phone")
@login_required
def reveal_phone(visit_id):
    """Show the household's full phone number once, for a stated reason (audited)."""
    try:
        household_id = visit_detail(current_user, str(visit_id)).visit.household_id
        phone = reveal_household_phone(current_user, household_id, request.form.get("reason", ""))
    except NotFound:
        abort(404)
    except Invalid as exc:
        return _visit_page(visit_id, reveal_error=exc.message, status=422)
    return _visit_page(visit_id, revealed=phone)


@bp.get("/photos/<uuid:photo_id>/<any(display, thumb, original):size>")
@login_required
def photo(photo_id, size: str):
    try:
        photo = photo_for_viewer(current_user, str(photo_id))
    except NotFound:
        abort(404)
    key = {"display": photo.display_key, "thumb": photo.thumb_key,
           "original": photo.original_key}[size]
    content_type = photo.content_type if size == "original" else "image/jpeg"
    response = Response(photo_store().get(key), mimetype=content_type)
    response.headers["Cache-Control"] = "private, max-age=86400, immutable"
    response.headers["X-Content-Type-Options"] = "nosniff"
    if size == "original":
        response.headers["Content-Disposition"] = f'attachment; filename="{photo.id}"'
    return response
