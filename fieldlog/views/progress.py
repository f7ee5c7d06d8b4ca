"""Progress of each cadre (desktop): the table of a scope for a period, and one cadre's page.

Supervisors, inspectors and admins only: the phone never shows a ranking of cadres.
"""
from flask import Blueprint, abort, flash, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.routing import BuildError

from fieldlog.domain import (
    ACTION_STATE_LABELS,
    ACTION_TYPE_LABELS,
    DAY_STATE_LABELS,
    MEETING_TYPE_LABELS,
    RECORD_STATUS_LABELS,
)
from fieldlog.errors import Invalid, NotFound
from fieldlog.permissions import REVIEWER_ROLES, roles_required
from fieldlog.services.reporting.cadre_page import (
    calendar_months,
    recent_records,
    records_per_day,
)
from fieldlog.services.reporting.figures import cadre_figures
from fieldlog.services.reporting.handover import latest_term, terms_to_hand_over
from fieldlog.services.reporting.period import Period
from fieldlog.services.reporting.table import (
    SORTS,
    TableQuery,
    cadre_in_scope,
    progress_table,
    scope_places,
)
from fieldlog.timefmt import local_today

bp = Blueprint("progress", __name__, url_prefix="/progress")

PERIOD_KINDS = {"month": _l("Month"), "quarter": _l("Quarter"), "year": _l("Year"),
                "term": _l("Term")}
MEETING_LABELS, SIX_ONE_LABELS = MEETING_TYPE_LABELS, ACTION_TYPE_LABELS
DAY_LABELS = DAY_STATE_LABELS
RECORD_LABELS = {"visit": _l("Visit"), "meeting": _l("Meeting"), "action": _l("Six-one action"),
                 "ledger_item": _l("Ledger item")}
STATUS_LABELS = RECORD_STATUS_LABELS
# Where a record opens: endpoint and the name of its id argument.
RECORD_PAGES = {"visit": ("review.visit", "visit_id"),
                "meeting": ("records.meeting_detail", "meeting_id"),
                "action": ("records.action_detail", "action_id"),
                "ledger_item": ("ledger.item", "item_id")}


@bp.app_template_global("progress_record_url")
def record_url(kind: str, record_id: str) -> str | None:
    """Return the page of a record, or None while its page does not exist."""
    endpoint, arg = RECORD_PAGES[kind]
    try:
        return url_for(endpoint, **{arg: record_id})
    except BuildError:
        return None


def _period() -> tuple[Period, str | None]:
    """Read ?period= (or ?kind= for the running one); a malformed one falls back to the month."""
    today = local_today()
    kind = request.args.get("kind", "")
    if kind in PERIOD_KINDS and not request.args.get("period"):
        return Period.around(kind, today), None
    try:
        return Period.parse(request.args.get("period"), today), None
    except Invalid as exc:
        return Period.around("month", today), exc.message


def _int(name: str) -> int | None:
    return request.args.get(name, type=int)


@bp.get("/")
@roles_required(*REVIEWER_ROLES)
def table():
    period, error = _period()
    query = TableQuery(
        township=_int("township"), village=_int("village"), below=bool(request.args.get("below")),
        q=request.args.get("q", "").strip()[:40],
        sort=request.args.get("sort") if request.args.get("sort") in SORTS else "place",
        desc=request.args.get("dir") == "desc")
    if error:
        flash(error, "error")
    rows = progress_table(current_user, period, query)
    townships, villages = scope_places(current_user)
    return render_template(
        "progress/table.html", rows=rows, period=period, query=query, townships=townships,
        villages=villages, kinds=PERIOD_KINDS, six_one=SIX_ONE_LABELS,
        meeting_labels=MEETING_LABELS,
        handovers=terms_to_hand_over([r.user_id for r in rows])
        if current_user.role in ("supervisor", "admin") else {}), 422 if error else 200


@bp.get("/cadre/<int:cadre_id>")
@roles_required(*REVIEWER_ROLES)
def cadre(cadre_id: int):
    try:
        person = cadre_in_scope(current_user, cadre_id)
    except NotFound:
        abort(404)
    period, error = _period()
    if error:
        flash(error, "error")
    figures = cadre_figures([person.id], period, with_days=True)[person.id]
    return render_template(
        "progress/cadre.html", cadre=person, figures=figures, period=period, kinds=PERIOD_KINDS,
        months=calendar_months(figures.start, figures.end),
        per_day=records_per_day(person.id, figures.start, figures.end),
        recent=recent_records(person.id), today=local_today(), term=latest_term(person.id),
        six_one=SIX_ONE_LABELS, meeting_labels=MEETING_LABELS, states=ACTION_STATE_LABELS,
        day_labels=DAY_LABELS, record_labels=RECORD_LABELS, status_labels=STATUS_LABELS,
    ), 422 if error else 200
