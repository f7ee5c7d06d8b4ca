"""Read an untrusted XLSX as a stream within fixed bounds (see `spreadsheets` for why)."""
import io
import zipfile
import zlib
from collections.abc import Iterator
from posixpath import dirname, join, normpath
from xml.parsers import expat

from flask_babel import gettext as _

from fieldlog.errors import Invalid
from fieldlog.services.common.sheet_limits import (
    Limits,
    MiB,
    cell_too_long,
    too_many_cells,
    too_many_columns,
    too_many_rows,
    unreadable,
)

CHUNK = 64 * 1024
RATIO_FLOOR = 1 * MiB  # parts smaller than this unzipped are never bombs, whatever their ratio
SHEET_NS_REL = "officeDocument/2006/relationships"


def is_zip(data: bytes) -> bool:
    """Tell whether the bytes are a zip (an XLSX) rather than text (a CSV)."""
    return data[:4] == b"PK\x03\x04" and zipfile.is_zipfile(io.BytesIO(data))


def check_size(data: bytes, limits: Limits) -> None:
    """Refuse a file larger than the limit before anything reads it."""
    if len(data) > limits.max_bytes:
        raise Invalid(_("The file is larger than %(mb)s MB; split it into several files.",
                        mb=limits.max_bytes // MiB), code="too_large")


# ---- XLSX -----------------------------------------------------------------------------------

def open_xlsx(data: bytes, limits: Limits) -> zipfile.ZipFile:
    """Open the zip after checking what it declares: parts, total size, ratio of each part."""
    check_size(data, limits)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        parts = archive.infolist()
    except (zipfile.BadZipFile, zlib.error, ValueError, OSError) as exc:
        raise unreadable() from exc
    if len(parts) > limits.max_parts:
        raise Invalid(_("The spreadsheet holds more than %(n)s parts; save it again from the "
                        "spreadsheet program.", n=limits.max_parts), code="zip_bomb")
    if sum(part.file_size for part in parts) > limits.max_unzipped:
        raise Invalid(_("The spreadsheet unzips to more than %(mb)s MB; split it into several "
                        "files.", mb=limits.max_unzipped // MiB), code="zip_bomb")
    for part in parts:
        if (part.file_size > RATIO_FLOOR
                and part.file_size > limits.max_ratio * max(part.compress_size, 1)):
            raise Invalid(_("The spreadsheet is compressed more than %(n)s times, which only a "
                            "crafted file is; it was not opened.", n=limits.max_ratio),
                          code="zip_bomb")
    return archive


class _Part:
    """Stream one XML part of the zip through expat; subclasses handle the elements."""

    def __init__(self, limits: Limits):
        self.limits = limits
        self.elements = 0
        self.max_elements = limits.max_cells * 5 + 10_000  # bounds the parse time
        parser = expat.ParserCreate()
        parser.buffer_text = True
        parser.StartElementHandler = self._start
        parser.EndElementHandler = self._end
        parser.CharacterDataHandler = self.text
        parser.StartDoctypeDeclHandler = self._doctype
        parser.EntityDeclHandler = self._doctype
        self.parser = parser

    def _doctype(self, *_args) -> None:
        raise unreadable()  # Office XML never has one; entities are how XML bombs work

    def _start(self, name: str, attrs: dict) -> None:
        self.elements += 1
        if self.elements > self.max_elements:
            raise too_many_cells(self.limits)
        self.start(name.rpartition(":")[2], attrs)

    def _end(self, name: str) -> None:
        self.end(name.rpartition(":")[2])

    def start(self, name: str, attrs: dict) -> None: ...

    def end(self, name: str) -> None: ...

    def text(self, data: str) -> None: ...

    def feed(self, archive: zipfile.ZipFile, name: str) -> Iterator[None]:
        """Parse the part chunk by chunk, yielding after each chunk."""
        try:
            with archive.open(name) as stream:
                while chunk := stream.read(CHUNK):
                    self.parser.Parse(chunk, False)
                    yield
            self.parser.Parse(b"", True)
        except (expat.ExpatError, zipfile.BadZipFile, zlib.error, EOFError, ValueError,
                KeyError) as exc:
            raise unreadable() from exc


def _col(ref: str) -> int:
    """Return the 1-based column of a cell reference such as "AB12" (0 when unreadable)."""
    col = 0
    for char in ref:
        if "A" <= char <= "Z":
            col = col * 26 + ord(char) - 64
            if col > 20_000:
                break
        else:
            break
    return col


class _Rels(_Part):
    def __init__(self, limits: Limits):
        super().__init__(limits)
        self.targets: dict[str, str] = {}

    def start(self, name, attrs):
        if name == "Relationship" and "Id" in attrs:
            self.targets[attrs["Id"]] = attrs.get("Target", "")


class _Workbook(_Part):
    def __init__(self, limits: Limits):
        super().__init__(limits)
        self.first: str | None = None

    def start(self, name, attrs):
        if name == "sheet" and self.first is None:
            self.first = next((v for k, v in attrs.items() if k.endswith(":id")), None)


class _Styles(_Part):
    """Collect which cell styles show a date, so date cells come back as datetimes."""

    def __init__(self, limits: Limits):
        super().__init__(limits)
        self.formats: dict[int, str] = {}
        self.xf_formats: list[int] = []
        self.in_xfs = False

    def start(self, name, attrs):
        if name == "numFmt":
            self.formats[int(attrs.get("numFmtId", "0") or 0)] = attrs.get("formatCode", "")
        elif name == "cellXfs":
            self.in_xfs = True
        elif name == "xf" and self.in_xfs:
            if len(self.xf_formats) > self.limits.max_cells:
                raise too_many_cells(self.limits)
            self.xf_formats.append(int(attrs.get("numFmtId", "0") or 0))

    def end(self, name):
        if name == "cellXfs":
            self.in_xfs = False

    def date_styles(self) -> set[int]:
        from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format

        def is_date(fmt: int) -> bool:
            code = self.formats.get(fmt, BUILTIN_FORMATS.get(fmt, ""))
            return bool(code) and is_date_format(code)

        return {index for index, fmt in enumerate(self.xf_formats) if is_date(fmt)}


class _SharedStrings(_Part):
    def __init__(self, limits: Limits):
        super().__init__(limits)
        self.strings: list[str] = []
        self.total = 0
        self.pieces: list[str] | None = None
        self.length = 0
        self.capture = False
        self.phonetic = 0

    def start(self, name, attrs):
        if name == "si":
            if len(self.strings) >= self.limits.max_cells:
                raise too_many_cells(self.limits)
            self.pieces, self.length = [], 0
        elif name == "rPh":
            self.phonetic += 1
        elif name == "t" and self.pieces is not None and not self.phonetic:
            self.capture = True

    def end(self, name):
        if name == "t":
            self.capture = False
        elif name == "rPh":
            self.phonetic -= 1
        elif name == "si" and self.pieces is not None:
            self.strings.append("".join(self.pieces))
            self.pieces = None

    def text(self, data):
        if self.capture:
            self.length += len(data)
            self.total += len(data)
            if self.length > self.limits.max_cell_chars:
                raise Invalid(_("The spreadsheet has a text longer than %(n)s characters.",
                                n=self.limits.max_cell_chars), code="cell_too_long")
            if self.total > self.limits.max_shared_chars:
                raise too_many_cells(self.limits)
            self.pieces.append(data)


class _Sheet(_Part):
    """Turn <row>/<c> elements into tuples of values, checking every limit as it goes."""

    def __init__(self, limits: Limits, shared: list[str], dates: set[int]):
        super().__init__(limits)
        self.shared, self.dates = shared, dates
        self.done: list[tuple[int, tuple]] = []
        self.row_number, self.row, self.cells = 0, {}, 0
        self.cell: dict | None = None
        self.pieces: list[str] = []
        self.length = 0
        self.capture = self.phonetic = 0

    def start(self, name, attrs):
        if name == "row":
            number = attrs.get("r", "")
            self.row_number = int(number) if number.isdigit() else self.row_number + 1
            self.row = {}
        elif name == "c":
            col = _col(attrs.get("r", "")) or len(self.row) + 1
            self.cells += 1
            if self.cells > self.limits.max_cells:
                raise too_many_cells(self.limits)
            self.cell = {"col": col, "t": attrs.get("t", "n"), "s": attrs.get("s")}
            self.pieces, self.length = [], 0
        elif name == "rPh":
            self.phonetic += 1
        elif name in ("v", "t") and self.cell is not None and not self.phonetic:
            self.capture = True

    def text(self, data):
        if self.capture:
            self.length += len(data)
            if self.length > self.limits.max_cell_chars:
                raise cell_too_long(self.row_number, self.limits)
            self.pieces.append(data)

    def end(self, name):
        if name in ("v", "t"):
            self.capture = False
        elif name == "rPh":
            self.phonetic -= 1
        elif name == "c" and self.cell is not None:
            value = self._value("".join(self.pieces))
            if value is not None and value != "":
                if self.cell["col"] > self.limits.max_columns:
                    raise too_many_columns(self.row_number, self.limits)
                if self.row_number > self.limits.max_rows:
                    raise too_many_rows(self.limits)
                self.row[self.cell["col"]] = value
            self.cell = None
        elif name == "row" and self.row:
            width = max(self.row)
            self.done.append((self.row_number,
                              tuple(self.row.get(col) for col in range(1, width + 1))))
            self.row = {}

    def _value(self, text: str):
        kind = self.cell["t"]
        if kind == "s":
            try:
                return self.shared[int(text)]
            except (ValueError, IndexError) as exc:
                raise unreadable() from exc
        if kind in ("inlineStr", "str", "d"):
            return text
        if kind == "b":
            return text.strip() == "1"
        if kind == "e" or not text.strip():
            return None
        try:
            number = float(text) if any(c in text for c in ".eE") else int(text)
        except ValueError as exc:
            raise unreadable() from exc
        if self.cell["s"] and self.cell["s"].isdigit() and int(self.cell["s"]) in self.dates:
            from openpyxl.utils.datetime import from_excel

            try:
                return from_excel(number)
            except (ValueError, OverflowError):
                return number
        return number


def _read_small(archive: zipfile.ZipFile, name: str, part: _Part) -> _Part:
    for _chunk in part.feed(archive, name):
        pass
    return part


def _first_sheet(archive: zipfile.ZipFile, limits: Limits) -> str:
    names = set(archive.namelist())
    if "xl/workbook.xml" in names and "xl/_rels/workbook.xml.rels" in names:
        first = _read_small(archive, "xl/workbook.xml", _Workbook(limits)).first
        targets = _read_small(archive, "xl/_rels/workbook.xml.rels", _Rels(limits)).targets
        target = targets.get(first or "", "")
        path = target.lstrip("/") if target.startswith("/") else normpath(join("xl", target))
        if path in names:
            return path
    sheets = sorted(n for n in names if dirname(n) == "xl/worksheets" and n.endswith(".xml"))
    if not sheets:
        raise unreadable()
    return sheets[0]


def iter_xlsx_rows(data: bytes, limits: Limits = Limits()) -> Iterator[tuple]:
    """Yield the first sheet's rows as tuples of values (None for empty cells), in order.

    Rows without a value come back as (); what follows the last value is not yielded.
    """
    archive = open_xlsx(data, limits)
    with archive:
        names = set(archive.namelist())
        shared = (_read_small(archive, "xl/sharedStrings.xml", _SharedStrings(limits)).strings
                  if "xl/sharedStrings.xml" in names else [])
        dates = (_read_small(archive, "xl/styles.xml", _Styles(limits)).date_styles()
                 if "xl/styles.xml" in names else set())
        sheet = _Sheet(limits, shared, dates)
        expected = 1
        for _chunk in sheet.feed(archive, _first_sheet(archive, limits)):
            for number, values in sheet.done:
                if number < expected:
                    raise unreadable()  # rows out of order: no spreadsheet program writes that
                for _gap in range(expected, number):
                    yield ()
                yield values
                expected = number + 1
            sheet.done.clear()
