"""The administrator's pages: users (users.py), accounts and terms (people.py), the cadre
import (cadres.py), the org tree (org.py), phone outbox files (outbox_import.py) and the audit
trail (audit.py)."""
from fieldlog.views.admin import audit, cadres, org, outbox_import, people, users  # noqa: F401
from fieldlog.views.admin.blueprint import bp

__all__ = ["bp"]
