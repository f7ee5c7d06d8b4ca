"""The 千分制 assessment pages: scores in scope, one cadre's breakdown, the county's rubric.

Supervisors and admins score; inspectors read; secretaries never see scores (no ranking on
the phone).
"""
import json

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from fieldlog.errors import FieldlogError, Invalid, NotFound
from fieldlog.permissions import REVIEWER_ROLES, roles_required
from fieldlog.services.org.settings import settings_counties, settings_county
from fieldlog.services.reporting import scoring as service
from fieldlog.services.reporting.period import Period
from fieldlog.services.reporting.table import cadre_in_scope, cadres_in_scope
from fieldlog.timefmt import local_today

bp = Blueprint("scoring", __name__)

PERIOD_KINDS = {"month": _l("Month"), "quarter": _l("Quarter"), "year": _l("Year")}


def _period() -> tuple[Period, str | None]:
    """Read ?period= (or ?kind= for the running one); a bad one falls back to this month."""
    today = local_today()
    kind = request.args.get("kind", "")
    if kind in PERIOD_KINDS and not request.args.get("period"):
        return Period.around(kind, today), None
    try:
        period = Period.parse(request.args.get("period") or request.form.get("period"), today)
    except Invalid as exc:
        return Period.around("month", today), exc.message
    if period.kind == "term":
        return Period.around("month", today), _("Scores are given per month, quarter or year.")
    return period, None


@bp.get("/scoring/")
@roles_required(*REVIEWER_ROLES)
def index():
    period, error = _period()
    if error:
        flash(error, "error")
    scores = service.period_scores([c.id for c in cadres_in_scope(current_user)], period)
    rubric = service.rubric_for(current_user.scope_unit)
    return render_template(
        "scoring/index.html", scores=scores, period=period, kinds=PERIOD_KINDS,
        items=rubric["items"], bands=rubric["bands"], label_of=service.label_of,
        can_edit_rubric=current_user.role == "admin"), 422 if error else 200


def _cadre_page(cadre_id: int, errors: dict | None = None, form: dict | None = None,
                status: int = 200):
    try:
        cadre = cadre_in_scope(current_user, cadre_id)
    except NotFound:
        abort(404)
    period, error = _period()
    if error:
        flash(error, "error")
    [score] = service.period_scores([cadre.id], period)
    return render_template(
        "scoring/cadre.html", cadre=cadre, score=score, period=period, kinds=PERIOD_KINDS,
        metrics=service.METRICS, counts=service.COUNT_METRICS,
        can_score=current_user.role in service.SCORERS, errors=errors or {}, form=form or {},
        reason_max=service.REASON_MAX,
        bands=service.rubric_for(cadre.scope_unit)["bands"], label_of=service.label_of,
    ), 422 if error and status == 200 else status


@bp.get("/scoring/<int:cadre_id>")
@roles_required(*REVIEWER_ROLES)
def cadre(cadre_id: int):
    return _cadre_page(cadre_id)


@bp.post("/scoring/<int:cadre_id>/manual")
@roles_required(*service.SCORERS)
def manual(cadre_id: int):
    """Give a manual item its points for the period, with the reason (audited)."""
    period, error = _period()
    if error:
        abort(404)
    item = request.form.get("item", "")
    try:
        service.set_manual_score(current_user, cadre_id, period.key, item,
                                 request.form.get("points"), request.form.get("reason", ""))
    except NotFound:
        abort(404)
    except Invalid as exc:
        flash(exc.message, "error")
        return _cadre_page(cadre_id, {item: exc.fields}, request.form.to_dict(), 422)
    flash(_("Score saved."), "success")
    return redirect(url_for("scoring.cadre", cadre_id=cadre_id, period=period.key))


@bp.route("/admin/scoring", methods=["GET", "POST"])
@roles_required("admin")
def rubric():
    """Edit the county's rubric as JSON, checked in full before anything is saved.

    A city administrator first chooses which of the city's counties (never a guess)."""
    counties = settings_counties(current_user)
    county = settings_county(current_user, request.args.get("county", type=int))
    if county is None:
        return render_template("scoring/rubric.html", county=None, counties=counties,
                               total=service.TOTAL)
    here = url_for("scoring.rubric", county=county.id) if len(counties) > 1 \
        else url_for("scoring.rubric")
    current = service.rubric_for(county)
    text, problems = json.dumps(current, ensure_ascii=False, indent=2), []
    if request.method == "POST":
        text = request.form.get("rubric", "")
        try:
            service.save_rubric(current_user, json.loads(text), county)
        except ValueError as exc:
            problems = [_("This is not valid JSON: %(error)s", error=str(exc))]
        except FieldlogError as exc:
            problems = exc.fields.get("rubric") or [exc.message]
        else:
            flash(_("The scoring rubric was saved."), "success")
            return redirect(here)
    return render_template(
        "scoring/rubric.html", rubric=current, text=text, problems=problems, county=county,
        counties=counties, metrics=service.METRICS, label_of=service.label_of,
        total=service.TOTAL,
    ), 422 if problems else 200
