"""Spreadsheet cells for exports: formula-safe text, the personal-data marking, CSV lines."""
import csv
import io

from flask_babel import gettext as _

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def marking() -> str:
    """The line that marks a file as personal information, in the user's language."""
    return _("Contains personal information — for official use only")


def cell(value) -> str:
    """Make a text cell safe for spreadsheets: a leading = + - @ would run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_lines(rows: list[list]) -> str:
    """Return rows as CSV text, each line ended by CRLF."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()
