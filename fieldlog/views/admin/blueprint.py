"""The admin blueprint object, imported by each admin view module."""
from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")
