"""Dead letters: jobs that failed every attempt (on the queue) or failed in the app's own
process, to retry or discard (admins only)."""
from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from fieldlog.errors import NotFound
from fieldlog.permissions import roles_required
from fieldlog.services.jobs import dead_letters
from fieldlog.services.jobs.queue import backend_name
from fieldlog.views.admin.blueprint import bp

JOB_LABELS = {"photo.process": _l("Photo processing"), "integrity.flags": _l("Integrity flags")}


@bp.get("/jobs")
@roles_required("admin")
def jobs():
    return render_template("admin/jobs.html", letters=dead_letters.dead_letters(),
                           backend=backend_name(), job_labels=JOB_LABELS)


def _on_dead_letter(act, job_id: str, done):
    """Apply `act` to a failed job and go back to the list, saying what happened
    (`done(result)` returns the message and its category)."""
    try:
        flash(*done(act(current_user, job_id)))
    except NotFound:
        flash(_("This job is no longer among the failed ones."), "info")
    return redirect(url_for("admin.jobs"), 303)


def _retried(result) -> tuple[str, str]:
    if not result.ran:
        return _("The job is back on the queue; the worker will try it again."), "success"
    if result.error is None:
        return _("The job ran again and succeeded."), "success"
    return _("The job failed again: %(error)s", error=result.error), "error"


@bp.post("/jobs/<job_id>/retry")
@roles_required("admin")
def retry_job(job_id: str):
    """Run a failed job once more: in this process, or back on the queue for the worker."""
    return _on_dead_letter(dead_letters.retry, job_id, _retried)


@bp.post("/jobs/<job_id>/discard")
@roles_required("admin")
def discard_job(job_id: str):
    """Delete a failed job for good (its photo stays processing until sent again)."""
    return _on_dead_letter(dead_letters.discard, job_id,
                           lambda _name: (_("The failed job was discarded."), "success"))
