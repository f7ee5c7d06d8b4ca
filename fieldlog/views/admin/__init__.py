"""The administrator's pages: users, the audit trail and the org tree (org.py)."""
from fieldlog.views.admin import audit, org, users  # noqa: F401  (importing registers routes)
from fieldlog.views.admin.blueprint import bp

__all__ = ["bp"]
