"""The administrator's pages: users, the audit trail, the org tree, phone outbox files."""
# Importing the modules registers their routes.
from fieldlog.views.admin import audit, org, outbox_import, users  # noqa: F401
