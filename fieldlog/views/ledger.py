"""The villagers' issue ledger (民情台账): the secretary's phone pages and the reviewers' web pages.

Phones change items offline through the outbox (`ledger_update` records); only supervisors
change items here, with a form.
"""
from datetime import date

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from fieldlog.errors import Invalid, NotFound
from fieldlog.extensions import db
from fieldlog.models import OrgUnit
from fieldlog.models.base import utcnow
from fieldlog.permissions import REVIEWER_ROLES, roles_required
from fieldlog.services.records.home import household_dicts
from fieldlog.services.records.ledger import (
    LEDGER_CATEGORY_LABELS,
    LEDGER_HANDLER_LABELS,
    LEDGER_STATE_LABELS,
    Filters,
    change_item,
    event_ids,
    get_item,
    is_overdue,
    item_history,
    item_sources,
    list_items,
    open_item_dicts,
    village_items,
)
from fieldlog.services.records.ledger_changes import TRANSITIONS
from fieldlog.services.records.visits import filter_choices
from fieldlog.timefmt import local_today

bp = Blueprint("ledger", __name__)
EDITORS = ("supervisor", "admin")


@bp.app_context_processor
def ledger_labels() -> dict:
    return {"ledger_category_labels": LEDGER_CATEGORY_LABELS,
            "ledger_handler_labels": LEDGER_HANDLER_LABELS,
            "ledger_state_labels": LEDGER_STATE_LABELS, "ledger_i18n": ledger_i18n}


def ledger_i18n() -> dict:
    """Strings the ledger scripts show (the phone pages and the visit form)."""
    return {
        **{f"state_{k}": str(v) for k, v in LEDGER_STATE_LABELS.items()},
        **{f"handler_{k}": str(v) for k, v in LEDGER_HANDLER_LABELS.items()},
        **{f"category_{k}": str(v) for k, v in LEDGER_CATEGORY_LABELS.items()},
        "ledger_start": _("Start handling"), "ledger_resolve": _("Resolved"),
        "ledger_feedback": _("Told the household"), "ledger_reopen": _("Reopen"),
        "ledger_back_open": _("Back to waiting"),
        "ledger_queued": _("Saved on the phone; it is sent when there is a network."),
        "ledger_pending": _("Waiting to send"), "ledger_note_added": _("Note"),
        "ledger_details": _("Details changed"), "ledger_no_change": _("Nothing changed."),
        "ledger_write_note": _("Write a note first."),
        "ledger_new_pending": _("New item, waiting to send"),
        "ledger_need_content": _("Write what they ask for."),
        "ledger_due": _("Due {d}"), "ledger_overdue": _("Overdue"),
        "ledger_none": _("None"), "ledger_empty_filter": _("Nothing here."),
        "ledger_item_label": _("Ledger item"), "ledger_update_label": _("Ledger update"),
        "ledger_link_new": _("New item"),
        "ledger_save_failed": _("Could not save on this phone: {e}"),
    }


def _village() -> OrgUnit:
    village = db.session.get(OrgUnit, current_user.scope_unit_id)
    if village is None or village.kind != "village":
        abort(403)
    return village


def _item_or_404(item_id):
    try:
        return get_item(current_user, str(item_id))
    except NotFound:
        abort(404)


# --- the phone ---------------------------------------------------------------------------

@bp.get("/m/ledger")
@roles_required("secretary")
def mobile_list():
    village, today = _village(), local_today()
    items = village_items(current_user, today)
    return render_template("ledger/mobile_list.html", village=village, items=items, today=today,
                           overdue={i.id for i in items if is_overdue(i, today)},
                           event_ids=event_ids([i.id for i in items]))


@bp.get("/m/ledger.json")
@roles_required("secretary")
def mobile_json():
    """The village's open items (no phone numbers), for a phone that wants them offline."""
    village = _village()
    response = jsonify({"village_id": village.id,
                        "items": open_item_dicts(village.id, local_today())})
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/m/ledger/new")
@roles_required("secretary")
def mobile_new():
    village = _village()
    return render_template("ledger/mobile_new.html", village=village,
                           households=household_dicts(village.id))


@bp.get("/m/ledger/<uuid:item_id>")
@roles_required("secretary")
def mobile_item(item_id):
    item = _item_or_404(item_id)
    history = item_history(item)
    return render_template("ledger/mobile_item.html", item=item, history=history,
                           history_ids=[e.id for e in history], sources=item_sources(item),
                           overdue=is_overdue(item, local_today()))


# --- the web, for reviewers --------------------------------------------------------------

def _filters() -> Filters:
    args = request.args

    def day(name: str) -> date | None:
        try:
            return date.fromisoformat(args.get(name, ""))
        except ValueError:
            return None

    def one_of(name: str, choices) -> str | None:
        value = args.get(name) or None
        return value if value in choices else None

    return Filters(village_id=args.get("village", type=int),
                   state=one_of("state", LEDGER_STATE_LABELS),
                   category=one_of("category", LEDGER_CATEGORY_LABELS),
                   handler=one_of("handler", LEDGER_HANDLER_LABELS),
                   overdue=args.get("overdue") == "1", start=day("start"), end=day("end"))


@bp.get("/ledger")
@roles_required(*REVIEWER_ROLES)
def index():
    filters, today = _filters(), local_today()
    page = list_items(current_user, filters, today, page=request.args.get("page", 1, type=int))
    villages, _secretaries = filter_choices(current_user)
    return render_template("ledger/index.html", page=page, filters=filters, villages=villages,
                           today=today)


def _item_page(item_id, *, error: str | None = None, status: int = 200):
    item = _item_or_404(item_id)
    return render_template(
        "ledger/item.html", item=item, history=item_history(item), sources=item_sources(item),
        overdue=is_overdue(item, local_today()), can_change=current_user.role in EDITORS,
        next_states=[s for s in LEDGER_STATE_LABELS if s in TRANSITIONS[item.state]],
        error=error), status


@bp.get("/ledger/<uuid:item_id>")
@roles_required(*REVIEWER_ROLES)
def item(item_id):
    return _item_page(item_id)


@bp.post("/ledger/<uuid:item_id>/change")
@roles_required(*EDITORS)
def change(item_id):
    """Change an item's state, handler or due date, or add a note (audited)."""
    _item_or_404(item_id)
    try:
        change_item(current_user, str(item_id), request.form, now=utcnow())
    except Invalid as exc:
        return _item_page(item_id, error=exc.message, status=422)
    flash(_("The item was updated."), "success")
    return redirect(url_for("ledger.item", item_id=item_id))
