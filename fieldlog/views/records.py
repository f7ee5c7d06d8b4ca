"""Meetings, six-one actions and five-one goals: phone pages for the secretary, read pages."""
from flask import Blueprint, abort, render_template
from flask_login import current_user, login_required

from fieldlog.domain import LEDGER_CATEGORY_LABELS
from fieldlog.errors import NotFound
from fieldlog.extensions import db
from fieldlog.models import OrgUnit
from fieldlog.models.records import ACTION_STATES, ACTION_TYPES, GOAL_TYPES, MEETING_TYPES
from fieldlog.permissions import roles_required
from fieldlog.services.records import actions as action_service
from fieldlog.services.records import meetings as meeting_service
from fieldlog.services.register.coverage import term_start
from fieldlog.timefmt import local_today

bp = Blueprint("records", __name__)

FORMS = {"meeting": "records/meeting_form.html", "action": "records/action_form.html",
         "goal": "records/goal_form.html"}


def _village() -> OrgUnit:
    village = db.session.get(OrgUnit, current_user.scope_unit_id)
    if village is None or village.kind != "village":
        abort(403)
    return village


def _choices(codes, label) -> list[dict]:
    return [{"code": code, "label": label(code)} for code in codes]


def _form(record_type: str, edit=None, status: int = 200):
    """Render a record form, new or (with an EditContext) pre-filled for an edit."""
    village = _village()
    return render_template(
        FORMS[record_type], village=village, edit=edit,
        meeting_types=_choices(MEETING_TYPES, meeting_service.meeting_label),
        action_types=_choices(ACTION_TYPES, action_service.action_label),
        goal_types=_choices(GOAL_TYPES, action_service.goal_label),
        states=_choices(ACTION_STATES, action_service.state_label),
        categories=[{"code": c, "label": str(label)}
                    for c, label in LEDGER_CATEGORY_LABELS.items()],
        households=meeting_service.household_choices(village.id) if record_type == "meeting"
        else [],
        goals=action_service.goal_choices(current_user) if record_type != "goal" else [],
    ), status


@bp.get("/m/meetings")
@roles_required("secretary")
def meetings():
    village = _village()
    since = term_start(village.id, local_today())
    rows = meeting_service.secretary_meetings(current_user, since)
    return render_template("records/meetings.html", village=village, meetings=rows, since=since,
                           label=meeting_service.meeting_label)


@bp.get("/m/meetings/new")
@roles_required("secretary")
def new_meeting():
    return _form("meeting")


@bp.get("/m/actions")
@roles_required("secretary")
def actions():
    village = _village()
    today = local_today()
    return render_template(
        "records/actions.html", village=village, today=today,
        board=action_service.six_one_board(current_user, village, today),
        goals=action_service.goals_with_evidence(current_user),
        state_label=action_service.state_label, overdue=action_service.pledge_overdue)


@bp.get("/m/actions/new")
@roles_required("secretary")
def new_action():
    return _form("action")  # the type comes from ?type=, read by the page (cached without it)


@bp.get("/m/goals/new")
@roles_required("secretary")
def new_goal():
    return _form("goal")


@bp.get("/m/records/<any(meeting, action, goal):record_type>/<uuid:record_id>/edit")
@roles_required("secretary")
def edit(record_type: str, record_id):
    try:
        context = action_service.edit_context(current_user, record_type, str(record_id))
    except NotFound:
        abort(404)
    return _form(record_type, edit=context, status=409 if context.locked else 200)


@bp.get("/review/meetings/<uuid:meeting_id>")
@login_required
def meeting_detail(meeting_id):
    try:
        detail = meeting_service.meeting_detail(current_user, str(meeting_id))
    except NotFound:
        abort(404)
    return render_template("records/meeting_detail.html", detail=detail, record=detail.meeting,
                           label=meeting_service.meeting_label,
                           categories=LEDGER_CATEGORY_LABELS,
                           goal_label=action_service.goal_label)


@bp.get("/review/actions/<uuid:action_id>")
@login_required
def action_detail(action_id):
    try:
        detail = action_service.action_detail(current_user, str(action_id), local_today())
    except NotFound:
        abort(404)
    return render_template("records/action_detail.html", detail=detail, record=detail.action,
                           label=action_service.action_label,
                           state_label=action_service.state_label,
                           goal_label=action_service.goal_label)


@bp.get("/review/goals/<uuid:goal_id>")
@login_required
def goal_detail(goal_id):
    try:
        detail = action_service.goal_detail(current_user, str(goal_id))
    except NotFound:
        abort(404)
    return render_template("records/goal_detail.html", detail=detail, record=detail.goal,
                           label=action_service.goal_label,
                           state_label=action_service.state_label)
