"""`lunan data import`: a catalog entry's rows from a CSV (UTF-8) or XLSX file, all or nothing.

Row 1 holds the entry's field names, each once, in any order, and nothing else. Each cell is
checked against its field's type:

    text            anything, at most 2000 characters
    integer         -12, 0, 345
    decimal         3.14 (kept as exact text)
    date            2024-05-13 (an XLSX date cell too)
    boolean         是/否, true/false, 1/0
    resident_id     GB 11643 check digit (lunan.apps.ids); stored with an upper-case X
    division_code   6 digits; in a registry entry (one with a resident_id field) inside the
                    provider's city

Key fields must be filled and the first key's values unique. Every bad cell is reported by
row, column and problem — never by its value, since the file holds personal data — and nothing
is imported if any is bad.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from openpyxl import load_workbook

from lunan.apps.divisions import CITIES, city_of
from lunan.apps.ids import IdNumberError, parse_resident_id
from lunan.events.errors import Invalid

MAX_BYTES = 100 * 1024 * 1024
MAX_ROWS = 1_000_000
MAX_TEXT = 2000
SHOWN_ERRORS = 20  # in the one-line message; the full list is in `errors`
_XLSX_MAGIC = b"PK\x03\x04"
_INTEGER = re.compile(r"^[+-]?[0-9]+$")
_DECIMAL = re.compile(r"^[+-]?[0-9]+(\.[0-9]+)?$")
_TRUE, _FALSE = {"是", "true", "1", "y", "yes"}, {"否", "false", "0", "n", "no"}


@dataclass(frozen=True)
class Column:
    """A field of the entry, as the file must hold it."""

    name: str
    type: str


@dataclass(frozen=True)
class RowError:
    row: int | None  # the file's row number (the header is row 1); None: the whole file
    column: str
    problem: str

    def __str__(self) -> str:
        return f"第{self.row}行 {self.column}: {self.problem}" if self.row else self.problem


class DataImportErrors(Invalid):
    """A file with bad cells: all of them are in `errors`, and nothing was imported."""

    def __init__(self, errors: Sequence[RowError]) -> None:
        self.errors = list(errors)
        shown = "；".join(str(e) for e in self.errors[:SHOWN_ERRORS])
        more = len(self.errors) - SHOWN_ERRORS
        if more > 0:
            shown += f"；另有{more}处 and {more} more"
        super().__init__(
            f"文件有{len(self.errors)}处错误，未导入任何数据 {len(self.errors)} problem(s), "
            f"nothing imported: {shown}",
            field="file",
        )


def _file_error(problem: str) -> DataImportErrors:
    return DataImportErrors([RowError(None, "文件", problem)])


# --- reading ----------------------------------------------------------------------------------


def read_rows(data: bytes) -> Iterator[list[str]]:
    """The file's rows as text cells, CSV or XLSX told apart by content."""
    if len(data) > MAX_BYTES:
        raise _file_error(f"文件超过{MAX_BYTES // 2**20} MB the file is too large")
    return _xlsx_rows(data) if data.startswith(_XLSX_MAGIC) else _csv_rows(data)


def _csv_rows(data: bytes) -> Iterator[list[str]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _file_error(
            "不是UTF-8编码的CSV或XLSX文件，请另存为“CSV UTF-8” not a UTF-8 CSV or an XLSX file"
        ) from None
    try:
        yield from ([c.strip() for c in row] for row in csv.reader(io.StringIO(text)))
    except csv.Error as e:
        raise _file_error(f"CSV格式错误 malformed CSV: {e}") from e


def _xlsx_rows(data: bytes) -> Iterator[list[str]]:
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as e:  # openpyxl and zipfile raise many kinds for a broken file
        raise _file_error(f"无法读取XLSX文件 not a readable XLSX file: {type(e).__name__}") from e
    try:
        for row in book.worksheets[0].iter_rows(values_only=True):
            yield [_xlsx_text(v) for v in row]
    finally:
        book.close()


def _xlsx_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        # An 18-digit ID typed into a number cell has already lost digits: say so (by type).
        return "#number:" + repr(value) if abs(value) >= 2**53 else _plain(Decimal(repr(value)))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value).strip()


def _plain(number: Decimal) -> str:
    return "0" if number == 0 else format(number.normalize(), "f")


# --- checking -----------------------------------------------------------------------------------


@dataclass
class _Checker:
    columns: dict[str, Column]
    keys: list[str]
    provider: str
    registry: bool  # a resident registry: its division codes lie in the provider's city
    errors: list[RowError]
    seen: dict[str, int]

    def error(self, row: int, column: str, problem: str) -> None:
        self.errors.append(RowError(row, column, problem))

    def row(self, number: int, cells: dict[str, str]) -> dict[str, Any] | None:
        before = len(self.errors)
        out = {name: self.cell(number, col, cells[name]) for name, col in self.columns.items()}
        for k in self.keys:
            if not cells[k]:
                self.error(number, k, "关键字段不能为空 a key field must be filled")
        first = self.keys[0] if self.keys else None
        if first is not None and cells[first] and len(self.errors) == before:
            key = str(out[first])
            earlier = self.seen.setdefault(key, number)
            if earlier != number:
                self.error(number, first, f"与第{earlier}行重复 repeats row {earlier}")
        return out if len(self.errors) == before else None

    def cell(self, number: int, col: Column, text: str) -> Any:
        if not text:
            return None
        if text.startswith("#number:"):
            self.error(
                number, col.name, "数字单元格已丢失位数，请设为文本 a number cell lost digits"
            )
            return None
        try:
            return _convert(col.type, text, self.provider if self.registry else None)
        except ValueError as e:
            self.error(number, col.name, str(e))
            return None


def _convert(kind: str, text: str, city: str | None) -> Any:
    """The cell's value for its type, or ValueError saying what is wrong (never the value)."""
    if kind == "text":
        if len(text) > MAX_TEXT:
            raise ValueError(f"超过{MAX_TEXT}字 longer than {MAX_TEXT} characters")
        return text
    if kind == "integer":
        if not _INTEGER.match(text):
            raise ValueError("应为整数 not an integer")
        return int(text)
    if kind == "decimal":
        if not _DECIMAL.match(text.replace(",", "")):
            raise ValueError("应为数字，如 3.14 not a number")
        return _plain(Decimal(text.replace(",", "")))
    if kind == "date":
        try:
            if len(text) != 10:
                raise ValueError(text)
            return date.fromisoformat(text).isoformat()
        except ValueError:
            raise ValueError("应为日期，如 2024-05-13 not a date (YYYY-MM-DD)") from None
    if kind == "boolean":
        lowered = text.lower()
        if lowered not in _TRUE | _FALSE:
            raise ValueError("应为 是 或 否 not 是/否")
        return lowered in _TRUE
    if kind == "resident_id":
        try:
            return parse_resident_id(text).number
        except IdNumberError as e:  # its messages never repeat the number
            raise ValueError(str(e)) from None
    if kind == "division_code":
        if not (len(text) == 6 and text.isascii() and text.isdigit()):
            raise ValueError("区划代码应为6位数字 a division code has 6 digits")
        if city is not None and city_of(text) != city:
            name = CITIES.get(city, city)
            raise ValueError(f"不在{name}（{city}）辖区 not in the provider's city")
        return text
    raise ValueError(f"未知字段类型 unknown field type {kind!r}")


def parse(
    data: bytes, columns: Sequence[Column], keys: Sequence[str], provider: str
) -> list[dict[str, Any]]:
    """The file's rows as field -> value dicts; DataImportErrors listing every bad cell."""
    rows = read_rows(data)
    header = next(rows, None)
    wanted = [c.name for c in columns]
    if header is None or not any(header):
        raise _file_error("第1行应为表头 row 1 must hold the field names: " + ",".join(wanted))
    positions, errors = _header(header, wanted)
    if errors:
        raise DataImportErrors(errors)
    registry = any(c.type == "resident_id" for c in columns)
    checker = _Checker({c.name: c for c in columns}, list(keys), provider, registry, [], {})
    out: list[dict[str, Any]] = []
    for number, cells in enumerate(rows, start=2):
        if not any(cells):
            continue
        if number > MAX_ROWS + 1:
            raise _file_error(f"超过{MAX_ROWS}行 more than {MAX_ROWS} rows")
        for i, c in enumerate(cells):
            if c and i not in positions:
                checker.error(number, f"第{i + 1}列", "该列没有表头 a cell outside the columns")
        found = {name: cells[i] if i < len(cells) else "" for i, name in positions.items()}
        row = checker.row(number, found)
        if row is not None:
            out.append(row)
    if not out and not checker.errors:
        checker.errors.append(RowError(None, "文件", "没有数据行 the file has no data rows"))
    if checker.errors:
        raise DataImportErrors(checker.errors)
    return out


def _header(cells: list[str], wanted: list[str]) -> tuple[dict[int, str], list[RowError]]:
    positions: dict[int, str] = {}
    errors: list[RowError] = []
    for i, name in enumerate(cells):
        if not name:
            continue
        if name not in wanted:
            errors.append(RowError(1, name, "不是本目录的字段 not a field of this entry"))
        elif name in positions.values():
            errors.append(RowError(1, name, "表头重复 the column appears twice"))
        else:
            positions[i] = name
    for name in wanted:
        if name not in positions.values():
            errors.append(RowError(1, name, "缺少该列 the column is missing"))
    return positions, errors
