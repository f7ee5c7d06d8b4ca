"""Jinja filters and globals shared by every template."""
from flask import Flask
from flask_babel import format_decimal
from flask_babel import gettext as _

from fieldlog.domain import (
    ACTION_TYPE_LABELS,
    DAY_KIND_LABELS,
    MEETING_TYPE_LABELS,
    photo_failure_label,
    record_title,
    tag_label,
)


def format_distance(metres: float | None) -> str:
    """Format a distance for people: '85 m', '1.4 km'."""
    if metres is None:
        return "—"
    if metres < 1000:
        return f"{format_decimal(round(metres))} m"
    return f"{format_decimal(round(metres / 1000, 1))} km"


def record_label_strings() -> dict[str, str]:
    """Return the words the outbox scripts put around a queued record's own data.

    The outbox keeps codes and dates, never words: it is shown in the page's language.
    """
    return {
        **{f"meeting_type_{k}": str(v) for k, v in MEETING_TYPE_LABELS.items()},
        **{f"action_type_{k}": str(v) for k, v in ACTION_TYPE_LABELS.items()},
        **{f"mark_kind_{k}": str(v) for k, v in DAY_KIND_LABELS.items()},
        "label_dates": _("{start} – {end}"),
        "label_withdraw": _("Withdraw {start} – {end}"),
    }


def register_templating(app: Flask) -> None:
    """Add the project's filters and globals to Jinja."""
    app.jinja_env.filters["distance"] = format_distance
    app.jinja_env.globals["tag_label"] = tag_label
    app.jinja_env.globals["record_label_strings"] = record_label_strings
    app.jinja_env.globals["record_title"] = record_title
    app.jinja_env.globals["photo_failure_label"] = photo_failure_label
    # Lets shared navigation link only to the pages this build has.
    app.jinja_env.globals["has_endpoint"] = lambda name: name in app.view_functions
