"""Supervisors' pages: visits in scope, one visit with photos and location; photo serving."""
from flask import Blueprint, Response, abort, render_template, request
from flask_login import current_user, login_required

from fieldlog.errors import NotFound
from fieldlog.permissions import REVIEWER_ROLES, roles_required
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


@bp.get("/visits/<uuid:visit_id>")
@login_required
def visit(visit_id):
    try:
        detail = visit_detail(current_user, str(visit_id))
    except NotFound:
        abort(404)
    return render_template("review/visit.html", detail=detail, visit=detail.visit)


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
