"""The administrator's pages: users (users.py) and the audit trail (audit.py)."""
from fieldlog.views.admin import audit, users  # noqa: F401  (importing registers their routes)
from fieldlog.views.admin.blueprint import bp

__all__ = ["bp"]
