"""The administrator's pages: users (users.py) and the audit trail (audit.py)."""
from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from fieldlog.views.admin import audit, users  # noqa: E402,F401  (routes register on bp)
