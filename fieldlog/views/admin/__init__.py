"""The administrator's pages: users, the audit trail, phone outbox files (one module each)."""
# Importing the modules registers their routes.
from fieldlog.views.admin import audit, outbox_import, users  # noqa: F401
from fieldlog.views.admin.blueprint import bp

__all__ = ["bp"]
