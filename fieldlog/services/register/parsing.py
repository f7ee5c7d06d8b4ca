"""Reading a register file (XLSX/CSV) into rows and row errors, before any database look-up.

The file is parsed and checked in full within fixed bounds (common.spreadsheets): file-level
problems raise Invalid, row problems are listed in the Preview with the row a spreadsheet shows.
The header may follow a title or a marking row; its columns are found by their spellings.
"""
import re
from dataclasses import dataclass, field

from flask_babel import gettext as _

from fieldlog.errors import Invalid
from fieldlog.services.common import spreadsheets as guard
from fieldlog.services.register.fields import COLUMN_NAMES, HEADERS, REQUIRED, check_household

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 5000
HEADER_SCAN_ROWS = 5  # the header may follow a title or a marking row
LIMITS = guard.Limits(max_bytes=MAX_BYTES, max_rows=MAX_ROWS + HEADER_SCAN_ROWS + 1)
_FORMULA_START = ("=", "+", "-", "@")


@dataclass
class RowError:
    row: int
    column: str
    message: str

    def __str__(self) -> str:
        return _("Row %(row)s, %(column)s: %(message)s", row=self.row, column=self.column,
                 message=self.message)


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


def _norm_header(value) -> str:
    return re.sub(r"[\s*＊:：]|（必填）|\(必填\)", "", str(value or ""))


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    # Our own export guards formula-like cells with a quote; take it off again.
    if text.startswith("'") and text[1:].startswith(_FORMULA_START):
        text = text[1:]
    return text


def _too_many_rows() -> Invalid:
    return Invalid(_("The file has more than %(n)s rows; split the register into several "
                     "files.", n=MAX_ROWS), code="too_many_rows")


def _bounded(rows) -> list:
    """Collect the rows the guard lets through; its row limit speaks as the register's."""
    try:
        return list(rows)
    except Invalid as exc:
        if exc.code == "too_many_rows":
            raise _too_many_rows() from exc
        raise


def _read_xlsx(data: bytes) -> list[tuple]:
    return _bounded(guard.iter_xlsx_rows(data, LIMITS))


def _read_csv(data: bytes) -> list[list[str]]:
    if b"\x00" in data[:4096]:
        raise guard.unreadable()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise guard.unreadable()
    if any(ord(c) < 32 and c not in "\r\n\t" for c in text[:4096]):
        raise guard.unreadable()
    return _bounded(guard.iter_csv_rows(text, LIMITS))


def _find_header(rows: list) -> tuple[int, dict[str, int]]:
    """Return (index of the header row, column key → position); Invalid if none fits."""
    lookup = {name: key for key, names in HEADERS.items() for name in names}
    best: dict[str, int] = {}
    for index, values in enumerate(rows[:HEADER_SCAN_ROWS]):
        columns: dict[str, int] = {}
        for position, value in enumerate(values or ()):
            key = lookup.get(_norm_header(value))
            if key and key in columns:
                raise Invalid(_("The column %(name)s appears twice in the header.",
                                name=COLUMN_NAMES[key]), code="bad_header")
            if key:
                columns[key] = position
        if all(key in columns for key in REQUIRED):
            return index, columns
        if len(columns) > len(best):
            best = columns
    missing = [k for k in REQUIRED if k not in best]
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
    if guard.is_zip(data):
        rows = _read_xlsx(data)
    else:
        rows = _read_csv(data)
    rows = [r for r in rows if r is not None]
    if not any(any(_text(v) for v in r) for r in rows):
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
