"""Read untrusted spreadsheets (XLSX, CSV) within fixed bounds, for every import.

A 500 KB XLSX can unzip to gigabytes: one row of millions of cells, one cell of a gigabyte,
millions of rows. So nothing here hands a file to a general-purpose reader: the zip's declared
sizes and compression ratios are checked before a byte is inflated, then the parts are inflated
and parsed as a stream (expat, fixed-size chunks), and the first limit passed stops the read
with an Invalid that names the limit. Memory stays bounded by the limits, not by the file.
"""
import io
import zipfile
from collections.abc import Iterator

from flask_babel import gettext as _

from fieldlog.errors import Invalid
from fieldlog.services.common.sheet_limits import (
    Limits,
    cell_too_long,
    too_many_columns,
    too_many_rows,
    unreadable,
)
from fieldlog.services.common.xlsx_stream import check_size, is_zip, iter_xlsx_rows

__all__ = ["Limits", "check_size", "is_zip", "iter_csv_rows", "iter_xlsx_rows", "read_rows",
           "unreadable", "zipfile"]


# ---- CSV ------------------------------------------------------------------------------------

def iter_csv_rows(text: str, limits: Limits = Limits()) -> Iterator[list[str]]:
    """Yield the rows of CSV text, refusing long lines, wide rows, long cells and many rows."""
    import csv

    def lines() -> Iterator[str]:
        for number, line in enumerate(io.StringIO(text, newline=""), start=1):
            if len(line) > limits.max_line_chars:
                raise Invalid(_("Line %(line)s is longer than %(n)s characters.", line=number,
                                n=limits.max_line_chars), code="line_too_long")
            yield line

    try:
        for number, row in enumerate(csv.reader(lines()), start=1):
            if number > limits.max_rows:
                if any(cell.strip() for cell in row):
                    raise too_many_rows(limits)
                continue
            if len(row) > limits.max_columns and any(c.strip() for c in row[limits.max_columns:]):
                raise too_many_columns(number, limits)
            if any(len(cell) > limits.max_cell_chars for cell in row):
                raise cell_too_long(number, limits)
            yield row
    except csv.Error as exc:
        raise unreadable() from exc


# ---- Either ---------------------------------------------------------------------------------

def read_rows(data: bytes, limits: Limits) -> list:
    """Return the rows of an XLSX (by its zip signature) or a CSV file (UTF-8 or GB18030),
    within `limits`; Invalid when the file is neither or passes a limit."""
    if is_zip(data):
        return [r for r in iter_xlsx_rows(data, limits) if r is not None]
    if b"\x00" in data[:4096]:
        raise unreadable()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise unreadable()
    if any(ord(c) < 32 and c not in "\r\n\t" for c in text[:4096]):
        raise unreadable()
    return list(iter_csv_rows(text, limits))
