"""Reading a cadre list (干部名单, XLSX) into rows and row errors, before any database look-up.

The file is read within fixed bounds by common.spreadsheets (never another XLSX reader):
file-level problems raise Invalid, row problems are listed with the row a spreadsheet shows.
The header may follow a title row; its columns are found by their usual spellings.
"""
from dataclasses import dataclass, field
from datetime import date

from flask_babel import gettext as _

from fieldlog.errors import Invalid
from fieldlog.services.common import spreadsheets as guard
from fieldlog.services.common.sheet_rows import HEADER_SCAN_ROWS, RowError, find_header, is_blank
from fieldlog.services.common.sheet_rows import cell_text as _text
from fieldlog.services.common.sheet_rows import norm_header as _norm
from fieldlog.services.people.terms import parse_date
from fieldlog.services.people.users import PHONE_RE, normalise_phone

MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 500  # each new account costs a password hash: a county's cadres fit many times
LIMITS = guard.Limits(max_bytes=MAX_BYTES, max_rows=MAX_ROWS + HEADER_SCAN_ROWS + 1,
                      max_columns=40)

# Column key → accepted header spellings (the first is the one shown in messages).
HEADERS = {
    "name": ("姓名", "干部姓名", "名字", "name"),
    "phone": ("手机号", "手机号码", "手机", "联系电话", "电话", "phone"),
    "dispatching_unit": ("选派单位", "派出单位", "原单位", "单位", "dispatchingunit"),
    "post": ("职务", "驻村职务", "岗位", "身份", "post"),
    "village": ("村", "村名", "村代码", "村名称", "驻村村", "所驻村", "驻村村名", "村庄",
                "village"),
    "start": ("任期起", "任期开始", "任期起始", "开始日期", "起始日期", "任期开始日期", "start"),
    "end": ("任期止", "任期结束", "任期截止", "结束日期", "截止日期", "任期结束日期", "end"),
}
REQUIRED = ("name", "phone", "dispatching_unit", "post", "village", "start")
POST_WORDS = {"第一书记": "first_secretary", "驻村第一书记": "first_secretary",
              "firstsecretary": "first_secretary", "工作队员": "team_member",
              "驻村工作队员": "team_member", "队员": "team_member", "teammember": "team_member"}


@dataclass
class CadreRow:
    row: int
    name: str
    phone: str
    dispatching_unit: str
    post: str
    village_text: str
    start: date
    end: date | None
    village_id: int | None = None  # set against the database (cadre_import)
    village_name: str = ""
    username: str = ""


@dataclass
class Sheet:
    rows: list[CadreRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


def column_name(key: str) -> str:
    return HEADERS[key][0]


def _find_header(rows: list) -> tuple[int, dict[str, int]]:
    index, columns, missing_keys = find_header(rows, HEADERS, REQUIRED, column_name)
    if not missing_keys:
        return index, columns
    missing = "、".join(column_name(k) for k in missing_keys)
    raise Invalid(_("The header row lacks the columns %(names)s. The first row must name "
                    "the columns: 姓名, 手机号, 选派单位, 职务, 村, 任期起, 任期止.",
                    names=missing), code="bad_header")


def read_rows(data: bytes) -> list[tuple]:
    """Return the rows of an XLSX file through the bounded reader; Invalid on anything else."""
    if not data or not data.strip():
        raise Invalid(_("The file is empty."), code="empty")
    if len(data) > MAX_BYTES:
        raise Invalid(_("The file is larger than %(mb)s MB.", mb=MAX_BYTES // (1024 * 1024)),
                      code="too_large")
    if not guard.is_zip(data):
        raise Invalid(_("Upload the cadre list as an XLSX spreadsheet (Excel or WPS: "
                        "save as .xlsx)."), code="not_spreadsheet")
    try:
        return [r for r in guard.iter_xlsx_rows(data, LIMITS) if r is not None]
    except Invalid as exc:
        if exc.code == "too_many_rows":
            raise Invalid(_("A file holds at most %(n)s cadres; split it into several "
                            "files.", n=MAX_ROWS), code="too_many_rows") from exc
        raise


def parse_sheet(data: bytes) -> Sheet:
    """Parse a cadre list; file problems raise Invalid, row problems are listed."""
    rows = read_rows(data)
    if is_blank(rows):
        raise Invalid(_("The file is empty."), code="empty")
    header_at, columns = _find_header(rows)
    sheet, phones = Sheet(), {}
    for offset, values in enumerate(rows[header_at + 1:]):
        number = header_at + offset + 2
        raw = {key: values[pos] if pos < len(values) else None for key, pos in columns.items()}
        cells = {key: _text(value) for key, value in raw.items()}
        if not any(cells.values()):
            continue
        problems: list[tuple[str, str]] = []
        if not cells["name"]:
            problems.append(("name", _("The name is missing.")))
        elif len(cells["name"]) > 64:
            problems.append(("name", _("The name is longer than 64 characters.")))
        phone = normalise_phone(cells["phone"])
        if not PHONE_RE.match(phone):
            problems.append(("phone", _("Enter an 11-digit mobile number, e.g. 13800001234.")))
        elif phone in phones:
            problems.append(("phone", _("The phone %(phone)s appears again (first in row "
                                        "%(first)s).", phone=phone, first=phones[phone])))
        else:
            phones[phone] = number
        if not cells["dispatching_unit"]:
            problems.append(("dispatching_unit", _("The dispatching unit is missing.")))
        post = POST_WORDS.get(_norm(cells["post"]))
        if post is None:
            problems.append(("post", _("Write 第一书记 or 工作队员.")))
        if not cells["village"]:
            problems.append(("village", _("The village is missing.")))
        start = parse_date(raw["start"]) if cells["start"] else None
        if start is None:
            problems.append(("start", _("Enter the first day as a date, e.g. 2026-03-01.")))
        end = parse_date(raw.get("end")) if cells.get("end") else None
        if cells.get("end") and end is None:
            problems.append(("end", _("Enter the last day as a date, e.g. 2028-02-29.")))
        elif start and end and end < start:
            problems.append(("end", _("The term cannot end before it starts.")))
        sheet.errors.extend(RowError(number, column_name(k), m) for k, m in problems)
        if not problems:
            sheet.rows.append(CadreRow(number, cells["name"], phone,
                                       cells["dispatching_unit"][:120], post,
                                       cells["village"], start, end))
    if not sheet.rows and not sheet.errors:
        raise Invalid(_("The file has a header but no cadres."), code="empty")
    return sheet
