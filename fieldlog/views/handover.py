"""The handover list (交接清单) of a term: a page to read and act from, and its A4 print.

Supervisors and admins in scope, the outgoing cadre and the incoming one read it; anyone else
is told it does not exist (404). Printing is audited: the list names villagers.
"""
from flask import Blueprint, abort, render_template
from flask_login import current_user

from fieldlog.domain import (
    ACTION_STATE_LABELS,
    ACTION_TYPE_LABELS,
    GOAL_TYPE_LABELS,
    LEDGER_CATEGORY_LABELS,
    LEDGER_HANDLER_LABELS,
    LEDGER_STATE_LABELS,
)
from fieldlog.errors import NotFound
from fieldlog.permissions import roles_required
from fieldlog.services.reporting.handover import audit_print, handover, readable_term
from fieldlog.timefmt import local_today

bp = Blueprint("handover", __name__, url_prefix="/handover")
READERS = ("secretary", "supervisor", "admin")


def _labels() -> dict:
    return {"category": LEDGER_CATEGORY_LABELS, "handler": LEDGER_HANDLER_LABELS,
            "ledger_state": LEDGER_STATE_LABELS, "action": ACTION_TYPE_LABELS,
            "action_state": ACTION_STATE_LABELS, "goal": GOAL_TYPE_LABELS}


def _term(assignment_id: int):
    try:
        return readable_term(current_user, assignment_id)
    except NotFound:
        abort(404)


@bp.get("/<int:assignment_id>")
@roles_required(*READERS)
def page(assignment_id: int):
    term = _term(assignment_id)
    return render_template("handover/page.html", h=handover(term), labels=_labels(),
                           today=local_today())


@bp.get("/<int:assignment_id>/print")
@roles_required(*READERS)
def print_view(assignment_id: int):
    term = _term(assignment_id)
    h = handover(term)
    entry_id = audit_print(current_user, term)
    return render_template("handover/print.html", h=h, labels=_labels(), today=local_today(),
                           entry_id=entry_id)
