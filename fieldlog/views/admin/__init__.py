"""The administrator's pages: users, the audit trail (audit.py), failed jobs (jobs.py)."""
from fieldlog.views.admin import audit, jobs, users  # noqa: F401  (importing registers their routes)
from fieldlog.views.admin.blueprint import bp

__all__ = ["bp"]
