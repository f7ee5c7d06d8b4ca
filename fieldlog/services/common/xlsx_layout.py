"""The layout of XLSX exports: widths, wrapped text, real date-times, a filter, print setup.

Exports use openpyxl's write-only (streamed) worksheets: widths, the frozen header, and the
"fit to page" flag are written with the sheet's first row, so `prepare` runs before any
row; the filter and the page setup are written at the end, so `finish` may know the last row.
"""
from collections.abc import Iterable
from datetime import date, datetime

from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet

DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
DATE_FORMAT = "yyyy-mm-dd"
WRAP = Alignment(wrap_text=True, vertical="top")
TOP = Alignment(vertical="top")
# Column widths (in characters) by header; free text columns are wide and wrapped.
TEXT_COLUMNS = {"民情", "诉求", "诉求内容", "内容", "议题", "决定事项", "参会人员", "办理经过",
                "佐证", "说明", "情况", "主题", "名称", "承办人/单位"}
WIDTHS = {"发生时间": 17, "登记时间": 17, "办结时间": 17, "反馈时间": 17, "日期": 12,
          "办理期限": 12, "承诺/计划日期": 13, "完成日期": 12, "记录编号": 37, "事项编号": 37,
          "项目": 34, "村": 10, "姓名": 10, "户主": 10, "反映人": 10, "记录人": 10,
          "登记人": 10}
TEXT_WIDTH = 40
DAY_WIDTH = 4.5  # the attendance sheet's day columns "1" … "31"


def display_width(text: str) -> int:
    """Count a CJK character as two columns, as a spreadsheet shows it."""
    return sum(2 if ord(ch) >= 0x2E80 else 1 for ch in text)


def column_widths(header: list[str]) -> list[float]:
    """Return a width for each column of a header."""
    widths = []
    for name in header:
        if name in TEXT_COLUMNS:
            widths.append(TEXT_WIDTH)
        elif name.isdigit():
            widths.append(DAY_WIDTH)
        else:
            widths.append(WIDTHS.get(name, min(max(display_width(name) + 3, 8), 30)))
    return widths


def prepare(ws, header: list[str], header_row: int) -> list[bool]:
    """Set widths, the frozen header, A4 landscape fitted to the page width and the printed
    header row; return which columns wrap. Call before the sheet's first row."""
    for n, width in enumerate(column_widths(header), start=1):
        ws.column_dimensions[get_column_letter(n)].width = width
    ws.freeze_panes = f"A{header_row + 1}"
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = Worksheet.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0  # as many pages down as needed
    ws.print_title_rows = f"{header_row}:{header_row}"
    return [name in TEXT_COLUMNS for name in header]


def styled(ws, value, *, font: Font | None = None):
    """Return a write-only cell holding `value` in a font."""
    cell = WriteOnlyCell(ws, value=value)
    if font is not None:
        cell.font = font
    return cell


def row_cells(ws, values: Iterable, wrap: list[bool]) -> list:
    """Turn a row's values into cells: date-times and dates formatted, long text wrapped."""
    cells = []
    for n, value in enumerate(values):
        if isinstance(value, datetime):
            cell = WriteOnlyCell(ws, value=value)
            cell.number_format = DATETIME_FORMAT
            cell.alignment = TOP
        elif isinstance(value, date):
            cell = WriteOnlyCell(ws, value=value)
            cell.number_format = DATE_FORMAT
            cell.alignment = TOP
        elif n < len(wrap) and wrap[n] and value not in (None, ""):
            cell = WriteOnlyCell(ws, value=value)
            cell.alignment = WRAP
        else:
            cell = value
        cells.append(cell)
    return cells


def finish(ws, header_row: int, columns: int, last_row: int) -> None:
    """Put a filter on the header over the rows written."""
    last = get_column_letter(max(columns, 1))
    ws.auto_filter.ref = f"A{header_row}:{last}{max(last_row, header_row)}"
