"""Attendance and leave: the cadre's phone pages, approvals, the monthly sheet, the settings."""
import calendar
from datetime import date, timedelta

from babel.dates import format_skeleton
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from fieldlog.domain import DAY_REASON_LABELS, DAY_STATE_LABELS
from fieldlog.errors import Conflict, Forbidden, Invalid, NotFound
from fieldlog.extensions import db
from fieldlog.models import OrgUnit
from fieldlog.models.attendance import LEAVE_TYPES, OFFICIAL_REASONS
from fieldlog.permissions import REVIEWER_ROLES, roles_required
from fieldlog.services.attendance import days as days_svc
from fieldlog.services.attendance import leave as leave_svc
from fieldlog.services.attendance import monthly as monthly_svc
from fieldlog.services.attendance import settings as settings_svc
from fieldlog.services.org import settings as org_settings
from fieldlog.services.org.settings import county_setting, set_county_setting
from fieldlog.timefmt import local_today

bp = Blueprint("attendance", __name__)

DAY_LABELS = {**DAY_STATE_LABELS, "": _l("Nothing")}
REASON_LABELS = DAY_REASON_LABELS
LEAVE_TYPE_LABELS = {"personal": _l("Personal leave"), "sick": _l("Sick leave"),
                     "annual": _l("Annual leave"), "other": _l("Other leave")}
STATE_LABELS = {"pending": _l("Awaiting approval"), "approved": _l("Leave approved"),
                "rejected": _l("Leave rejected"), "cancelled": _l("Withdrawn")}
DECISION_LABELS = {"approved": _l("Agreed"), "rejected": _l("Did not agree")}
LEVEL_LABELS = {"township": _l("Township level"), "county": _l("County level")}


def _labels() -> dict:
    return {"day": DAY_LABELS, "reason": REASON_LABELS, "leave_type": LEAVE_TYPE_LABELS,
            "state": STATE_LABELS, "decision": DECISION_LABELS, "level": LEVEL_LABELS}


def _village() -> OrgUnit:
    village = db.session.get(OrgUnit, current_user.scope_unit_id)
    if village is None or village.kind != "village":
        abort(403)
    return village


def _month_arg(today: date) -> tuple[int, int]:
    """Read ?month=YYYY-MM; anything else (or a month after this one) is this month."""
    value = request.args.get("month", "")
    try:
        year, month = (int(part) for part in value.split("-"))
        chosen = date(year, month, 1)
    except ValueError:
        return today.year, today.month
    if chosen > today or chosen.year < 2015:
        return today.year, today.month
    return year, month


def _shift(year: int, month: int, delta: int) -> str:
    index = year * 12 + month - 1 + delta
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _month_label(year: int, month: int) -> str:
    return format_skeleton("yMMMM", date(year, month, 1), locale=get_locale())


def _weeks(year: int, month: int) -> list[list[date | None]]:
    return [[day if day.month == month else None for day in week]
            for week in calendar.Calendar(firstweekday=0).monthdatescalendar(year, month)]


# -- the cadre's phone pages ---------------------------------------------------------------------

@bp.get("/m/attendance")
@roles_required("secretary")
def mobile():
    village = _village()
    today = local_today()
    year, month = _month_arg(today)
    figures = monthly_svc.month_summary(current_user, year, month)
    marks = {m.day: m for m in days_svc.marks_between(current_user, figures.first, figures.last)}
    this_month = (year, month) == (today.year, today.month)
    return render_template(
        "attendance/mobile.html", village=village, figures=figures, marks=marks,
        weeks=_weeks(year, month), today=today, month_label=_month_label(year, month),
        prev_month=_shift(year, month, -1), next_month=None if this_month else
        _shift(year, month, 1), labels=_labels(),
        leaves=[leave for leave in leave_svc.my_leaves(current_user) if leave.state == "pending"])


@bp.get("/m/attendance/mark")
@roles_required("secretary")
def mark_day():
    _village()
    today = local_today()
    marks = days_svc.marks_between(current_user, today - timedelta(days=92), today)
    known = {m.day.isoformat(): {"id": m.id, "version": m.version, "kind": m.kind,
                                 "reason": m.reason, "note": m.note} for m in marks}
    return render_template("attendance/mark.html", marks=known, today=today,
                           min_day=today - timedelta(days=92), reasons=OFFICIAL_REASONS,
                           labels=_labels())


@bp.get("/m/leave")
@roles_required("secretary")
def leave_list():
    _village()
    leaves = leave_svc.my_leaves(current_user)
    return render_template("attendance/leave_list.html", leaves=leaves,
                           decisions=leave_svc.decisions_for(leave.id for leave in leaves),
                           chains={leave.id: leave_svc.chain_of(leave) for leave in leaves},
                           labels=_labels())


@bp.get("/m/leave/new")
@roles_required("secretary")
def new_leave():
    _village()
    return render_template("attendance/new_leave.html", today=local_today(),
                           leave_types=LEAVE_TYPES, labels=_labels(),
                           chain=county_setting(current_user.scope_unit, "leave_chain"))


# -- approvals -------------------------------------------------------------------------------------

@bp.get("/leave/approvals")
@roles_required("supervisor")
def approvals():
    pending = leave_svc.pending_approvals(current_user)
    return render_template(
        "attendance/approvals.html", pending=pending, level=leave_svc.approver_level(current_user),
        decisions=leave_svc.decisions_for(leave.id for leave in pending),
        chains={leave.id: leave_svc.chain_of(leave) for leave in pending},
        recent=leave_svc.recent_decisions(current_user), labels=_labels(),
        taken=days_svc.leave_days_taken({leave.author_id for leave in pending},
                                        date(local_today().year, 1, 1), local_today()))


@bp.post("/leave/<uuid:leave_id>/decide")
@roles_required("supervisor")
def decide(leave_id):
    decision = request.form.get("decision", "")
    try:
        leave = leave_svc.decide(current_user, str(leave_id), decision,
                                 request.form.get("comment", ""))
    except NotFound:
        abort(404)
    except Forbidden:
        abort(403)
    except Invalid as exc:
        flash(_("Write a comment saying why before rejecting.") if "comment" in exc.fields
              and decision == "rejected" else _("The decision could not be recorded: %(e)s",
                                                e=exc.message), "error")
        return redirect(url_for("attendance.approvals"))
    except Conflict:
        flash(_("This request has already been decided or withdrawn."), "warning")
        return redirect(url_for("attendance.approvals"))
    who = leave.author.display_name
    if decision == "rejected":
        flash(_("Rejected the leave of %(name)s.", name=who), "success")
    elif leave.state == "approved":
        flash(_("Approved the leave of %(name)s.", name=who), "success")
    else:
        flash(_("Approved; the leave of %(name)s now goes to the next level.", name=who),
              "success")
    return redirect(url_for("attendance.approvals"))


# -- the monthly sheet ----------------------------------------------------------------------------

@bp.get("/attendance")
@roles_required(*REVIEWER_ROLES)
def index():
    today = local_today()
    year, month = _month_arg(today)
    rows = monthly_svc.month_table(current_user, year, month)
    first, last = monthly_svc.month_bounds(year, month)
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    this_month = (year, month) == (today.year, today.month)
    return render_template(
        "attendance/index.html", rows=rows, days=days, today=today, year=year, month=month,
        month_value=f"{year:04d}-{month:02d}", month_label=_month_label(year, month),
        prev_month=_shift(year, month, -1),
        next_month=None if this_month else _shift(year, month, 1),
        threshold=monthly_svc.threshold_for(current_user.scope_unit), labels=_labels(),
        below=sum(1 for _c, f in rows if f.below),
        running=monthly_svc.days_target(1, first, last, today).running)


# -- settings -------------------------------------------------------------------------------------

def _chain_rows(form) -> list[tuple[str, str]]:
    return [(form.get(f"level_{n}", ""), form.get(f"from_{n}", "")) for n in range(3)]


@bp.route("/admin/settings/attendance", methods=["GET", "POST"])
@roles_required("admin")
def settings():
    counties = org_settings.settings_counties(current_user)
    county = org_settings.settings_county(current_user, request.args.get("county", type=int))
    if county is None:  # a city administrator chooses the county first
        return render_template("attendance/settings.html", county=None, counties=counties)
    threshold = county_setting(county, "attendance_days_per_month")
    chain = county_setting(county, "leave_chain")
    error, status = None, 200
    if request.method == "POST":
        raw = request.form.get("threshold", "").strip()
        rows = _chain_rows(request.form)
        try:
            if not raw.isdigit() or not 1 <= int(raw) <= 31:
                raise Invalid("threshold", fields={"threshold": ["1..31"]})
            new_chain = settings_svc.parse_chain(rows)
        except Invalid as exc:
            error = (_("Days in the village per month must be a whole number from 1 to 31.")
                     if "threshold" in exc.fields else _chain_error(exc))
            threshold, chain, status = raw, [{"level": lv, "from_days": fd} for lv, fd in rows
                                             if lv or fd], 422
        else:
            if int(raw) != threshold:
                set_county_setting(current_user, county, "attendance_days_per_month", int(raw))
            if new_chain != chain:
                set_county_setting(current_user, county, "leave_chain", new_chain)
            flash(_("Attendance settings saved."), "success")
            return redirect(url_for("attendance.settings", county=county.id)
                            if len(counties) > 1 else url_for("attendance.settings"))
    return render_template("attendance/settings.html", county=county, counties=counties,
                           threshold=threshold,
                           chain=(list(chain) + [{}] * 3)[:3], error=error, labels=_labels(),
                           levels=leave_svc.LEVELS), status


def _chain_error(exc: Invalid) -> str:
    detail = exc.fields.get("chain", [""])[0]
    return {
        "Unknown level.": _("Each step's level must be township or county."),
        "Bad number of days.": _("Each step applies from a whole number of days, at least 1."),
        "Not increasing.": _("Each step must start from more days than the step before it."),
        "Empty.": _("The chain needs at least one step."),
    }.get(detail, exc.message)
