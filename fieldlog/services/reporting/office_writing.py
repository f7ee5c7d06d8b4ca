"""Writing an office export: CSV text streamed as it is read, XLSX through a temporary file.

Rows are read with `yield_per` (a server-side cursor on PostgreSQL) and written as they come:
CSV straight into the response, XLSX through a write-only workbook into a temporary file that is
then streamed and deleted, so memory stays flat whatever the size. The title lines and header
lead every sheet; a trailer (a legend) follows the table.
"""
import os
import tempfile
from collections.abc import Iterator

from fieldlog.services.common import xlsx_layout as spreadsheet
from fieldlog.services.common.cells import csv_lines
from fieldlog.services.reporting.office_sheets import CHUNK, OfficeExport, plain, text

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MIME = "text/csv; charset=utf-8"
FORMATS = ("xlsx", "csv")


def csv_chunks(export: OfficeExport) -> Iterator[str]:
    """Yield the export as CSV text: BOM, title lines, header, rows a chunk at a time."""
    yield "\ufeff" + csv_lines([[line] for line in export.lines])
    if export.common:
        first = export.sheets[0].header
        yield csv_lines([["类型", *first[:export.common], "内容"]])
    for sheet in export.sheets:
        if not export.common:
            yield csv_lines([sheet.header])
        batch = []
        for values in sheet.rows():
            row = [plain(v) for v in values]
            if export.common:
                rest = "；".join(f"{h}：{v}" for h, v in zip(
                    sheet.header[export.common:], row[export.common:], strict=False)
                    if v not in ("", None))
                row = [sheet.name, *row[:export.common], text(rest)]
            batch.append(row)
            if len(batch) >= CHUNK:
                yield csv_lines(batch)
                batch = []
        if batch:
            yield csv_lines(batch)
    if export.trailer:
        yield csv_lines(export.trailer)


def xlsx_file(export: OfficeExport) -> str:
    """Write the export to a temporary XLSX file (write-only workbook); return its path."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    header_row = len(export.lines) + 1
    for sheet in export.sheets:
        ws = workbook.create_sheet(sheet.name[:31])
        wrap = spreadsheet.prepare(ws, sheet.header, header_row)
        for n, line in enumerate(export.lines):
            ws.append([spreadsheet.styled(ws, line, font=Font(bold=n == 0,
                                                              size=14 if n == 0 else 10))])
        ws.append([spreadsheet.styled(ws, h, font=Font(bold=True)) for h in sheet.header])
        last = header_row
        for row in sheet.rows():
            ws.append(spreadsheet.row_cells(ws, row, wrap))
            last += 1
        spreadsheet.finish(ws, header_row, len(sheet.header), last)
        for row in export.trailer:
            ws.append(row)
    handle, path = tempfile.mkstemp(prefix="fieldlog-export-", suffix=".xlsx")
    os.close(handle)
    try:
        workbook.save(path)
    except Exception:
        os.unlink(path)
        raise
    return path


class stream_file:  # noqa: N801  (used like a function: stream_file(path))
    """Iterate a file's bytes and delete it when the server closes the response.

    WSGI servers call close() whether the body was sent in full, cut off, or never started
    (a HEAD request), which a generator's `finally` would miss in the last case.
    """

    def __init__(self, path: str, size: int = 256 * 1024):
        self.path, self.size, self.handle = path, size, open(path, "rb")  # noqa: SIM115

    def __iter__(self) -> Iterator[bytes]:
        while chunk := self.handle.read(self.size):
            yield chunk

    def close(self) -> None:
        self.handle.close()
        if os.path.exists(self.path):
            os.unlink(self.path)
