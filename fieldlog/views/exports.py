"""Office exports (工作台账, 民情台账, 记实登记表, attendance, scores) as XLSX or CSV downloads."""
from urllib.parse import quote

from flask import Blueprint, Response, abort, render_template, request, stream_with_context
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from fieldlog.errors import Invalid, NotFound
from fieldlog.permissions import REVIEWER_ROLES, roles_required
from fieldlog.services.register.coverage import villages_in_scope
from fieldlog.services.reporting import (
    office_cadres,
    office_ledgers,
    office_sheets,
    office_writing,
)
from fieldlog.services.reporting.table import cadres_in_scope
from fieldlog.timefmt import local_today

bp = Blueprint("exports", __name__, url_prefix="/exports")

# kind → (title, description, months only)
KINDS = {
    "work_ledger": (_l("Resident work ledger (驻村工作台账)"),
                    _l("Every visit, meeting, six-one action, ledger item and day mark of the "
                       "period, one sheet per kind."), False),
    "issue_ledger": (_l("Villagers' issue ledger (民情台账)"),
                     _l("Issues raised in the period and older ones still open: state, handler, "
                        "due date and what was done."), False),
    "attendance": (_l("Attendance sheet (考勤表)"),
                   _l("Each cadre × each day of the month, village days against the "
                      "county's requirement."), True),
    "scores": (_l("Score sheet (考评得分表)"),
               _l("Each cadre's points per rubric item, total and grade."), False),
}
BUILDERS = {"work_ledger": office_ledgers.work_ledger,
            "issue_ledger": office_ledgers.issue_ledger,
            "attendance": office_cadres.attendance_sheet,
            "scores": office_cadres.score_sheet}


def _send(export: office_sheets.OfficeExport, fmt: str) -> Response:
    """Stream an export: CSV as it is read, XLSX from its temporary file."""
    name = f"{export.filename}.{fmt}"
    headers = {"Content-Disposition": f"attachment; filename=\"fieldlog-{export.kind}.{fmt}\"; "
                                      f"filename*=UTF-8''{quote(name)}",
               "Cache-Control": "no-store"}
    if fmt == "csv":
        return Response(stream_with_context(office_writing.csv_chunks(export)),
                        mimetype=office_writing.CSV_MIME, headers=headers)
    path = office_writing.xlsx_file(export)
    import os

    headers["Content-Length"] = str(os.path.getsize(path))
    return Response(office_writing.stream_file(path), mimetype=office_writing.XLSX_MIME,
                    headers=headers)


def _index(error: str | None = None, status: int = 200):
    today = local_today()
    return render_template(
        "exports/index.html", kinds=KINDS, villages=villages_in_scope(current_user),
        cadres=cadres_in_scope(current_user), month=today.strftime("%Y-%m"),
        period=request.args.get("period") or today.strftime("%Y-%m"),
        village_id=request.args.get("village", type=int), error=error), status


@bp.get("/")
@roles_required(*REVIEWER_ROLES)
def index():
    return _index()


@bp.get("/<any(work_ledger, issue_ledger, attendance, scores):kind>.<any(xlsx, csv):fmt>")
@roles_required(*REVIEWER_ROLES)
def download(kind: str, fmt: str):
    try:
        span = office_sheets.parse_span(request.args.get("period"), months_only=KINDS[kind][2])
        export = BUILDERS[kind](current_user, span, request.args.get("village", type=int))
    except NotFound:
        abort(404)
    except Invalid as exc:
        return _index(exc.message, 422)
    return _send(export, fmt)


@bp.get("/record-form/<int:cadre_id>.<any(xlsx, csv):fmt>")
@roles_required(*REVIEWER_ROLES)
def record_form(cadre_id: int, fmt: str):
    """记实登记表: one cadre's month."""
    try:
        span = office_sheets.parse_span(request.args.get("period"), months_only=True)
        export = office_cadres.record_form(current_user, cadre_id, span)
    except NotFound:
        abort(404)
    except Invalid as exc:
        return _index(exc.message, 422)
    return _send(export, fmt)
