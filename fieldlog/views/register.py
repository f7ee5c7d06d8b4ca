"""The household register (户籍台账) and visit coverage (走访覆盖) pages."""
import io

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from fieldlog.domain import TAGS, tag_label
from fieldlog.errors import FieldlogError, Forbidden, Invalid
from fieldlog.permissions import can_reveal_phone, roles_required
from fieldlog.services.people.privacy import REASON_MAX, mask_phone, reveal_household_phone
from fieldlog.services.register.coverage import (
    viewable_village,
    village_coverage,
    villages_in_scope,
)
from fieldlog.services.register.exporting import export_register
from fieldlog.services.register.households import editable_household, update_household
from fieldlog.services.register.importing import import_register, preview_register
from fieldlog.timefmt import local_today

bp = Blueprint("register", __name__, url_prefix="/register")
EDITORS = ("secretary", "admin")


def _village():
    """Return the village asked for (or a secretary's own); None when a reviewer must choose."""
    village_id = request.values.get("village", type=int)
    if village_id is None and current_user.role != "secretary":
        return None
    try:
        return viewable_village(current_user, village_id)
    except FieldlogError:
        abort(404)


def _choose(endpoint: str):
    """Let a reviewer or an admin pick one of the villages in their scope."""
    return render_template("register/choose.html", endpoint=endpoint, villages=villages_in_scope(
        current_user, in_use=endpoint == "register.index"))  # coverage is history too


def _index(village, preview=None, error=None, status=200, export_error=None):
    coverage = village_coverage(village, local_today())
    query = request.args.get("q", "").strip()
    rows = [r for r in coverage.rows if not query or query in r.household.head_name
            or query in r.household.house_label]
    return render_template(
        "register/index.html", village=village, rows=rows, query=query,
        total=len(coverage.rows), preview=preview, error=error, mask_phone=mask_phone,
        tag_label=tag_label, export_error=export_error, reason_max=REASON_MAX), status


@bp.get("/")
@roles_required(*EDITORS)
def index():
    village = _village()
    return _index(village) if village else _choose("register.index")


@bp.post("/import")
@roles_required(*EDITORS)
def import_file():
    village = _village() or abort(404)
    upload = request.files.get("file")
    data = upload.read() if upload else b""
    filename = (upload.filename or "") if upload else ""
    try:
        if request.form.get("confirm"):
            result = import_register(current_user, village.id, data, filename)
            flash(_("Imported: %(new)s new, %(updated)s updated, %(same)s unchanged.",
                    new=result.created, updated=result.updated, same=result.unchanged),
                  "success")
            return redirect(url_for("register.index", village=village.id))
        preview = preview_register(current_user, village.id, data, filename)
    except Invalid as exc:
        return _index(village, error=exc, status=422)
    except FieldlogError as exc:
        abort(exc.status)
    return _index(village, preview=preview)


def _xlsx(data: bytes, name: str):
    response = send_file(
        io.BytesIO(data), as_attachment=True, download_name=name,
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/export")
@roles_required(*EDITORS)
def export():
    """The masked register: phones masked, no categories, no positions (audited)."""
    village = _village()
    if village is None:
        return redirect(url_for("register.index"))
    data = export_register(current_user, village.id)
    return _xlsx(data, f"register-{village.code}.xlsx")


@bp.post("/export-full")
@roles_required("admin")
def export_full():
    """The full register, for an administrator who states why (audited with the reason)."""
    village = _village() or abort(404)
    try:
        data = export_register(current_user, village.id,
                                       full_reason=request.form.get("reason", ""))
    except Invalid as exc:
        return _index(village, export_error=exc.message, status=422)
    except Forbidden:
        abort(403)
    return _xlsx(data, f"register-{village.code}-full.xlsx")


@bp.route("/households/<household_id>", methods=["GET", "POST"])
@roles_required(*EDITORS)
def edit(household_id: str):
    try:
        household = editable_household(current_user, household_id)
    except FieldlogError:
        abort(404)
    errors, form = {}, None
    if request.method == "POST":
        try:
            update_household(current_user, household_id, request.form)
            flash(_("Household saved."), "success")
            return redirect(url_for("register.index", village=household.village_id))
        except Invalid as exc:
            errors, form = exc.fields, request.form
    return _edit_page(household, form, errors), 422 if errors else 200


def _edit_page(household, form=None, errors=None, *, revealed: str | None = None,
               reveal_error: str | None = None) -> str:
    values = form.to_dict() if form else {
        "head_name": household.head_name, "house_label": household.house_label,
        "member_count": household.member_count, "phone": "",
        "lat": "" if household.lat is None else household.lat,
        "lon": "" if household.lon is None else household.lon}
    # Never put the stored number in a field (it is shown masked); blank keeps it.
    values["phone"] = form.get("phone", "") if form else ""
    tags = form.getlist("tags") if form else household.tags
    return render_template(
        "register/edit.html", household=household, values=values, tags=tags, all_tags=TAGS,
        errors=errors or {}, masked_phone=mask_phone(household.phone), revealed_phone=revealed,
        reveal_error=reveal_error, reason_max=REASON_MAX,
        can_reveal=can_reveal_phone(current_user, viewable_village(
            current_user, household.village_id), "register"))


@bp.post("/households/<household_id>/reveal-phone")
@roles_required("secretary")
def reveal_phone(household_id: str):
    """Show the village's secretary a household's full number, for a reason (audited)."""
    try:
        household = editable_household(current_user, household_id)
        phone = reveal_household_phone(current_user, household.id,
                                       request.form.get("reason", ""), "register")
    except Invalid as exc:
        return _edit_page(household, reveal_error=exc.message), 422
    except FieldlogError:
        abort(404)
    response = Response(_edit_page(household, revealed=phone))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/coverage")
@roles_required("secretary", "supervisor", "inspector", "admin")
def coverage():
    village = _village()
    if village is None:
        return _choose("register.coverage")
    return render_template("register/coverage.html",
                           coverage=village_coverage(village, local_today()),
                           tag_label=tag_label)
