"""Jinja filters and globals shared by every template."""
from flask import Flask
from flask_babel import format_decimal

from fieldlog.domain import record_title, tag_label


def format_distance(metres: float | None) -> str:
    """Format a distance for people: '85 m', '1.4 km'."""
    if metres is None:
        return "—"
    if metres < 1000:
        return f"{format_decimal(round(metres))} m"
    return f"{format_decimal(round(metres / 1000, 1))} km"


def register_templating(app: Flask) -> None:
    """Add the project's filters and globals to Jinja."""
    app.jinja_env.filters["distance"] = format_distance
    app.jinja_env.globals["tag_label"] = tag_label
    app.jinja_env.globals["record_title"] = record_title
    # Lets shared navigation link only to the pages this build has.
    app.jinja_env.globals["has_endpoint"] = lambda name: name in app.view_functions
