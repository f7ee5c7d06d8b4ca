"""The secretary's side of review on the phone: returned records and editing a visit."""
import json

from flask import Blueprint, abort, jsonify, render_template
from flask_login import current_user
from sqlalchemy import select

from fieldlog.errors import NotFound
from fieldlog.extensions import db
from fieldlog.models import RecordVersion
from fieldlog.permissions import roles_required
from fieldlog.services.records.home import household_dicts
from fieldlog.services.review.decisions import edit_path, record_in_scope, returned_for
from fieldlog.services.review.display import TYPE_LABELS, decisions_of
from fieldlog.timefmt import iso_utc

bp = Blueprint("mobile_review", __name__, url_prefix="/m")


@bp.get("/returned")
@roles_required("secretary")
def returned():
    """Records a reviewer sent back, each with the comment and a link to change it."""
    return render_template("mobile_review/returned.html", items=returned_for(current_user),
                           type_labels=TYPE_LABELS, edit_path=edit_path)


@bp.get("/returned.json")
@roles_required("secretary")
def returned_json():
    """The same list for scripts: own records only, session auth."""
    return jsonify({"items": [{
        "type": item.record_type, "id": item.record.id, "version": item.record.version,
        "summary": item.summary, "comment": item.comment, "reviewer": item.reviewer,
        "decided_at": iso_utc(item.decided_at),
        "edit_url": edit_path(item.record_type, item.record.id),
    } for item in returned_for(current_user)]})


def _latest_content(record_type: str, record) -> dict:
    data = db.session.scalar(select(RecordVersion.data).where(
        RecordVersion.record_type == record_type, RecordVersion.record_id == record.id,
        RecordVersion.version == record.version))
    return json.loads(data) if data else {}


@bp.get("/visits/<uuid:visit_id>/edit")
@roles_required("secretary")
def edit_visit(visit_id):
    """Change one's own visit: the latest version pre-filled, the household fixed."""
    try:
        visit = record_in_scope(current_user, "visit", str(visit_id))
    except NotFound:
        abort(404)
    household = next((h for h in household_dicts(visit.village_id)
                      if h["id"] == visit.household_id), None)
    returns = [d for d in decisions_of("visit", visit.id) if d.decision == "returned"]
    return render_template(
        "mobile_review/edit_visit.html", visit=visit, household=household,
        comment=returns[-1] if returns and visit.status == "returned" else None,
        edit={"record": _latest_content("visit", visit), "version": visit.version,
              "status": visit.status, "household": household})
