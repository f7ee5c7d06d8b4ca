"""Import a phone's outbox file (records a cadre could not sync), admins in scope only.

Admins only: the import stores records as another person (their author), so it stays with the
people who already manage accounts; a supervisor who receives the file reviews those records
afterwards and should not be the one who put them in (and forwards the file to the admin).
"""
from flask import flash, render_template, request
from flask_babel import gettext as _
from flask_login import current_user

from fieldlog.errors import Forbidden, Invalid
from fieldlog.permissions import roles_required
from fieldlog.services.records.outbox_file import (
    import_outbox_file,
    max_file_bytes,
    preview_outbox_file,
    read_outbox_file,
)
from fieldlog.views.admin.blueprint import bp


def _page(preview=None, result=None, error=None, status=200):
    return render_template("admin/outbox_import.html", preview=preview, result=result,
                           error=error, max_mb=max_file_bytes() // 1_048_576), status


@bp.get("/outbox-import")
@roles_required("admin")
def outbox_import():
    return _page()


@bp.post("/outbox-import")
@roles_required("admin")
def outbox_import_file():
    """Preview the uploaded file; with `confirm` (and the previewed checksum), import it."""
    upload = request.files.get("file")
    try:
        file = read_outbox_file(current_user, upload.read() if upload else b"")
    except (Invalid, Forbidden) as exc:
        return _page(error=exc.message, status=exc.status)
    if request.form.get("confirm"):
        if request.form.get("checksum") != file.checksum:
            return _page(preview=preview_outbox_file(file), status=422, error=_(
                "This is not the file you checked. Check it again before importing."))
        result = import_outbox_file(current_user, file)
        flash(_("Imported the outbox file of %(name)s.", name=result.author.display_name),
              "success")
        return _page(result=result)
    return _page(preview=preview_outbox_file(file))
