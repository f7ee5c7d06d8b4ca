"""Importing a cadre list (XLSX): preview every row, then import all or nothing and show the
one-time passwords once, printable."""
from flask import render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from fieldlog.errors import Invalid
from fieldlog.permissions import roles_required
from fieldlog.services.people.cadre_import import import_cadres, preview_cadres
from fieldlog.services.people.cadre_sheet import MAX_ROWS
from fieldlog.services.people.terms import post_label
from fieldlog.views.admin.blueprint import bp
from fieldlog.views.admin.people import passwords_page


def _page(preview=None, error=None, status=200):
    return render_template("admin/cadre_import.html", preview=preview, error=error,
                           post_label=post_label, max_rows=MAX_ROWS), status


@bp.route("/cadres/import", methods=["GET", "POST"])
@roles_required("admin")
def cadre_import():
    if request.method == "GET":
        return _page()
    upload = request.files.get("file")
    data = upload.read() if upload else b""
    filename = (upload.filename or "") if upload else ""
    try:
        if request.form.get("confirm"):
            issued = import_cadres(current_user, data, filename)
            return passwords_page(
                [{"user": i.user, "password": i.password, "unit": i.row.village_name,
                  "post": i.row.post} for i in issued],
                title=_("Imported cadres"), back_url=url_for("admin.teams"))
        preview = preview_cadres(current_user, data)
    except Invalid as exc:
        return _page(error=exc, status=422)
    return _page(preview=preview, status=422 if preview.errors else 200)
