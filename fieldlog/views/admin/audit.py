"""Search the audit trail, verify its chain, download a search as CSV (admins only)."""
from flask import Response, render_template, request, stream_with_context
from flask_babel import gettext as _
from flask_login import current_user

from fieldlog.permissions import roles_required
from fieldlog.services.people import audit
from fieldlog.services.people.audit_labels import DETAIL_LABELS, OBJECT_LABELS
from fieldlog.services.reporting.visit_exports import audit_csv
from fieldlog.views.admin.blueprint import bp


def _render(verdict=None, anchor_error: str | None = None, status: int = 200):
    filters = audit.AuditFilters.from_args(request.args)
    page = audit.search(filters, before=request.args.get("before", type=int),
                        after=request.args.get("after", type=int))
    return render_template(
        "admin/audit.html", filters=filters, page=page, actions=audit.action_choices(),
        labels=audit.ACTION_LABELS, detail_labels=DETAIL_LABELS,
        object_labels=OBJECT_LABELS, head=audit.head(), verdict=verdict,
        anchor_error=anchor_error, anchor=request.form.get("anchor", "")), status


@bp.get("/audit")
@roles_required("admin")
def audit_log():
    return _render()


@bp.post("/audit/verify")
@roles_required("admin")
def audit_verify():
    """Verify the whole chain now (optionally against an anchor written down earlier)."""
    try:
        anchor = audit.parse_anchor(request.form.get("anchor"))
    except ValueError:
        return _render(anchor_error=_("Enter the anchor as ID:HASH, as shown after a "
                                      "verification."), status=422)
    return _render(verdict=audit.verify_and_record(current_user, anchor))


@bp.get("/audit.csv")
@roles_required("admin")
def audit_export():
    """Download the current search as CSV; the download is itself audited."""
    lines = audit_csv(current_user, audit.AuditFilters.from_args(request.args))
    return Response(stream_with_context(lines), mimetype="text/csv", headers={
        "Content-Disposition": 'attachment; filename="fieldlog-audit.csv"',
        "Cache-Control": "no-store"})
