"""The secretary's phone pages: home, the village's households, new visit, outbox."""
from babel.dates import format_skeleton
from flask import Blueprint, abort, render_template, request
from flask_babel import get_locale
from flask_login import current_user

from fieldlog.extensions import db
from fieldlog.models import OrgUnit
from fieldlog.permissions import roles_required
from fieldlog.services.integrity.rules import photo_check_limits
from fieldlog.services.records.home import (
    SHOWN_BY,
    household_dicts,
    households_page,
    secretary_home,
)
from fieldlog.services.records.ledger import open_item_dicts
from fieldlog.services.records.visits import month_start_utc, tag_choices
from fieldlog.services.reporting.handover import phone_handovers
from fieldlog.timefmt import local_today

bp = Blueprint("mobile", __name__, url_prefix="/m")


def _village() -> OrgUnit:
    village = db.session.get(OrgUnit, current_user.scope_unit_id)
    if village is None or village.kind != "village":
        abort(403)
    return village


@bp.get("/")
@roles_required("secretary")
def home():
    village = _village()
    today = local_today()
    figures = secretary_home(current_user, today, village.id)
    try:  # the review area may not be installed yet
        from fieldlog.services.review.decisions import returned_count
    except ImportError:
        returned = 0
    else:
        returned = returned_count(current_user)
    return render_template(
        "mobile/home.html", user=current_user, village=village, returned_count=returned,
        month_label=format_skeleton("yMMMM", today, locale=get_locale()),
        month_visits=figures.month_visits, month_households=figures.month_households,
        households_total=figures.households_total, unvisited=figures.unvisited,
        unvisited_count=figures.unvisited_count, recent=figures.recent,
        handovers=phone_handovers(current_user, today),
    )


@bp.get("/households")
@roles_required("secretary")
def households():
    """Every household of the village, searched and filtered on the phone (offline too)."""
    village = _village()
    query = request.args.get("q", "").strip()[:40]
    show = request.args.get("show", "") if request.args.get("show") in SHOWN_BY else ""
    rows, shown = households_page(village.id, month_start_utc(local_today()), query, show)
    return render_template("mobile/households.html", village=village, rows=rows, query=query,
                           show=show, shown=shown)


@bp.get("/visits/new")
@roles_required("secretary")
def new_visit():
    village = _village()
    return render_template(
        "mobile/new_visit.html", village=village, households=household_dicts(village.id),
        tags=tag_choices(), preselect=request.args.get("household"),
        ledger_open=open_item_dicts(village.id, local_today()),
        photo_check=photo_check_limits(village.lat, village.lon, village.geofence_m),
    )


@bp.get("/outbox")
@roles_required("secretary")
def outbox():
    return render_template("mobile/outbox.html")
