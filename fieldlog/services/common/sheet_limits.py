"""What an imported spreadsheet may hold, and the refusals that name each limit."""
from dataclasses import dataclass

from flask_babel import gettext as _

from fieldlog.errors import Invalid

MiB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """What one imported spreadsheet may hold; an import passes its own where they differ."""

    max_bytes: int = 5 * MiB          # the file as uploaded
    max_rows: int = 5_000             # last row holding a value (a spreadsheet's row number)
    max_columns: int = 64             # column of any cell holding a value
    max_cells: int = 100_000          # cells in the sheet, or strings in the shared table
    max_cell_chars: int = 2_000       # one cell's text
    max_line_chars: int = 20_000      # one CSV line
    max_unzipped: int = 30 * MiB      # sum of the zip's declared uncompressed sizes
    max_ratio: int = 100              # uncompressed / compressed, for parts over RATIO_FLOOR
    max_parts: int = 200              # files inside the zip
    max_shared_chars: int = 4_000_000  # all shared strings together


def unreadable() -> Invalid:
    return Invalid(_("The file is not a readable spreadsheet (XLSX or CSV)."),
                   code="not_spreadsheet")


def too_many_rows(limits: Limits) -> Invalid:
    return Invalid(_("The file has more than %(n)s rows; split it into several files.",
                     n=limits.max_rows), code="too_many_rows")


def too_many_cells(limits: Limits) -> Invalid:
    return Invalid(_("The file has more than %(n)s cells; a spreadsheet this large cannot be "
                     "imported.", n=limits.max_cells), code="too_many_cells")


def too_many_columns(row: int, limits: Limits) -> Invalid:
    return Invalid(_("Row %(row)s has more than %(n)s columns.", row=row, n=limits.max_columns),
                   code="too_many_columns")


def cell_too_long(row: int, limits: Limits) -> Invalid:
    return Invalid(_("Row %(row)s has a cell longer than %(n)s characters.", row=row,
                     n=limits.max_cell_chars), code="cell_too_long")
