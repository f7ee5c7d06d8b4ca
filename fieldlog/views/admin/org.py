"""The org tree pages: the tree, a unit's form (create, edit, move, retire, restore, delete),
the tree file import and export, and village boundaries from GeoJSON/KML. Every page shows
and changes only the administrator's own unit and what lies below it."""
import io

from flask import abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user

from fieldlog.errors import FieldlogError, Invalid, NotFound
from fieldlog.permissions import roles_required
from fieldlog.services.org import admin as org
from fieldlog.services.org.boundaries import (
    clear_boundary,
    import_boundaries,
    preview_boundaries,
)
from fieldlog.services.org.tree_export import export_tree
from fieldlog.services.org.tree_import import import_tree, preview_tree
from fieldlog.views.admin.blueprint import bp

FORM_FIELDS = ("name", "code", "lat", "lon", "geofence_m")


def _unit_or_404(unit_id: int | None):
    try:
        return org.unit_for_admin(current_user, unit_id)
    except NotFound:
        abort(404)


def _upload() -> tuple[bytes, str]:
    upload = request.files.get("file")
    return (upload.read() if upload else b""), ((upload.filename or "") if upload else "")


@bp.get("/org")
@roles_required("admin")
def org_tree():
    return render_template("admin/org.html", nodes=org.tree_for_admin(current_user),
                           child_kind=org.child_kind, kind_label=org.kind_label, nav="org")


def _unit_page(unit=None, parent=None, form=None, error=None, status=200):
    kind = unit.kind if unit else org.child_kind(parent)
    values = form or ({k: "" if getattr(unit, k) is None else getattr(unit, k)
                       for k in FORM_FIELDS} if unit else {"geofence_m": org.RADIUS_DEFAULT})
    parents = org.parent_choices(current_user, kind) if unit else []
    return render_template("admin/org_unit.html", unit=unit, parent=parent, kind=kind,
                           values=values, error=error, parents=parents,
                           kind_label=org.kind_label, nav="org"), status


@bp.route("/org/new", methods=["GET", "POST"])
@roles_required("admin")
def org_new():
    parent = _unit_or_404(request.values.get("parent", type=int)
                          or current_user.scope_unit_id)
    if org.child_kind(parent) is None or parent.retired:
        abort(404)
    if request.method == "POST":
        try:
            unit = org.create_unit(current_user, parent.id, request.form)
        except Invalid as exc:
            return _unit_page(parent=parent, form=request.form, error=exc, status=422)
        flash(_("%(name)s was created.", name=unit.name), "success")
        return redirect(url_for("admin.org_tree", _anchor=f"unit-{unit.id}"))
    return _unit_page(parent=parent)


@bp.route("/org/<int:unit_id>", methods=["GET", "POST"])
@roles_required("admin")
def org_edit(unit_id: int):
    unit = _unit_or_404(unit_id)
    if request.method == "POST":
        try:
            changed = org.update_unit(current_user, unit, request.form)
        except Invalid as exc:
            return _unit_page(unit, form=request.form, error=exc, status=422)
        flash(_("Saved.") if changed else _("Nothing changed."), "success")
        return redirect(url_for("admin.org_edit", unit_id=unit.id))
    return _unit_page(unit)


@bp.post("/org/<int:unit_id>/move")
@roles_required("admin")
def org_move(unit_id: int):
    unit = _unit_or_404(unit_id)
    try:
        org.move_unit(current_user, unit, request.form.get("parent", type=int))
        flash(_("%(name)s now belongs to %(parent)s.", name=unit.name,
                parent=unit.parent.name if unit.parent else "—"), "success")
    except FieldlogError as exc:
        flash(exc.message if exc.status != 404 else _("No such unit."), "error")
    return redirect(url_for("admin.org_edit", unit_id=unit.id))


@bp.post("/org/<int:unit_id>/state")
@roles_required("admin")
def org_state(unit_id: int):
    """Retire, restore or delete a unit (a delete only when nothing refers to it)."""
    unit = _unit_or_404(unit_id)
    action, name = request.form.get("action"), unit.name
    try:
        if action == "retire":
            org.retire_unit(current_user, unit)
            flash(_("%(name)s is retired: its history stays.", name=name), "success")
        elif action == "restore":
            org.restore_unit(current_user, unit)
            flash(_("%(name)s is in use again.", name=name), "success")
        elif action == "delete":
            org.delete_unit(current_user, unit)
            flash(_("%(name)s was deleted.", name=name), "success")
            return redirect(url_for("admin.org_tree"))
        elif action == "clear_boundary" and unit.kind == "village":
            clear_boundary(current_user, unit)
            flash(_("The boundary of %(name)s was removed; its centre and radius count again.",
                    name=name), "success")
        else:
            abort(400)
    except FieldlogError as exc:
        flash(exc.message, "error")
    return redirect(url_for("admin.org_edit", unit_id=unit_id))


@bp.route("/org/import", methods=["GET", "POST"])
@roles_required("admin")
def org_import():
    preview = error = None
    status = 200
    if request.method == "POST":
        data, filename = _upload()
        try:
            if request.form.get("confirm"):
                result = import_tree(current_user, data, filename)
                flash(_("Imported: %(new)s new villages, %(updated)s updated, %(same)s "
                        "unchanged; %(townships)s townships and %(counties)s counties created.",
                        new=result.created, updated=result.updated, same=result.unchanged,
                        townships=result.townships, counties=result.counties), "success")
                return redirect(url_for("admin.org_tree"))
            preview = preview_tree(current_user, data)
        except Invalid as exc:
            error, status = exc, 422
    return render_template("admin/org_import.html", preview=preview, error=error,
                           nav="org"), status


@bp.get("/org/export")
@roles_required("admin")
def org_export():
    data = export_tree(current_user)
    response = send_file(
        io.BytesIO(data), as_attachment=True,
        download_name=f"org-{current_user.scope_unit.code}.xlsx",
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/org/boundaries", methods=["GET", "POST"])
@roles_required("admin")
def org_boundaries():
    preview = error = None
    status = 200
    gcj02 = bool(request.form.get("gcj02"))
    if request.method == "POST":
        data, filename = _upload()
        try:
            if request.form.get("confirm"):
                stored = import_boundaries(current_user, data, filename, gcj02)
                flash(_("Boundaries stored for %(n)s villages.", n=stored), "success")
                return redirect(url_for("admin.org_tree"))
            preview = preview_boundaries(current_user, data, filename, gcj02)
        except Invalid as exc:
            error, status = exc, 422
    return render_template("admin/org_boundaries.html", preview=preview, error=error,
                           gcj02=gcj02, nav="org"), status
