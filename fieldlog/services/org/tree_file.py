"""Reading an org tree file (XLSX/CSV: 县, 乡镇, 村, 村代码, 中心纬度, 中心经度, 半径(米)) into
rows and row errors, before any database look-up. The file is read within fixed bounds
(common.spreadsheets); file-level problems raise Invalid, row problems are listed with the row
number a spreadsheet shows. The header may follow a title row; columns are found by spelling.
"""
import re
from dataclasses import dataclass, field

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from fieldlog.errors import Invalid
from fieldlog.services.common import spreadsheets as guard
from fieldlog.services.common.sheet_rows import HEADER_SCAN_ROWS, RowError, find_header, is_blank
from fieldlog.services.common.sheet_rows import cell_text as text_of

MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 5000
LIMITS = guard.Limits(max_bytes=MAX_BYTES, max_rows=MAX_ROWS + HEADER_SCAN_ROWS + 1)
RADIUS_MIN, RADIUS_MAX = 50, 20_000

# Column key → accepted spellings (normalised: no spaces, brackets or '*', lower case); the
# first is the one the export writes.
HEADERS = {
    "county": ("县", "县区", "区县", "县(市、区)", "县(市区)", "县市区", "县名", "county"),
    "township": ("乡镇", "乡镇(街道)", "乡镇街道", "镇", "乡", "街道", "township", "town"),
    "village": ("村", "村名", "行政村", "村(社区)", "村社区", "村居", "village"),
    "code": ("村代码", "统计用区划代码", "区划代码", "村区划代码", "代码", "code", "villagecode"),
    "lat": ("中心纬度", "纬度", "lat", "latitude", "centrelat", "centerlat"),
    "lon": ("中心经度", "经度", "lon", "lng", "longitude", "centrelon", "centerlon"),
    "radius": ("半径(米)", "半径", "半径米", "半径(m)", "围栏半径", "围栏半径(米)", "radius",
               "radius(m)", "radiusm", "geofence"),
}
EXPORT_HEADER = ("县", "乡镇", "村", "村代码", "中心纬度", "中心经度", "半径(米)")
REQUIRED = ("township", "village", "code", "lat", "lon")
COLUMN_NAMES = {"county": _l("县 (county)"), "township": _l("乡镇 (township)"),
                "village": _l("村 (village)"), "code": _l("村代码 (village code)"),
                "lat": _l("中心纬度 (latitude)"), "lon": _l("中心经度 (longitude)"),
                "radius": _l("半径(米) (radius)")}


@dataclass
class TreeRow:
    row: int
    county: str
    township: str
    village: str
    code: str
    lat: float
    lon: float
    radius: int | None
    action: str = "new"  # new | update | unchanged (set by the preview)
    changes: list[str] = field(default_factory=list)
    village_id: int | None = None


def _find_header(rows: list) -> tuple[int, dict[str, int]]:
    index, columns, missing_keys = find_header(rows, HEADERS, REQUIRED,
                                               lambda k: str(COLUMN_NAMES[k]))
    if not missing_keys:
        return index, columns
    missing = ", ".join(str(COLUMN_NAMES[k]) for k in missing_keys)
    raise Invalid(_("The header row lacks required columns: %(names)s. The first row must "
                    "name the columns: 县, 乡镇, 村, 村代码, 中心纬度, 中心经度, 半径(米).",
                    names=missing), code="bad_header")


def _float(text: str, low: float, high: float, key: str, number: int,
           errors: list[RowError]) -> float | None:
    if not text:
        errors.append(RowError(number, COLUMN_NAMES[key], _("missing.")))
        return None
    try:
        value = float(text)
    except ValueError:
        errors.append(RowError(number, COLUMN_NAMES[key], _("%(value)s is not a number.",
                                                             value=text)))
        return None
    if not low <= value <= high:
        errors.append(RowError(number, COLUMN_NAMES[key], _(
            "%(value)s is out of range (%(low)s to %(high)s).", value=text, low=low, high=high)))
        return None
    return value


def _check_row(number: int, cells: dict, errors: list[RowError]) -> TreeRow | None:
    before = len(errors)
    for key in ("township", "village"):
        if not cells.get(key):
            errors.append(RowError(number, COLUMN_NAMES[key], _("missing.")))
        elif len(cells[key]) > 80:
            errors.append(RowError(number, COLUMN_NAMES[key], _("longer than 80 characters.")))
    code = cells.get("code", "")
    if not re.fullmatch(r"\d{12}", code):
        errors.append(RowError(number, COLUMN_NAMES["code"], _(
            "%(code)s is not a 12-digit 统计用区划代码.", code=code or "—")))
    lat = _float(cells.get("lat", ""), -90, 90, "lat", number, errors)
    lon = _float(cells.get("lon", ""), -180, 180, "lon", number, errors)
    radius = None
    if cells.get("radius"):
        try:
            radius = int(float(cells["radius"]))
        except ValueError:
            radius = -1
        if not RADIUS_MIN <= radius <= RADIUS_MAX:
            errors.append(RowError(number, COLUMN_NAMES["radius"], _(
                "%(value)s is not a radius between %(low)s and %(high)s metres.",
                value=cells["radius"], low=RADIUS_MIN, high=RADIUS_MAX)))
    if len(errors) > before:
        return None
    return TreeRow(number, cells.get("county", ""), cells["township"], cells["village"], code,
                   lat, lon, radius)


@dataclass
class ParsedTree:
    rows: list[TreeRow]
    errors: list[RowError]
    columns: set[str]


def parse_tree(data: bytes) -> ParsedTree:
    """Parse an XLSX or CSV tree file; file problems raise Invalid, row problems are listed."""
    if not data or not data.strip():
        raise Invalid(_("The file is empty."), code="empty")
    if len(data) > MAX_BYTES:
        raise Invalid(_("The file is larger than %(mb)s MB; split it into several files.",
                        mb=MAX_BYTES // (1024 * 1024)), code="too_large")
    rows = guard.read_rows(data, LIMITS)
    if is_blank(rows):
        raise Invalid(_("The file is empty."), code="empty")
    header_at, columns = _find_header(rows)
    parsed = ParsedTree([], [], set(columns))
    first_code: dict[str, int] = {}
    first_name: dict[tuple[str, str, str], int] = {}
    for offset, values in enumerate(rows[header_at + 1:]):
        number = header_at + offset + 2
        cells = {key: text_of(values[pos]) if pos < len(values) else ""
                 for key, pos in columns.items()}
        if not any(cells.values()):
            continue
        row = _check_row(number, cells, parsed.errors)
        if row is None:
            continue
        if row.code in first_code:
            parsed.errors.append(RowError(number, COLUMN_NAMES["code"], _(
                "%(code)s appears again (first in row %(first)s).", code=row.code,
                first=first_code[row.code])))
            continue
        name_key = (row.county, row.township, row.village)
        if name_key in first_name:
            parsed.errors.append(RowError(number, COLUMN_NAMES["village"], _(
                "%(name)s of %(township)s appears again (first in row %(first)s).",
                name=row.village, township=row.township, first=first_name[name_key])))
            continue
        first_code[row.code], first_name[name_key] = number, number
        parsed.rows.append(row)
    if not parsed.rows and not parsed.errors:
        raise Invalid(_("The file has a header but no villages."), code="empty")
    return parsed
