"""The secretary's month on the phone (/m/month) and the printable monthly reports."""
from datetime import date

from babel.dates import format_skeleton
from flask import Blueprint, abort, flash, render_template, request, url_for
from flask_babel import format_date, format_decimal, get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import or_, select

from fieldlog.domain import ACTION_STATE_LABELS as DOMAIN_ACTION_STATES
from fieldlog.domain import (
    ACTION_TYPE_LABELS,
    GOAL_TYPE_LABELS,
    LEAVE_TYPE_LABELS,
    LEDGER_STATE_LABELS,
    MEETING_TYPE_LABELS,
)
from fieldlog.extensions import db
from fieldlog.models import Assignment, OrgUnit, User
from fieldlog.models.base import utcnow
from fieldlog.permissions import REVIEWER_ROLES, roles_required, unit_in_scope
from fieldlog.services.reporting.month import MonthRecord, Period, month_record, month_records
from fieldlog.timefmt import local_today

bp = Blueprint("month", __name__)

MEETING_LABELS, ACTION_LABELS, GOAL_LABELS = (MEETING_TYPE_LABELS, ACTION_TYPE_LABELS,
                                              GOAL_TYPE_LABELS)
ACTION_STATE_LABELS = {None: _l("Not started"), **DOMAIN_ACTION_STATES}
GROUP_LABELS = {"sanlao": _l("Three elders"), "sanhu": _l("Three households"),
                "others": _l("Other households")}
LEAVE_LABELS = LEAVE_TYPE_LABELS
LEAVE_STATE_LABELS = {"pending": _l("Awaiting approval"), "approved": _l("Approved")}


def _labels() -> dict:
    return {"meeting": MEETING_LABELS, "action": ACTION_LABELS, "action_state": ACTION_STATE_LABELS,
            "goal": GOAL_LABELS, "group": GROUP_LABELS, "ledger_state": LEDGER_STATE_LABELS,
            "leave": LEAVE_LABELS, "leave_state": LEAVE_STATE_LABELS}


@bp.app_template_filter("month_day")
def month_day(day: date) -> str:
    """Format a (county-local) day briefly: 10月31日 / Oct 31."""
    return format_skeleton("MMMd", day, locale=get_locale())


@bp.app_template_filter("report_date")
def report_date(day: date) -> str:
    """Format a day in full for a printed form: 2026年10月31日 / October 31, 2026."""
    return format_date(day, "long")


@bp.app_template_filter("month_num")
def month_num(value: float) -> str:
    """Format a number for the UI language."""
    return format_decimal(value)


def month_label(period: Period) -> str:
    """Return the month's name in the UI language: 2026年10月 / October 2026."""
    return format_skeleton("yMMMM", period.first, locale=get_locale())


def _report_period(text: str) -> Period:
    """Read a report's month from the URL; a malformed or future month is not found."""
    period = Period.parse(text)
    if period is None or period.first > local_today():
        abort(404)
    return period


@bp.get("/m/month")
@roles_required("secretary")
def mobile():
    current = Period.current()
    period = current
    if "m" in request.args:
        asked = Period.parse(request.args["m"])
        if asked is None or asked.first > current.first:
            flash(_l("There is no record for that month; showing this month."), "warning")
        else:
            period = asked
    record = month_record(current_user, period.year, period.month)
    return render_template(
        "month/mobile.html", record=record, period=period, label=month_label(period),
        previous=period.previous, next=period.next if period != current else None,
        current=current, is_current=period == current, labels=_labels(), now=utcnow())


def _cadre_village(cadre: User) -> OrgUnit | None:
    """Return the village of a cadre's latest assignment, else their scope unit."""
    village_id = db.session.scalar(select(Assignment.village_id).where(
        Assignment.user_id == cadre.id).order_by(Assignment.start_date.desc()).limit(1))
    return db.session.get(OrgUnit, village_id) if village_id else cadre.scope_unit


def _ancestors(unit: OrgUnit | None) -> dict[str, str]:
    """Return kind → name along a unit's path (county, township, village)."""
    if unit is None:
        return {}
    ids = [int(p) for p in unit.path.strip("/").split("/") if p]
    return {u.kind: u.name for u in db.session.scalars(select(OrgUnit).where(OrgUnit.id.in_(ids)))}


def _bar(endpoint: str, period: Period, back: tuple[str, str] | None, **args) -> dict:
    """Return the links of a report's screen toolbar."""
    later = period.next if period.next.first <= local_today() else None
    return {"prev_url": url_for(endpoint, period=str(period.previous), **args),
            "next_url": url_for(endpoint, period=str(later), **args) if later else None,
            "back_url": back[0] if back else None, "back_label": back[1] if back else ""}


@bp.get("/report/cadre/<int:cadre_id>/<period>")
@roles_required("secretary", *REVIEWER_ROLES)
def cadre_report(cadre_id: int, period: str):
    month = _report_period(period)
    cadre = db.session.get(User, cadre_id)
    if cadre is None or cadre.role != "secretary":
        abort(404)
    if current_user.role == "secretary":
        if cadre.id != current_user.id:
            abort(404)
    else:
        village = _cadre_village(cadre)
        if village is None or not unit_in_scope(current_user, village):
            abort(404)
    record = month_record(cadre, month.year, month.month)
    place = record.village or cadre.scope_unit
    if current_user.role == "secretary":
        back = (url_for("month.mobile", m=str(month)), _l("My month"))
    elif place.parent is not None and place.parent.kind == "township" \
            and unit_in_scope(current_user, place.parent):
        back = (url_for("month.township_report", township_id=place.parent_id,
                        period=str(month)), place.parent.name)
    else:
        back = None
    return render_template(
        "month/cadre_report.html", record=record, period=month, label=month_label(month),
        places=_ancestors(place), labels=_labels(), printed_on=local_today(),
        **_bar("month.cadre_report", month, back, cadre_id=cadre.id))


def township_cadres(township: OrgUnit, period: Period) -> list[User]:
    """Return the secretaries working in a township's villages during the month."""
    villages = select(OrgUnit.id).where(OrgUnit.kind == "village",
                                        OrgUnit.path.startswith(township.path, autoescape=True))
    assigned = select(Assignment.user_id).where(
        Assignment.village_id.in_(villages), Assignment.start_date <= period.last,
        or_(Assignment.end_date.is_(None), Assignment.end_date >= period.first))
    return list(db.session.scalars(select(User).where(
        User.role == "secretary",
        or_(User.id.in_(assigned), User.scope_unit_id.in_(villages)),
    ).order_by(User.display_name, User.id)))


def _totals(records: list[MonthRecord]) -> dict:
    def total(get) -> int:
        return sum(get(r) for r in records)

    return {
        "days_in_village": total(lambda r: r.days_in_village),
        "short": total(lambda r: int(r.days_short)),
        "visits": total(lambda r: r.visit_counts["total"]),
        "sanlao": total(lambda r: r.visit_counts["sanlao"]),
        "sanhu": total(lambda r: r.visit_counts["sanhu"]),
        "meetings": total(lambda r: r.meeting_total),
        "six_one": total(lambda r: r.six_one_done),
        "opened": total(lambda r: r.ledger_opened_count),
        "closed": total(lambda r: r.ledger_closed_count),
        "overdue": total(lambda r: r.ledger_overdue),
        "leave_days": total(lambda r: r.leave_days),
        "returned": total(lambda r: r.returned),
    }


@bp.get("/report/township/<int:township_id>/<period>")
@roles_required(*REVIEWER_ROLES)
def township_report(township_id: int, period: str):
    month = _report_period(period)
    township = db.session.get(OrgUnit, township_id)
    if township is None or township.kind != "township" \
            or not unit_in_scope(current_user, township):
        abort(404)
    records = month_records(township_cadres(township, month), month, details=False)
    return render_template(
        "month/township_report.html", records=records, totals=_totals(records),
        township=township, period=month, label=month_label(month),
        places=_ancestors(township), printed_on=local_today(),
        **_bar("month.township_report", month, None, township_id=township.id))
