"""Reading a register file (XLSX/CSV) into rows and row errors, before any database look-up.

The file is parsed and checked in full within fixed bounds (common.spreadsheets): file-level
problems raise Invalid, row problems are listed in the Preview with the row a spreadsheet shows.
The header may follow a title or a marking row; its columns are found by their spellings.
"""
from dataclasses import dataclass, field

from flask_babel import gettext as _

from fieldlog.errors import Invalid
from fieldlog.services.common import spreadsheets as guard
from fieldlog.services.common.sheet_rows import HEADER_SCAN_ROWS, RowError, find_header, is_blank
from fieldlog.services.common.sheet_rows import cell_text as _text
from fieldlog.services.register.fields import COLUMN_NAMES, HEADERS, REQUIRED, check_household

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 5000
# 60,000 cells (5,000 households of 12 columns): the worst register within the limits is then
# refused or read within issue 10's 3 s on a busy 2-core machine (100,000 random cells took
# 2.5-3.1 CPU s; tests/test_import_bounds.py).
LIMITS = guard.Limits(max_bytes=MAX_BYTES, max_rows=MAX_ROWS + HEADER_SCAN_ROWS + 1,
                      max_cells=60_000)


@dataclass
class RegisterRow:
    row: int
    head_name: str
    house_label: str
    member_count: int
    phone: str | None
    tags: list[str]
    lat: float | None
    lon: float | None
    action: str = "new"  # new | update | unchanged (set by preview_register)
    household_id: str | None = None


@dataclass
class Preview:
    rows: list[RegisterRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    columns: set[str] = field(default_factory=lambda: set(HEADERS))  # those the file has

    def count(self, action: str) -> int:
        return sum(1 for row in self.rows if row.action == action)


def _too_many_rows() -> Invalid:
    return Invalid(_("The file has more than %(n)s rows; split the register into several "
                     "files.", n=MAX_ROWS), code="too_many_rows")


def _find_header(rows: list) -> tuple[int, dict[str, int]]:
    """Return (index of the header row, column key → position); Invalid if none fits."""
    index, columns, missing = find_header(rows, HEADERS, REQUIRED, lambda k: COLUMN_NAMES[k])
    if not missing:
        return index, columns
    names = "; ".join(f"{COLUMN_NAMES[k]} ({'/'.join(HEADERS[k][1:])})" for k in missing)
    raise Invalid(_("The header row lacks required columns: %(names)s. The first row must "
                    "name the columns, e.g. 户主姓名, 门牌号, 家庭人口, 联系电话, 类别.",
                    names=names), code="bad_header")


def parse_register(data: bytes, filename: str = "") -> Preview:
    """Parse an XLSX or CSV register; file-level problems raise Invalid, row problems are listed."""
    if not data or not data.strip():
        raise Invalid(_("The file is empty."), code="empty")
    if len(data) > MAX_BYTES:
        raise Invalid(_("The file is larger than %(mb)s MB; split the register into several "
                        "files.", mb=MAX_BYTES // (1024 * 1024)), code="too_large")
    try:
        rows = guard.read_rows(data, LIMITS)
    except Invalid as exc:  # the guard's row limit speaks as the register's
        if exc.code == "too_many_rows":
            raise _too_many_rows() from exc
        raise
    if is_blank(rows):
        raise Invalid(_("The file is empty."), code="empty")
    header_at, columns = _find_header(rows)
    body = rows[header_at + 1:]
    if len(body) > MAX_ROWS:
        raise _too_many_rows()
    preview, first_row_of = Preview(columns=set(columns)), {}
    for offset, values in enumerate(body):
        number = header_at + offset + 2  # the row number a spreadsheet shows
        cells = {key: _text(values[pos]) if pos < len(values) else ""
                 for key, pos in columns.items()}
        if not any(cells.values()):
            continue
        row = _check_row(number, cells, preview.errors, masked_ok=True)
        label = cells.get("house_label", "")
        if label in first_row_of:
            preview.errors.append(RowError(number, COLUMN_NAMES["house_label"], _(
                "%(label)s appears again (first in row %(first)s).", label=label,
                first=first_row_of[label])))
            continue
        if label:
            first_row_of[label] = number
        if row is not None:
            preview.rows.append(row)
    if not preview.rows and not preview.errors:
        raise Invalid(_("The file has a header but no households."), code="empty")
    return preview


def _check_row(number: int, cells: dict, errors: list[RowError], *,
               masked_ok: bool = False) -> RegisterRow | None:
    values, problems = check_household(cells, masked_ok=masked_ok)
    for key, messages in problems.items():
        errors.extend(RowError(number, COLUMN_NAMES[key], m) for m in messages)
    return None if problems else RegisterRow(number, **values)
