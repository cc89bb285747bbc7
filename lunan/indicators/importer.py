"""Indicators in spreadsheets: CSV (UTF-8, with or without BOM) and XLSX, one layout for both.

Long layout, one row per figure, Chinese headers in row 1 (column order free):

    年份 | 城市代码 | 城市 | 指标 | 数值 | 单位 | 增速(%) | 排名 | 备注 | 来源
    2020 | 371300  | 临沂 | 区域生产总值 | 5465.7 | 亿元 | 3.9 |  |  | 临沂市统计局

- 年份 and 指标 are required columns, and 城市代码 or 城市 (both may be given; they must agree).
- 指标: the indicator's name (区域生产总值, 一般公共预算收入, 进出口总额, 城镇居民人均可支配收入,
  农村居民人均可支配收入), a known alias (地区生产总值, GDP, …) or its key (gdp, …).
- 数值 in the indicator's unit (亿元 or 元); 单位 may be left empty, and if given must be that unit.
  增速 in per cent ("3.6", "3.6%" and a percent-formatted cell all mean 3.6 %). Thousands
  separators ("14,515.9") are accepted; numbers are kept as exact decimals.
- A row whose 指标 is empty is the note on the city's year as a whole (备注 and 来源 only).
- Each row replaces that figure of that year; a row with 数值, 增速, 排名, 备注 and 来源 all
  empty clears it.
  Figures a file does not mention are kept.

The export writes this same layout, so exporting and importing again changes nothing. An import
is all or nothing: every bad cell is reported (row number, column header, what is wrong) and
nothing is stored if any is bad.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.utils import get_column_letter
from pydantic import ValidationError
from sqlalchemy import Connection

from lunan.events.errors import Invalid
from lunan.indicators import queries
from lunan.indicators.events import (
    BY_KEY,
    FIRST_YEAR,
    INDICATORS,
    LAST_YEAR,
    Figure,
    Indicator,
)

YEAR, CODE, CITY, INDICATOR, VALUE, UNIT, GROWTH, RANK, NOTE, SOURCE = COLUMNS = (
    "年份",
    "城市代码",
    "城市",
    "指标",
    "数值",
    "单位",
    "增速(%)",
    "排名",
    "备注",
    "来源",
)
_HEADER_ALIASES = {
    "增速": GROWTH,
    "增速%": GROWTH,
    "年度": YEAR,
    "城市名称": CITY,
    "指标名称": INDICATOR,
}
# The Figure field each column fills, to name the column of a validation error.
_FIELD_COLUMNS = {"value": VALUE, "growth": GROWTH, "rank": RANK, "note": NOTE, "source": SOURCE}
MAX_ROWS = 5000
MAX_BYTES = 5 * 1024 * 1024
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
_XLSX_MAGIC = b"PK\x03\x04"
_THOUSANDS = re.compile(r"^[+-]?[0-9]{1,3}(,[0-9]{3})+(\.[0-9]+)?$")


@dataclass(frozen=True)
class CellError:
    row: int | None  # the spreadsheet's row number (headers are row 1); None: the whole file
    column: str  # the column header, or "文件" for the whole file
    problem: str

    def __str__(self) -> str:
        where = f"第{self.row}行 {self.column}" if self.row is not None else self.column
        return f"{where}: {self.problem}"


class ImportErrors(Invalid):
    """A file with bad cells: all of them, and nothing was stored."""

    def __init__(self, errors: Sequence[CellError]) -> None:
        self.errors = list(errors)
        listed = "；".join(str(e) for e in self.errors)
        super().__init__(
            f"文件有{len(self.errors)}处错误，未导入任何数据 {len(self.errors)} problem(s), "
            f"nothing imported: {listed}",
            field="file",
        )


def _file_error(problem: str) -> ImportErrors:
    return ImportErrors([CellError(None, "文件", problem)])


@dataclass(frozen=True)
class Row:
    """One good row: a figure of one year, or (indicator None) the year's note and source."""

    number: int
    year: int
    indicator: str | None
    figure: Figure


# --- reading ----------------------------------------------------------------------------------


def read_table(data: bytes) -> list[list[str]]:
    """The file's cells as text, row by row; CSV or XLSX told apart by content."""
    if len(data) > MAX_BYTES:
        raise _file_error(f"文件超过{MAX_BYTES // 2**20} MB file larger than the limit")
    if data.startswith(_XLSX_MAGIC):
        return _read_xlsx(data)
    return _read_csv(data)


def _read_csv(data: bytes) -> list[list[str]]:
    try:
        text = data.decode("utf-8-sig")  # Excel writes a BOM; other tools do not
    except UnicodeDecodeError:
        raise _file_error(
            "不是UTF-8编码的CSV或XLSX文件，请另存为“CSV UTF-8”或XLSX "
            "not a UTF-8 CSV or an XLSX file: save as CSV UTF-8 or XLSX"
        ) from None
    try:
        return _limited(list(cell.strip() for cell in r) for r in csv.reader(io.StringIO(text)))
    except csv.Error as e:
        raise _file_error(f"CSV格式错误 malformed CSV: {e}") from e


def _read_xlsx(data: bytes) -> list[list[str]]:
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as e:  # openpyxl and zipfile raise many kinds for a broken file
        raise _file_error(f"无法读取XLSX文件 not a readable XLSX file: {e}") from e
    try:
        sheet = book.worksheets[0]
        return _limited([_xlsx_text(c) for c in row] for row in sheet.iter_rows())
    finally:
        book.close()


def _limited(rows: Iterable[list[str]]) -> list[list[str]]:
    """The rows, empty ones kept (as []) so that positions stay row numbers. Spreadsheets often
    carry thousands of formatted empty rows: only rows with content count against MAX_ROWS."""
    table: list[list[str]] = []
    filled = 0
    for row in rows:
        if any(row):
            filled += 1
        if filled > MAX_ROWS + 1 or len(table) > MAX_ROWS * 20:  # + 1: the header
            raise _file_error(f"超过{MAX_ROWS}行 more than {MAX_ROWS} rows: split the file")
        table.append(row if any(row) else [])
    return table


def _xlsx_text(cell: Any) -> str:
    """A cell as the text a person would type: numbers exact, a percent cell as "3.6%"."""
    value = cell.value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        # repr is the shortest text that reads back as this double: the number that was typed
        number = Decimal(value) if isinstance(value, int) else Decimal(repr(value))
        if "%" in (getattr(cell, "number_format", None) or ""):
            return f"{_plain(number * 100)}%"  # the cell holds 0.036 and shows 3.6%
        return _plain(number)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value).strip()


def _plain(number: Decimal) -> str:
    """A decimal without exponent or trailing zeros: 1E-5 → 0.00001, 3.600 → 3.6."""
    text = format(number.normalize(), "f")
    return "0" if number == 0 else text


# --- parsing ----------------------------------------------------------------------------------


def parse_rows(
    data: bytes, *, own_city: str, members: dict[str, str], year: int | None
) -> list[Row]:
    """The rows of a file for `own_city`; ImportErrors listing every bad cell otherwise.

    `members` maps member city codes to names; `year`, if given, fills an empty 年份 and
    every row must be of that year."""
    table = read_table(data)
    if not table or not any(table[0]):
        raise _file_error("第1行应为表头 row 1 must hold the column headers: " + "、".join(COLUMNS))
    columns, errors = _header(table[0])
    if errors:
        raise ImportErrors(errors)
    parser = _RowParser(own_city, members, year)
    rows: list[Row] = []
    for number, cells in enumerate(table[1:], start=2):
        if not any(cells):
            continue
        found = {name: cells[i] if i < len(cells) else "" for i, name in columns.items()}
        stray = [i for i, c in enumerate(cells) if c and i not in columns]
        for i in stray:
            parser.errors.append(CellError(number, f"第{i + 1}列", "该列没有表头 no header"))
        row = parser.row(number, found)
        if row is not None:
            rows.append(row)
    if not rows and not parser.errors:
        parser.errors.append(CellError(None, "文件", "没有数据行 the file has no data rows"))
    if parser.errors:
        raise ImportErrors(parser.errors)
    return rows


def _header(cells: list[str]) -> tuple[dict[int, str], list[CellError]]:
    columns: dict[int, str] = {}
    errors = []
    for i, raw in enumerate(cells):
        if not raw:
            continue
        name = _header_name(raw)
        if name not in COLUMNS:
            errors.append(
                CellError(1, raw, f"未知表头，可用：{'、'.join(COLUMNS)} unknown column header")
            )
        elif name in columns.values():
            errors.append(CellError(1, raw, "表头重复 the column appears twice"))
        else:
            columns[i] = name
    have = set(columns.values())
    for needed in (YEAR, INDICATOR):
        if needed not in have:
            errors.append(CellError(1, needed, "缺少该列 the column is missing"))
    if CODE not in have and CITY not in have:
        errors.append(CellError(1, CODE, "缺少“城市代码”或“城市”列 no city column"))
    return columns, errors


def _header_name(raw: str) -> str:
    name = re.sub(r"\s+", "", raw).replace("（", "(").replace("）", ")").replace("％", "%")
    return _HEADER_ALIASES.get(name.replace("(", "").replace(")", ""), name)


def _lookup_indicator(text: str) -> Indicator | None:
    wanted = re.sub(r"\s+", "", text).casefold()
    for indicator in INDICATORS:
        names = (indicator.key, indicator.name, indicator.english, *indicator.aliases)
        if wanted in (re.sub(r"\s+", "", n).casefold() for n in names):
            return indicator
    return None


class _RowParser:
    def __init__(self, own_city: str, members: dict[str, str], year: int | None) -> None:
        self.own_city = own_city
        self.members = members
        self.year = year
        self.errors: list[CellError] = []
        self.seen: dict[tuple[int, str | None], int] = {}

    def error(self, row: int, column: str, problem: str) -> None:
        self.errors.append(CellError(row, column, problem))

    def row(self, number: int, cells: dict[str, str]) -> Row | None:
        before = len(self.errors)
        year = self._year(number, cells.get(YEAR, ""))
        own = self._city(number, cells.get(CODE, ""), cells.get(CITY, ""))
        known, indicator = self._indicator(number, cells)
        figure = self._figure(number, cells)
        key = None if indicator is None else indicator.key
        if year is not None and own and known:  # a repeat of a row that counts
            first = self.seen.setdefault((year, key), number)
            if first != number:
                self.error(number, INDICATOR, f"与第{first}行重复 repeats row {first}")
        if len(self.errors) > before or year is None or figure is None:
            return None
        return Row(number, year, key, figure)

    def _year(self, number: int, text: str) -> int | None:
        if not text:
            if self.year is None:
                self.error(number, YEAR, "缺少年份 no year")
            return self.year
        text = text.removesuffix("年")
        if not (text.isascii() and text.isdigit() and len(text) == 4):
            self.error(number, YEAR, f"“{text}”不是年份，应如 2020 not a year")
            return None
        year = int(text)
        if not FIRST_YEAR <= year <= LAST_YEAR:
            self.error(number, YEAR, f"年份须在{FIRST_YEAR}–{LAST_YEAR}之间 out of range")
            return None
        if self.year is not None and year != self.year:
            self.error(number, YEAR, f"与指定年份{self.year}不符 not the year {self.year}")
            return None
        return year

    def _city(self, number: int, code: str, name: str) -> bool:
        """Whether the row is of this node's city (an error is recorded otherwise)."""
        own_name = self.members.get(self.own_city, "")
        own = f"{own_name} {self.own_city}" if own_name else self.own_city
        only_own = f"只能导入本市（{own}）的数据 a city imports only its own rows"
        if not code and not name:
            self.error(number, CODE, "缺少城市代码或城市 no city")
        elif code and code != self.own_city:
            self.error(number, CODE, f"{code}: {only_own}")
        elif not code and name != own_name:
            self.error(number, CITY, f"{name}: {only_own}")
        elif code and name and own_name and name != own_name:
            self.error(number, CITY, f"“{name}”与城市代码{code}（{own_name}）不符 mismatch")
        else:
            return True
        return False

    def _indicator(self, number: int, cells: dict[str, str]) -> tuple[bool, Indicator | None]:
        """Whether the 指标 cell is good, and its indicator (None: the year's note row)."""
        text = cells.get(INDICATOR, "")
        if not text:
            for column in (VALUE, UNIT, GROWTH, RANK):
                if cells.get(column):
                    self.error(
                        number,
                        column,
                        "年度备注行（指标为空）只填备注和来源 a note row holds only 备注 and 来源",
                    )
            return True, None
        indicator = _lookup_indicator(text)
        if indicator is None:
            names = "、".join(i.name for i in INDICATORS)
            self.error(number, INDICATOR, f"未知指标“{text}”，可选：{names} unknown indicator")
            return False, None
        unit = cells.get(UNIT, "")
        if unit and unit != indicator.unit:
            self.error(
                number, UNIT, f"{indicator.name}的单位应为{indicator.unit} unit is {indicator.unit}"
            )
        return True, indicator

    def _figure(self, number: int, cells: dict[str, str]) -> Figure | None:
        value = _number_text(cells.get(VALUE, ""))
        if value.endswith(("%", "％")):
            self.error(number, VALUE, "数值不带%，增速请填入“增速(%)”列 a value has no %")
            value = ""  # reported; the other cells are still checked
        growth = _number_text(cells.get(GROWTH, "").removesuffix("%").removesuffix("％"))
        try:
            return Figure(
                value=value or None,
                growth=growth or None,
                rank=cells.get(RANK, ""),
                note=cells.get(NOTE, ""),
                source=cells.get(SOURCE, ""),
            )
        except ValidationError as e:
            for problem in e.errors():
                field = str(problem["loc"][0])
                message = str(problem["msg"]).removeprefix("Value error, ")
                self.error(number, _FIELD_COLUMNS.get(field, field), message)
            return None


def _number_text(text: str) -> str:
    text = text.strip()
    return text.replace(",", "") if _THOUSANDS.match(text) else text


# --- writing ----------------------------------------------------------------------------------


def table_rows(sets: Sequence[queries.FigureSet]) -> list[list[str]]:
    """The figure sets in the import layout, header first, as text."""
    rows = [list(COLUMNS)]
    for s in sets:
        if s.city is None:
            continue  # the alliance's own figures are not a city's to import
        head = [str(s.year), s.city, s.city_name or ""]
        if s.note or s.source:
            rows.append([*head, "", "", "", "", "", s.note, s.source])
        for f in s.figures:
            known = BY_KEY.get(f.indicator)
            if known is None:
                continue  # no longer configured: it could not be imported again
            rows.append(
                [
                    *head,
                    known.name,
                    f.value or "",
                    known.unit,
                    f.growth or "",
                    f.rank,
                    f.note,
                    f.source,
                ]
            )
    return rows


def write(sets: Sequence[queries.FigureSet], fmt: str) -> bytes:
    rows = table_rows(sets)
    if fmt == "csv":
        return _write_csv(rows)
    if fmt == "xlsx":
        return _write_xlsx(rows)
    raise ValueError(f"unknown format {fmt!r}: csv or xlsx")


def export_file(
    conn: Connection, fmt: str, year: int | None = None, city: str | None = None
) -> bytes:
    """The cities' figures (of `city`, or all) as CSV or XLSX, in the import layout."""
    return write(queries.figure_sets(conn, year=year, city=city), fmt)


def _write_csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode("utf-8-sig")  # with a BOM, Excel reads UTF-8 right


_NUMERIC = {COLUMNS.index(YEAR), COLUMNS.index(VALUE), COLUMNS.index(GROWTH)}
_WIDTHS = (8, 10, 8, 26, 14, 8, 10, 24, 40, 16)


def _write_xlsx(rows: list[list[str]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "经济指标"
    for r, row in enumerate(rows):
        # numbers as numbers, so that Excel can sum them
        sheet.append([_number(t) if r and c in _NUMERIC and t else t for c, t in enumerate(row)])
    for line in sheet.iter_rows():
        for cell in line:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # a note starting with "=" stays text, not a formula
    for c, width in enumerate(_WIDTHS, start=1):
        sheet.column_dimensions[get_column_letter(c)].width = width
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _number(text: str) -> int | float:
    number = Decimal(text)
    # A double holds 15 significant digits exactly (events.MAX_DIGITS): the text comes back.
    return int(number) if number == number.to_integral_value() else float(number)
