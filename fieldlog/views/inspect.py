"""Inspectors' pages: draw a sample, work its check tasks, presence checks; the integrity summary.

Inspectors (and admins) act; supervisors may read the summary and a cadre's findings. Nothing
here changes a record: the services only write check tasks, presence checks and the audit trail.
"""
from datetime import date, timedelta

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_timezone, ngettext
from flask_babel import gettext as _
from flask_login import current_user

from fieldlog import clock
from fieldlog.errors import FieldlogError, Forbidden, Invalid, NotFound
from fieldlog.permissions import REVIEWER_ROLES, roles_required
from fieldlog.services.inspection import checks, sampling
from fieldlog.services.integrity.text import describe, kind_label
from fieldlog.views.photofiles import stored_photo

bp = Blueprint("inspect", __name__, url_prefix="/inspect")
ACTORS = ("inspector", "admin")


@bp.record_once
def _labels(state) -> None:
    """Let every template (the review pages include the findings partial) name methods etc."""
    state.app.jinja_env.globals.update(
        check_methods=checks.METHODS, check_outcomes=checks.OUTCOMES,
        presence_outcomes=checks.PRESENCE_OUTCOMES, presence_questions=checks.PRESENCE_QUESTIONS,
        flag_label=kind_label, describe_flag=_describe)


def _describe(flag) -> str:
    """Explain a flag in words; a flag whose numbers are missing still shows its name."""
    try:
        return describe(flag)
    except (KeyError, TypeError, ValueError):
        return kind_label(flag.kind)


def _or_abort(call, *args, **kwargs):
    """Run a service read; a missing or out-of-scope object is a 404, a refusal a 403."""
    try:
        return call(*args, **kwargs)
    except NotFound:
        abort(404)
    except Forbidden:
        abort(403)


def _today() -> date:
    return clock.today_in(str(get_timezone()))


def _last_month() -> tuple[date, date]:
    end = _today().replace(day=1) - timedelta(days=1)
    return end.replace(day=1), end


def _date(name: str, default: date) -> date:
    value = request.values.get(name, "").strip()
    if not value:
        return default
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Invalid(_("Dates are written as YYYY-MM-DD.")) from None


def _number(name: str, kind, default):
    value = request.form.get(name, "").strip()
    if not value:
        return default
    try:
        return kind(value)
    except ValueError:
        raise Invalid(_("“%(v)s” is not a number.", v=value[:20])) from None


def _index(form: dict, status: int = 200):
    return render_template("inspect/index.html", samples=sampling.samples_of(current_user),
                           units=sampling.scope_units(current_user), form=form), status


@bp.get("/")
@roles_required(*ACTORS)
def index():
    start, end = _last_month()
    return _index({"scope": current_user.scope_unit_id, "start": start, "end": end,
                   "size": 20, "seed": "", "flag_weight": 3})


@bp.post("/samples")
@roles_required(*ACTORS)
def draw():
    form = {key: request.form.get(key, "") for key in
            ("scope", "start", "end", "size", "seed", "flag_weight")}
    try:
        start, end = _last_month()
        sample = sampling.draw_sample(
            current_user, _number("scope", int, None), _date("start", start), _date("end", end),
            _number("size", int, 20), seed=_number("seed", int, None),
            flag_weight=_number("flag_weight", float, 3.0))
    except FieldlogError as exc:
        flash(exc.message, "error")
        return _index(form, exc.status)
    flash(ngettext("Sample drawn: %(num)s record to check. Seed %(seed)s is kept with it.",
                   "Sample drawn: %(num)s records to check. Seed %(seed)s is kept with it.",
                   len(sample.tasks), seed=sample.seed), "success")
    return redirect(url_for("inspect.sample", sample_id=sample.id))


@bp.get("/samples/<int:sample_id>")
@roles_required(*ACTORS)
def sample(sample_id: int):
    view = _or_abort(sampling.own_sample, current_user, sample_id)
    verified = sampling.reproduces(view.sample) if request.args.get("verify") else None
    return render_template("inspect/sample.html", view=view, verified=verified)


def _task(task_id: int, *, phone: str | None = None, status: int = 200):
    page = _or_abort(checks.task_page, current_user, task_id)
    return render_template("inspect/task.html", page=page, task=page.task,
                           visit=page.detail.visit, detail=page.detail, phone=phone), status


@bp.get("/tasks/<int:task_id>")
@roles_required(*ACTORS)
def task(task_id: int):
    return _task(task_id)


@bp.post("/tasks/<int:task_id>/method")
@roles_required(*ACTORS)
def method(task_id: int):
    try:
        _or_abort(checks.choose_method, current_user, task_id, request.form.get("method", ""))
    except Invalid as exc:
        flash(exc.message, "error")
    return redirect(url_for("inspect.task", task_id=task_id))


@bp.post("/tasks/<int:task_id>/reveal")
@roles_required(*ACTORS)
def reveal(task_id: int):
    try:
        phone = checks.reveal_phone_for_task(current_user, task_id)
    except NotFound as exc:
        if exc.code != "no_phone":
            abort(404)
        flash(_("This household has no phone number on file."), "error")
        return redirect(url_for("inspect.task", task_id=task_id))
    except (Invalid, Forbidden) as exc:
        flash(exc.message, "error")
        return redirect(url_for("inspect.task", task_id=task_id))
    html, status = _task(task_id, phone=phone)
    response = Response(html, status)
    # The number is shown on this response only: never stored by the browser or a proxy.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/tasks/<int:task_id>/outcome")
@roles_required(*ACTORS)
def outcome(task_id: int):
    photos = [f.read() for f in request.files.getlist("photos") if f and f.filename]
    try:
        task = _or_abort(checks.record_outcome, current_user, task_id,
                         request.form.get("method", ""), request.form.get("outcome", ""),
                         request.form.get("notes", ""), photos)
    except Invalid as exc:
        flash(exc.message, "error")
        return _task(task_id, status=exc.status)
    flash(_("The outcome is recorded."), "success")
    return redirect(url_for("inspect.sample", sample_id=task.sample_id, _anchor=f"t{task.id}"))


@bp.get("/tasks/<int:task_id>/photos/<uuid:photo_id>/<any(display, thumb):size>")
@roles_required(*REVIEWER_ROLES)
def check_photo(task_id: int, photo_id, size: str):
    photo = _or_abort(checks.check_photo_for_viewer, current_user, task_id, str(photo_id))
    key = photo.display_key if size == "display" else photo.thumb_key
    return stored_photo(key, "image/jpeg")


@bp.route("/presence/<int:cadre_id>", methods=["GET", "POST"])
@roles_required(*ACTORS)
def presence(cadre_id: int):
    form = _or_abort(checks.presence_form, current_user, cadre_id)
    if request.method == "POST":
        answers = {key: request.form.get(f"answer_{key}", "") for key in checks.PRESENCE_QUESTIONS}
        try:
            checks.record_presence_check(current_user, cadre_id, answers,
                                         request.form.get("outcome", ""),
                                         request.form.get("notes", ""))
        except Invalid as exc:
            flash(exc.message, "error")
            return render_template("inspect/presence.html", form=form, values=request.form), 422
        flash(_("The presence check is recorded."), "success")
        return redirect(url_for("inspect.summary", cadre=cadre_id))
    return render_template("inspect/presence.html", form=form, values={})


@bp.get("/summary")
@roles_required(*REVIEWER_ROLES)
def summary():
    default_start, _end = _last_month()
    try:
        period = (_date("start", default_start), _date("end", _today()))
        if period[0] > period[1]:
            raise Invalid(_("The period must start on or before its end."))
    except Invalid as exc:
        flash(exc.message, "error")
        period = (default_start, _today())
    scope = request.args.get("scope", type=int)
    report = _or_abort(checks.integrity_summary, current_user, scope, period)
    cadre_id = request.args.get("cadre", type=int)
    found = _or_abort(checks.findings_for_cadre, cadre_id, viewer=current_user) \
        if cadre_id else None
    return render_template("inspect/summary.html", report=report, found=found, scope=scope,
                           units=sampling.scope_units(current_user))
