"""What every import of a spreadsheet shares once its rows are read: a row's error, a cell as
text, and finding the header row among the first few (a title or a marking row may come first).
"""
import re
from collections.abc import Callable
from dataclasses import dataclass

from flask_babel import gettext as _

from fieldlog.errors import Invalid

HEADER_SCAN_ROWS = 5  # the header may follow a title or a marking row
_FORMULA_START = ("=", "+", "-", "@")


@dataclass
class RowError:
    """A problem of one row (numbered as the spreadsheet shows it) in one column."""

    row: int
    column: str
    message: str

    def __str__(self) -> str:
        return _("Row %(row)s, %(column)s: %(message)s", row=self.row, column=self.column,
                 message=self.message)


def norm_header(value) -> str:
    """Return a header cell as it is matched: no spaces, marks, "(必填)", case or full width."""
    text = str(value or "").replace("（", "(").replace("）", ")")
    return re.sub(r"[\s*＊:：_]|\(必填\)|\(选填\)", "", text).lower()


def cell_text(value) -> str:
    """Return a cell as text: a whole float without its '.0', our export's formula guard off."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    if text.startswith("'") and text[1:].startswith(_FORMULA_START):
        text = text[1:]
    return text


def is_blank(rows: list) -> bool:
    """Return whether no cell of any row holds anything."""
    return not any(any(cell_text(v) for v in r) for r in rows)


def find_header(rows: list, headers: dict[str, tuple[str, ...]], required: tuple[str, ...],
                column_name: Callable[[str], str]) -> tuple[int, dict[str, int], list[str]]:
    """Return (index of the header row, column key → position, required keys missing).

    `headers` names each column's accepted spellings. The first row holding every required
    column wins; when none does, the row that came closest is returned with what it lacks
    (the caller words that for its file). A column named twice raises Invalid.
    """
    lookup = {norm_header(name): key for key, names in headers.items() for name in names}
    best_at, best = 0, {}
    for index, values in enumerate(rows[:HEADER_SCAN_ROWS]):
        columns: dict[str, int] = {}
        for position, value in enumerate(values or ()):
            key = lookup.get(norm_header(value))
            if key and key in columns:
                raise Invalid(_("The column %(name)s appears twice in the header.",
                                name=column_name(key)), code="bad_header")
            if key:
                columns[key] = position
        if all(key in columns for key in required):
            return index, columns, []
        if len(columns) > len(best):
            best_at, best = index, columns
    return best_at, best, [key for key in required if key not in best]
