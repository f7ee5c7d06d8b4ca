"""The administrator's pages: users (users.py), accounts and terms (people.py), the cadre
import (cadres.py), the org tree (org.py), phone outbox files (outbox_import.py), failed jobs
(jobs.py) and the audit trail (audit.py)."""
# Importing the modules registers their routes.
from fieldlog.views.admin import audit, cadres, jobs, org, outbox_import, people, users  # noqa: F401
from fieldlog.views.admin.blueprint import bp

__all__ = ["bp"]
