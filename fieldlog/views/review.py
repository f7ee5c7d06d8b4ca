"""Supervisors' pages: the review queue and decisions, record history, visits in scope, one
visit with photos and location; photo serving."""
from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required

from fieldlog.errors import Conflict, Forbidden, Invalid, NotFound
from fieldlog.permissions import REVIEWER_ROLES, roles_required
from fieldlog.services.inspection.findings import findings_for_records
from fieldlog.services.integrity.flags import flags_for
from fieldlog.services.people.privacy import mask_phone
from fieldlog.services.records.uploads import photo_for_viewer
from fieldlog.services.records.visits import filter_choices, list_visits, visit_detail
from fieldlog.services.reporting.visit_exports import visits_csv
from fieldlog.services.review import decisions as reviewing
from fieldlog.services.review.display import (
    MODELS,
    REVIEWABLE,
    STATUS_LABELS,
    TYPE_LABELS,
    decisions_of,
    summary,
    version_diffs,
)
from fieldlog.views.photofiles import pending_photo, stored_photo

bp = Blueprint("review", __name__, url_prefix="/review")
REVIEW_TYPES = "any(" + ", ".join(REVIEWABLE) + ")"
HISTORY_TYPES = "any(" + ", ".join(MODELS) + ")"


def _queue_filters() -> dict:
    record_type = request.args.get("type")
    return {"record_type": record_type if record_type in REVIEWABLE else None,
            "village_id": request.args.get("village", type=int),
            "author_id": request.args.get("cadre", type=int)}


@bp.get("/queue")
@roles_required(*REVIEWER_ROLES)
def queue():
    """Submitted records in scope waiting for a decision, longest waiting first."""
    filters = _queue_filters()
    page = reviewing.queue(current_user, page=request.args.get("page", 1, type=int), **filters)
    villages, cadres = filter_choices(current_user)
    return render_template(
        "review/queue.html", page=page, villages=villages, cadres=cadres, filters=filters,
        type_labels=TYPE_LABELS, can_decide=current_user.role in reviewing.DECIDERS,
        comment_max=reviewing.COMMENT_MAX)


def _back() -> str:
    """Where to go after a decision: the page the form came from, if it is a review page."""
    target = request.form.get("next", "")
    if target.startswith("/review/") and not target.startswith("//"):
        return target
    return url_for("review.queue")


def _refusal_text(exc: Conflict | Invalid, record_type: str, record_id: str) -> str:
    if exc.code == "stale":
        current = reviewing.record_in_scope(current_user, record_type, record_id).version
        return _("The author changed this record after you opened it (now version %(v)s). "
                 "Look at the changes and decide again.", v=current)
    if exc.code == "decided":
        return _("This version has already been reviewed.")
    if "comment" in exc.fields:
        return _("Say what should be changed: a comment is required to return a record.") \
            if exc.fields["comment"] == ["Required to return."] \
            else _("The comment is too long (at most %(n)s characters).", n=reviewing.COMMENT_MAX)
    return _("The decision could not be saved; reload the page and try again.")


@bp.post(f"/records/<{REVIEW_TYPES}:record_type>/<uuid:record_id>/decide")
@roles_required(*reviewing.DECIDERS)
def decide(record_type: str, record_id):
    """Approve or return the version of a record the reviewer saw."""
    decision = request.form.get("decision", "")
    try:
        reviewing.decide(current_user, record_type, str(record_id),
                         request.form.get("version", type=int), decision,
                         request.form.get("comment", ""))
    except NotFound:
        abort(404)
    except Forbidden:
        abort(403)
    except (Conflict, Invalid) as exc:
        flash(_refusal_text(exc, record_type, str(record_id)), "error")
        return redirect(_back(), 303)
    flash(_("Approved.") if decision == "approve" else
          _("Returned to the author with your comment."), "success")
    return redirect(_back(), 303)


@bp.post("/queue/approve")
@roles_required(*reviewing.DECIDERS)
def bulk_approve():
    """Approve the ticked records in one go; say which were skipped and why."""
    result = reviewing.bulk_approve(current_user, request.form.getlist("item"))
    if not result.approved and not result.skipped:
        flash(_("Tick the records to approve first."), "warning")
    else:
        flash(ngettext("%(num)s record approved.", "%(num)s records approved.",
                       len(result.approved)), "success")
    reasons = {"stale": _("changed by its author since you opened the page"),
               "decided": _("already reviewed"), "not_found": _("not in your scope"),
               "invalid": _("not a record")}
    for label, why in result.skipped:
        record_type, _sep, record_id = label.partition(":")
        name = f"{TYPE_LABELS.get(record_type, record_type)} {record_id[:8]}"
        flash(_("Skipped %(record)s: %(why)s.", record=name, why=reasons[why]), "warning")
    return redirect(_back(), 303)


@bp.get(f"/records/<{HISTORY_TYPES}:record_type>/<uuid:record_id>/history")
@login_required
def history(record_type: str, record_id):
    """Every version of a record with its changes, and the review decisions between them."""
    try:
        record = reviewing.record_in_scope(current_user, record_type, str(record_id))
    except NotFound:
        abort(404)
    events = [("version", v.received_at, v) for v in version_diffs(record_type, record.id)]
    events += [("decision", d.decided_at, d) for d in decisions_of(record_type, record.id)]
    events.sort(key=lambda e: (e[1], 0 if e[0] == "version" else 1))
    return render_template(
        "review/history.html", record=record, record_type=record_type, events=events,
        summary=summary(record_type, record), type_label=TYPE_LABELS[record_type],
        status_label=STATUS_LABELS.get(record.status, record.status),
        can_decide=current_user.role in reviewing.DECIDERS and record_type in REVIEWABLE
        and record.status == "submitted", comment_max=reviewing.COMMENT_MAX)


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


@bp.get("/visits/<uuid:visit_id>")
@login_required
def visit(visit_id):
    """One visit; the household's phone masked (docs/security.md: who sees it in full)."""
    try:
        detail = visit_detail(current_user, str(visit_id))
    except NotFound:
        abort(404)
    reviewer = current_user.role in REVIEWER_ROLES
    return render_template(
        "review/visit.html", detail=detail, visit=detail.visit,
        masked_phone=mask_phone(detail.visit.household.phone),
        own_village=current_user.role == "secretary"
        and current_user.scope_unit_id == detail.visit.village_id,
        flags=flags_for("visit", [detail.visit.id]).get(detail.visit.id, []),
        can_explain=reviewer, findings=findings_for_records([detail.visit.id]) if reviewer else [],
        status_labels=STATUS_LABELS, comment_max=reviewing.COMMENT_MAX,
        can_decide=current_user.role in reviewing.DECIDERS and detail.visit.status == "submitted")


@bp.get("/photos/<uuid:photo_id>/<any(display, thumb, original):size>")
@login_required
def photo(photo_id, size: str):
    try:
        photo = photo_for_viewer(current_user, str(photo_id))
    except NotFound:
        abort(404)
    if size != "original" and photo.state == "processing":
        return pending_photo()
    if size != "original" and photo.state == "failed":
        abort(404)  # no served sizes were made; the original is kept (and downloadable)
    key = {"display": photo.display_key, "thumb": photo.thumb_key,
           "original": photo.original_key}[size]
    content_type = photo.content_type if size == "original" else "image/jpeg"
    response = stored_photo(key, content_type)
    if size == "original":
        response.headers["Content-Disposition"] = f'attachment; filename="{photo.id}"'
    return response
