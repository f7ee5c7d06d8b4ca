"""The administrator's pages: users (users.py), accounts and terms (people.py), the cadre
import (cadres.py) and the audit trail (audit.py)."""
from fieldlog.views.admin import audit, cadres, people, users  # noqa: F401  (registers routes)
from fieldlog.views.admin.blueprint import bp

__all__ = ["bp"]
