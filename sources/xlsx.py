"""Reading the cell values of an ``.xlsx`` workbook, sheet by sheet, as openpyxl's read-only mode.

``openpyxl.load_workbook(read_only=True)`` opens every sheet once to find its size (a sheet
without a ``<dimension>`` element, as the centres' registers are written, is parsed in full just
for that) and then builds a dictionary and runs a regex for every cell while iterating, about
three quarters of the time of reading a child-centre workbook. ``iter_sheets`` gives the same rows
(``ws.iter_rows(values_only=True)``: same row numbering and gap filling, same cell values and
types) from one pass over each sheet. The workbook-level parts (manifest, workbook, sheet list,
properties, styles) are still read by openpyxl itself; only the cell loop is replaced, and any
inline or shared string that is not plain text is still handed to openpyxl's ``Text``.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from string import digits
from xml.etree.ElementTree import XMLPullParser

from openpyxl.cell.text import Text
from openpyxl.reader.excel import ExcelReader
from openpyxl.styles.stylesheet import Stylesheet, apply_stylesheet
from openpyxl.utils.cell import column_index_from_string, coordinate_to_tuple, range_boundaries
from openpyxl.utils.datetime import from_excel, from_ISO8601
from openpyxl.xml.constants import ARC_STYLE, SHARED_STRINGS, SHEET_MAIN_NS
from openpyxl.xml.functions import fromstring, iterparse

_ROW = f"{{{SHEET_MAIN_NS}}}row"
_VALUE = f"{{{SHEET_MAIN_NS}}}v"
_INLINE = f"{{{SHEET_MAIN_NS}}}is"
_T = f"{{{SHEET_MAIN_NS}}}t"
_SI = f"{{{SHEET_MAIN_NS}}}si"
_DIMENSION = f"{{{SHEET_MAIN_NS}}}dimension"
_SHEET_DATA = f"{{{SHEET_MAIN_NS}}}sheetData"
_HEAD_CHUNK = 2048
_WHOLE_SHEET_BYTES = 32 << 20  # larger sheets are parsed as a stream


class UnreadableWorkbook(ValueError):
    """The workbook is not one openpyxl would open (raised where ``load_workbook`` would fail)."""


def _content(node) -> str:
    """``Text.from_tree(node).content``, without building objects for plain text."""
    if len(node) == 1 and not node.attrib:
        t = node[0]
        if t.tag == _T and len(t) == 0:
            return t.text or ""
    return Text.from_tree(node).content


def _cast_number(value: str) -> int | float:
    # as openpyxl.worksheet._reader._cast_number
    if "." in value or "E" in value or "e" in value:
        return float(value)
    return int(value)


class Workbook:
    """One open workbook, as ``openpyxl.load_workbook(path, read_only=True, data_only=True)``.

    Attributes:
        worksheets: The worksheets in the workbook's order (chartsheets left out).

    Raises:
        UnreadableWorkbook: (or ``zipfile.BadZipFile``, ``KeyError``, ``OSError``) where
            ``openpyxl.load_workbook`` fails.
    """

    def __init__(self, path) -> None:
        reader = ExcelReader(path, read_only=True, data_only=True)
        self._archive = reader.archive
        try:
            # ExcelReader.read() without building the worksheets
            reader.read_manifest()
            self.shared_strings = self._read_strings(reader)
            reader.read_workbook()
            reader.read_properties()
            reader.read_custom()
            reader.read_theme()
            apply_stylesheet(reader.archive, reader.wb)
            self.epoch = reader.wb.epoch
            self.date_formats: set[int] = set()
            self.timedelta_formats: set[int] = set()
            if ARC_STYLE in reader.valid_files:
                styles = Stylesheet.from_tree(fromstring(reader.archive.read(ARC_STYLE)))
                self.date_formats = set(styles.date_formats)
                self.timedelta_formats = set(styles.timedelta_formats)
            self.worksheets: list[Sheet] = []
            for sheet, rel in reader.parser.find_sheets():
                if rel.target not in reader.valid_files or "chartsheet" in rel.Type:
                    continue
                dims = self._dimensions(rel.target)
                self.worksheets.append(Sheet(sheet.name, self, rel.target, dims))
        except BaseException:
            self._archive.close()
            raise

    def close(self) -> None:
        self._archive.close()

    def _read_strings(self, reader: ExcelReader) -> list[str]:
        # as openpyxl.reader.strings.read_string_table
        ct = reader.package.find(SHARED_STRINGS)
        strings: list[str] = []
        if ct is None:
            return strings
        with reader.archive.open(ct.PartName[1:]) as src:
            for _, node in iterparse(src):
                if node.tag == _SI:
                    strings.append(_content(node).replace("x005F_", ""))
                    node.clear()
        return strings

    def _dimensions(self, target: str) -> tuple | None:
        # as ReadOnlyWorksheet._get_size: the <dimension> element, if it comes before the data.
        # Only the head of the sheet is parsed: a sheet without one is not read twice.
        parser = XMLPullParser(events=("start", "end"))
        with self._archive.open(target) as src:
            while chunk := src.read(_HEAD_CHUNK):
                parser.feed(chunk)
                for event, element in parser.read_events():
                    if event == "start" and element.tag == _SHEET_DATA:
                        return None
                    if event == "end" and element.tag == _DIMENSION:
                        try:
                            return range_boundaries(element.get("ref"))
                        except (TypeError, ValueError) as err:
                            raise UnreadableWorkbook(f"invalid sheet dimension: {err}") from None
        return None

    def _row_elements(self, target: str) -> Iterator:
        """The sheet's ``<row>`` elements in order, each complete (cleared after use)."""
        if self._archive.getinfo(target).file_size <= _WHOLE_SHEET_BYTES:
            # one C-level parse: iterparse's Python event loop costs more than the parsing
            yield from fromstring(self._archive.read(target)).iter(_ROW)
            return
        with self._archive.open(target) as src:
            for _, element in iterparse(src):
                if element.tag == _ROW:
                    yield element

    def rows(self, target: str, dimensions: tuple | None) -> Iterator[tuple | list]:
        """The sheet's rows as ``ws.iter_rows(values_only=True)`` yields them."""
        max_col = max_row = None
        if dimensions is not None:
            _, _, max_col, max_row = dimensions
        empty_row: tuple | list = [] if max_col is None else (None,) * max_col
        counter = idx = 1
        row_counter = 0
        columns: dict[str, int] = {}
        for element in self._row_elements(target):
            row_counter = _row_number(element.get("r"), row_counter)
            cells = self._cells(element, columns)
            element.clear()
            idx = row_counter
            if max_row is not None and idx > max_row:
                break
            for _ in range(counter, idx):  # rows missing from the file
                counter += 1
                yield empty_row
            if counter <= idx:
                counter += 1
                yield _padded(cells, max_col)
        if max_row is not None and max_row < idx:
            for _ in range(counter, max_row + 1):
                yield empty_row

    def _cells(self, row, columns: dict[str, int]) -> list[tuple[int, object]]:
        # as WorkSheetParser.parse_cell (data_only=True, rich_text=False), column and value only
        out = []
        col_counter = 0
        for element in row:
            data_type = element.get("t", "n")
            coordinate = element.get("r")
            style_id = element.get("s", 0)
            if style_id:
                style_id = int(style_id)
            value = None if data_type == "inlineStr" else (element.findtext(_VALUE, None) or None)
            if coordinate:
                col_counter = _column(coordinate, columns)
            else:
                col_counter += 1
            if value is not None:
                if data_type == "n":
                    value = _cast_number(value)
                    if style_id in self.date_formats:
                        try:
                            value = from_excel(
                                value, self.epoch, timedelta=style_id in self.timedelta_formats
                            )
                        except (OverflowError, ValueError):
                            warnings.warn(
                                f"Cell {coordinate} is marked as a date but the serial value "
                                f"{value} is outside the limits for dates. The cell will be "
                                "treated as an error.",
                                stacklevel=2,
                            )
                            value = "#VALUE!"
                elif data_type == "s":
                    value = self.shared_strings[int(value)]
                elif data_type == "b":
                    value = bool(int(value))
                elif data_type == "d":
                    value = from_ISO8601(value)
            elif data_type == "inlineStr":
                child = element.find(_INLINE)
                if child is not None:
                    value = _content(child)
            out.append((col_counter, value))
        return out


def _row_number(r: str | None, previous: int) -> int:
    # as WorkSheetParser.parse_row
    if r is None:
        return previous + 1
    try:
        return int(r)
    except ValueError:
        val = float(r)
        if val.is_integer():
            return int(val)
        raise ValueError(f"{r} is not a valid row number") from None


def _column(coordinate: str, columns: dict[str, int]) -> int:
    """Column number of a cell reference (``AB12`` -> 28), as ``coordinate_to_tuple``."""
    letters = coordinate.rstrip(digits)
    column = columns.get(letters)
    if column is None:
        if len(letters) == len(coordinate) or any(c in digits for c in letters):
            return coordinate_to_tuple(coordinate)[1]  # unusual: openpyxl decides (or raises)
        column = columns[letters] = column_index_from_string(letters)
    return column


def _padded(cells: list[tuple[int, object]], max_col: int | None) -> tuple:
    # as ReadOnlyWorksheet._get_row (min_col=1, values_only=True)
    if not cells and not max_col:
        return ()
    width = max_col or cells[-1][0]
    row = [None] * width
    for column, value in cells:
        if 1 <= column <= width:
            row[column - 1] = value
    return tuple(row)


@dataclass(frozen=True)
class Sheet:
    """One worksheet: its name and its rows."""

    title: str
    book: Workbook
    target: str
    dimensions: tuple | None

    def iter_rows(self, values_only: bool = True) -> Iterator[tuple | list]:
        """The rows as openpyxl's ``ws.iter_rows(values_only=True)`` (values only)."""
        if not values_only:
            raise ValueError("only cell values are read")
        return self.book.rows(self.target, self.dimensions)
