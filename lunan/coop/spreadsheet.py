"""The ledger (台账) as a spreadsheet: export to .xlsx, import from it all or nothing.

Offices keep their 台账 in Excel, so the file is meant to be read and edited by people:
Chinese column headers (the field titles of `TaskFields`), cities by name, the source by its
Chinese label, real date cells, milestones one per line, the parent by its 编号, a frozen header
row, drop-down lists for 领域, 任务来源 and 牵头城市, and a 填写说明 sheet. The computed columns
(进度, 状态, 预警) are for reading; an import ignores them.

An import is checked as a whole before anything is stored: every bad cell of every row is
reported at once, with the row number Excel shows and the column's header, and if anything is
wrong nothing is written. A row whose 编号 exists updates that task when something changed;
other rows create tasks. An exported file imports back without a single change.

The codec (`write_workbook`, `read_workbook`, `check`) is pure; `export_tasks` and
`import_tasks` read the node's projections and write through `lunan.coop.actions`.
"""

from __future__ import annotations

import re
import warnings
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from io import BytesIO
from typing import Protocol, cast

from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from lunan.auth.roles import Permission
from lunan.auth.users import User
from lunan.coop import actions, queries
from lunan.coop.models import SOURCES, TaskFields
from lunan.coop.queries import number_key
from lunan.events.context import current_chair
from lunan.events.errors import ActionError, Conflict, Forbidden, Invalid
from lunan.events.registry import Rejected
from lunan.services import NodeParts

SHEET = "台账"
HELP_SHEET = "填写说明"
MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_ROWS = 5000  # far more than any ledger; a bigger sheet is a mistake, not a 台账
DATE_FORMAT = "yyyy-mm-dd"
PARTNER_SEPARATOR = "、"
_PARTNER_SPLIT = re.compile(r"[、,，;；\s]+")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MILESTONE = re.compile(r"^(\d{4}-\d{2}-\d{2})[\s:：]+(\S.*)$")


# --- the columns ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    key: str  # a TaskFields field, or a computed value (progress, status, colour)
    header: str
    width: int  # in characters, as Excel counts them
    hint: str  # for the 填写说明 sheet
    computed: bool = False
    wrap: bool = False


def _title(name: str) -> str:
    title = TaskFields.model_fields[name].title
    assert title is not None, f"TaskFields.{name} has no title"
    return title


def _col(key: str, width: int, hint: str, wrap: bool = False) -> Column:
    return Column(key, _title(key), width, hint, wrap=wrap)


COLUMNS: tuple[Column, ...] = (
    _col("number", 10, "必填，唯一；已有编号的行修改该任务，新编号新建任务"),
    _col("title", 30, "必填，最多200字", wrap=True),
    _col("requirement", 50, "最多4000字", wrap=True),
    _col("area", 12, "必填，从下拉列表选择"),
    _col("source", 14, "会议决议、协议、年度工作要点或领导批示"),
    _col("source_ref", 24, "如会议纪要或协议名称", wrap=True),
    _col("lead_city", 10, "必填，城市名称（或6位行政区划代码）"),
    _col("lead_department", 18, "必填", wrap=True),
    _col("partner_cities", 18, "城市名称，以“、”分隔"),
    _col("responsible", 12, ""),
    _col("start", 12, "必填，日期，如 2026-03-01"),
    _col("deadline", 12, "必填，日期，不早于开始日期"),
    _col("milestones", 36, "每行一个：日期 空格 内容，如“2026-03-31 完成方案”", wrap=True),
    _col("weight", 8, "1–100的整数，上级任务汇总进度时使用"),
    _col("parent", 10, "上级任务的编号"),
    Column("progress", "进度", 8, "导出时计算，导入时忽略", computed=True),
    Column("status", "状态", 10, "导出时计算，导入时忽略", computed=True),
    Column("colour", "预警", 8, "导出时计算（绿、黄、红），导入时忽略", computed=True),
)
EDITABLE = tuple(c for c in COLUMNS if not c.computed)
_BY_HEADER = {c.header: c for c in COLUMNS}
_HEADER_OF = {c.key: c.header for c in COLUMNS}
_SOURCE_KEYS = {label: key for key, label in SOURCES.items()}
CellValue = str | int | float | date | None
_COLOUR_FILLS = {"绿": "C6EFCE", "黄": "FFEB9C", "红": "FFC7CE"}


# --- what a spreadsheet is written from and checked against ---------------------------------


class StoredTask(Protocol):
    """A task as the ledger holds it (lunan.coop.queries.TaskView is one)."""

    @property
    def id(self) -> str: ...

    @property
    def fields(self) -> TaskFields: ...


class ShownTask(StoredTask, Protocol):
    """A task with what is computed for it: written to the read-only columns."""

    @property
    def progress(self) -> float: ...

    @property
    def status(self) -> str: ...

    @property
    def colour(self) -> str: ...


@dataclass(frozen=True)
class Cities:
    """The alliance's cities: code → name, in the alliance's order."""

    names: Mapping[str, str]

    def name(self, code: str) -> str:
        return self.names.get(code, code)

    def code(self, text: str) -> str | None:
        """A city given by name (临沂) or by code (371300); None if it is no member."""
        if text in self.names:
            return text
        return next((c for c, n in self.names.items() if n == text), None)


@dataclass(frozen=True)
class Ledger:
    """What an import is checked against."""

    cities: Cities
    areas: tuple[str, ...]  # the areas a task may be filed under now
    tasks: Sequence[StoredTask]  # every task that exists


# --- errors ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CellError:
    """One thing wrong in the file: where (row as Excel numbers it, column header), what."""

    row: int  # 1 is the header row; 0 the file as a whole
    column: str  # the header; "" for the row or the file as a whole
    value: str  # what the cell holds, as text
    problem: str  # zh-CN first, English after

    def __str__(self) -> str:
        where = f"第{self.row}行 row {self.row}" if self.row else "文件 file"
        if self.column:
            where += f" 【{self.column}】"
        shown = f" “{self.value}”" if self.value else ""
        return f"{where}{shown}: {self.problem}"


class SpreadsheetInvalid(Invalid):
    """The file cannot be imported; `errors` lists every bad row and cell. Nothing was stored."""

    def __init__(self, errors: Sequence[CellError]) -> None:
        self.errors = tuple(sorted(errors, key=_error_order))
        first = self.errors[0]
        super().__init__(
            f"表格有{len(self.errors)}处错误，未导入任何内容 the spreadsheet has "
            f"{len(self.errors)} error(s); nothing was imported. {first}"
            + ("…" if len(self.errors) > 1 else ""),
            field=f"rows[{first.row}]" + (f".{first.column}" if first.column else ""),
        )


def _error_order(e: CellError) -> tuple[int, int]:
    order = [c.header for c in COLUMNS]
    return e.row, order.index(e.column) + 1 if e.column in order else 0


class _Bad(ValueError):
    """A cell that cannot be read; the message is zh-CN first, English after."""


# --- writing --------------------------------------------------------------------------------


def write_workbook(
    tasks: Sequence[ShownTask],
    cities: Cities,
    areas: Sequence[str],
    numbers: Mapping[str, str],
) -> bytes:
    """The .xlsx of `tasks`, in 编号 order. `numbers` maps task ids to 编号, for the parents."""
    wb = Workbook()
    ws = wb.active
    assert isinstance(ws, Worksheet)
    ws.title = SHEET
    _write_header(ws)
    ordered = sorted(tasks, key=lambda t: number_key(t.fields.number))
    for row, task in enumerate(ordered, start=2):
        for col, column in enumerate(COLUMNS, start=1):
            cell = _put(ws, row, col, _cell_value(task, column.key, cities, numbers))
            if isinstance(cell.value, date):
                cell.number_format = DATE_FORMAT
            if column.wrap:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
            if column.key == "colour" and cell.value in _COLOUR_FILLS:
                cell.fill = PatternFill("solid", fgColor=_COLOUR_FILLS[str(cell.value)])
    _write_help(wb, ws, cities, areas)
    out = BytesIO()
    wb.save(out)
    return out.getvalue()


def _write_header(ws: Worksheet) -> None:
    bold = Font(bold=True)
    editable = PatternFill("solid", fgColor="DDEBF7")
    computed = PatternFill("solid", fgColor="EDEDED")
    for col, column in enumerate(COLUMNS, start=1):
        cell = ws.cell(row=1, column=col, value=column.header)
        cell.font = bold
        cell.fill = computed if column.computed else editable
        cell.alignment = Alignment(horizontal="center", vertical="center")
        ws.column_dimensions[get_column_letter(col)].width = column.width
    ws.freeze_panes = "B2"  # the header row and the 编号 column stay in view
    ws.auto_filter.ref = f"A1:{get_column_letter(len(COLUMNS))}1"


def _put(ws: Worksheet, row: int, col: int, value: CellValue) -> Cell:
    if not isinstance(value, str):
        return ws.cell(row=row, column=col, value=value)
    # Characters the format cannot hold are dropped (see `comparable`); and text stays text:
    # a cell "=…" must not become a formula that Excel would run.
    cell = ws.cell(row=row, column=col, value=ILLEGAL_CHARACTERS_RE.sub("", value))
    cell.data_type = "s"
    return cell


def _cell_value(task: ShownTask, key: str, cities: Cities, numbers: Mapping[str, str]) -> CellValue:
    f = task.fields
    match key:
        case "progress":  # one decimal; a whole number shows as one
            return int(task.progress) if task.progress.is_integer() else task.progress
        case "status":
            return task.status
        case "colour":
            return task.colour
        case "source":
            return SOURCES[f.source]
        case "lead_city":
            return cities.name(f.lead_city)
        case "partner_cities":
            return PARTNER_SEPARATOR.join(cities.name(c) for c in f.partner_cities) or None
        case "milestones":
            return "\n".join(f"{m.date.isoformat()} {m.title}" for m in f.milestones) or None
        case "parent":
            return None if f.parent is None else numbers.get(f.parent, f.parent)
    value = getattr(f, key)
    return None if value == "" else cast(CellValue, value)


def _write_help(wb: Workbook, ws: Worksheet, cities: Cities, areas: Sequence[str]) -> None:
    """A second sheet explaining each column and holding the lists the drop-downs offer."""
    help_ws = wb.create_sheet(HELP_SHEET)
    # (header, width, values, the ledger column whose drop-down offers them)
    blocks: list[tuple[str, int, list[str], str | None]] = [
        ("列名", 20, [c.header for c in COLUMNS], None),
        ("填写要求", 60, [c.hint for c in COLUMNS], None),
        ("", 4, [], None),
        ("领域", 14, list(areas), "area"),
        ("任务来源", 14, list(SOURCES.values()), "source"),
        ("城市", 10, list(cities.names.values()), "lead_city"),
        ("城市代码", 10, list(cities.names), None),
    ]
    for col, (header, width, values, dropdown_for) in enumerate(blocks, start=1):
        letter = get_column_letter(col)
        help_ws.column_dimensions[letter].width = width
        if header:
            _put(help_ws, 1, col, header).font = Font(bold=True)
        for row, value in enumerate(values, start=2):
            _put(help_ws, row, col, value)
        if dropdown_for is not None and values:
            _dropdown(ws, dropdown_for, f"'{HELP_SHEET}'!${letter}$2:${letter}${len(values) + 1}")


def _dropdown(ws: Worksheet, key: str, formula: str) -> None:
    letter = get_column_letter([c.key for c in COLUMNS].index(key) + 1)
    header = _HEADER_OF[key]
    dv = DataValidation(
        type="list",
        formula1=formula,
        allow_blank=True,
        showErrorMessage=True,
        errorTitle=f"{header}无效",
        error=f"请从下拉列表中选择{header} choose a value from the list",
    )
    dv.add(f"{letter}2:{letter}{MAX_ROWS + 1}")
    ws.add_data_validation(dv)


# --- reading --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RawRow:
    row: int  # as Excel numbers it
    cells: Mapping[str, object]  # column key → cell value, editable columns only


def read_workbook(data: bytes) -> list[RawRow]:
    """The data rows of the 台账 sheet (or the first sheet); blank rows are skipped.
    SpreadsheetInvalid for a file that is no .xlsx, or a header row that is wrong."""
    wb = _open(data)
    try:
        ws = wb[SHEET] if SHEET in wb.sheetnames else wb.worksheets[0]
        rows = ws.iter_rows(values_only=True)
        keys = _check_header(next(rows, ()))
        out: list[RawRow] = []
        for number, values in enumerate(rows, start=2):
            if all(_blank(v) for v in values):
                continue
            if len(out) == MAX_ROWS:
                problem = f"超过{MAX_ROWS}行 more than {MAX_ROWS} task rows"
                raise SpreadsheetInvalid([CellError(number, "", "", problem)])
            cells = {k: v for k, v in zip(keys, values, strict=False) if k is not None}
            out.append(RawRow(number, cells))
        return out
    finally:
        wb.close()


def _open(data: bytes) -> Workbook:
    try:
        with warnings.catch_warnings():
            # openpyxl warns about Excel features it does not read (extensions, styles):
            # irrelevant to the values, and not the user's problem.
            warnings.simplefilter("ignore")
            return load_workbook(BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as e:
        problem = f"不是有效的 .xlsx 文件 not a readable .xlsx file ({e})"
        raise SpreadsheetInvalid([CellError(0, "", "", problem)]) from e


def _check_header(header: Sequence[object]) -> list[str | None]:
    """Each column's key (None for a column to skip); every header problem at once."""
    errors: list[CellError] = []
    keys: list[str | None] = []
    seen: set[str] = set()
    for value in header:
        text = "" if value is None else str(value).strip()
        column = _BY_HEADER.get(text)
        if not text:
            keys.append(None)  # an unnamed column: nothing of the ledger
        elif column is None:
            errors.append(CellError(1, text, "", "未知列 unknown column"))
            keys.append(None)
        elif text in seen:
            errors.append(CellError(1, text, "", "列重复 the column appears twice"))
            keys.append(None)
        else:
            seen.add(text)
            keys.append(None if column.computed else column.key)
    missing = [c.header for c in EDITABLE if c.header not in seen]
    errors += [CellError(1, h, "", "缺少此列 the column is missing") for h in missing]
    if errors:
        raise SpreadsheetInvalid(errors)
    return keys


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


# --- cells → fields -------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """A row that reads as a task. `fields.parent` is unset: the parent is known by its
    编号, which may be a task this import creates."""

    row: int
    fields: TaskFields
    parent_number: str | None


def _as_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _key_text(value: object) -> str:
    """Text that names something (编号, a city, an area): surrounding spaces do not count."""
    return _as_text(value).strip()


def _optional(value: object) -> str | None:
    text = _as_text(value)
    return text if text.strip() else None


def _date(value: object) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _key_text(value)
    if _ISO_DATE.match(text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    raise _Bad(
        "日期无效，请填日期或“YYYY-MM-DD”，如 2026-03-31 not a date: use a date cell or YYYY-MM-DD"
    )


def _source(value: object) -> str:
    text = _key_text(value)
    if not text:
        return "work-points"
    if text in SOURCES:
        return text
    if text in _SOURCE_KEYS:
        return _SOURCE_KEYS[text]
    raise _Bad(f"未知任务来源，可选：{'、'.join(SOURCES.values())} unknown source")


def _city(text: str, cities: Cities) -> str:
    code = cities.code(text)
    if code is None:
        raise _Bad(
            f"未知城市“{text}”，可选：{'、'.join(cities.names.values())} "
            "unknown city: use a member city's name or code"
        )
    return code


def _partners(value: object, cities: Cities) -> tuple[str, ...]:
    names = [n for n in _PARTNER_SPLIT.split(_key_text(value)) if n]
    return tuple(_city(n, cities) for n in names)


def _milestones(value: object) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for line in filter(None, (line.strip() for line in _as_text(value).splitlines())):
        m = _MILESTONE.match(line)
        try:
            day = date.fromisoformat(m.group(1)) if m else None
        except ValueError:  # 2026-02-30
            day = None
        if m is None or day is None:
            raise _Bad(
                f"节点“{line}”格式有误，每行应为“2026-03-31 完成方案” "
                "each line must be a date then what is due"
            )
        out.append({"date": day, "title": m.group(2).strip()})
    return out


_WHOLE_NUMBER = "须为1–100的整数 must be a whole number 1–100"


def _weight(value: object) -> int | None:
    if _blank(value):
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    text = _key_text(value)
    if re.fullmatch(r"\d+", text):
        return int(text)
    raise _Bad(f"权重{_WHOLE_NUMBER}")


def _values(raw: RawRow, cities: Cities) -> tuple[dict[str, object], list[CellError]]:
    """The row's cells as TaskFields input; the cells that cannot be read."""
    readers: dict[str, Callable[[object], object]] = {
        "number": _key_text,
        "title": _as_text,
        "requirement": _as_text,
        "area": _key_text,
        "source": _source,
        "source_ref": _optional,
        "lead_city": lambda v: _city(_key_text(v), cities),
        "lead_department": _as_text,
        "partner_cities": lambda v: _partners(v, cities),
        "responsible": _as_text,
        "start": _date,
        "deadline": _date,
        "milestones": _milestones,
        "weight": _weight,
    }
    values: dict[str, object] = {}
    errors: list[CellError] = []
    for key, read in readers.items():
        cell = raw.cells.get(key)
        if key in ("lead_city", "start", "deadline") and _blank(cell):
            continue  # left out: TaskFields reports it as required
        try:
            values[key] = read(cell)
        except _Bad as e:
            errors.append(CellError(raw.row, _HEADER_OF[key], _as_text(cell), str(e)))
    return values, errors


def parse_row(raw: RawRow, cities: Cities) -> Row | list[CellError]:
    """One data row as a task, or every problem of its cells."""
    values, errors = _values(raw, cities)
    bad = {e.column for e in errors}
    try:
        fields = TaskFields.model_validate(values)
    except ValidationError as e:
        for detail in e.errors():
            header = _HEADER_OF.get(str(detail["loc"][0]), "") if detail["loc"] else ""
            if header not in bad:  # one error per cell: the reader's, if it had one
                bad.add(header)
                key = str(detail["loc"][0]) if detail["loc"] else ""
                errors.append(
                    CellError(raw.row, header, _as_text(raw.cells.get(key)), _problem(detail))
                )
    if errors:
        return errors
    parent = _key_text(raw.cells.get("parent")) or None
    return Row(raw.row, fields, parent)


def _problem(e: ErrorDetails) -> str:
    """A pydantic error in words an office user understands, zh-CN first."""
    ctx = e.get("ctx") or {}
    kind = e["type"]
    if kind in ("missing", "string_too_short", "too_short"):
        return "必填 required"
    if kind == "string_too_long":
        return f"过长，最多{ctx.get('max_length')}字 too long: at most {ctx.get('max_length')}"
    if kind in ("greater_than_equal", "less_than_equal"):
        return _WHOLE_NUMBER
    if kind == "value_error":
        return str(e["msg"]).removeprefix("Value error, ")
    return f"无效 invalid: {e['msg']}"


# --- the file as a whole --------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One row to apply: create a task (`existing` None) or update `existing` if it differs."""

    row: Row
    existing: StoredTask | None


@dataclass
class Plan:
    steps: list[Step] = field(default_factory=list)  # parents before their children


def check(raws: Sequence[RawRow], ledger: Ledger) -> Plan:
    """Every row read and checked against the ledger; SpreadsheetInvalid with every error."""
    errors: list[CellError] = []
    rows: list[Row] = []
    for raw in raws:
        parsed = parse_row(raw, ledger.cities)
        if isinstance(parsed, Row):
            rows.append(parsed)
        else:
            errors += parsed
    # What concerns other rows and tasks is checked on every row, read or not, so that one
    # import shows every error there is.
    existing = {t.fields.number: t for t in ledger.tasks}
    errors += _duplicates(raws)
    errors += _unknown_areas(raws, ledger.areas, existing)
    errors += _moved_leads(raws, existing, ledger.cities)
    errors += _bad_parents(raws, existing)
    if errors:
        raise SpreadsheetInvalid(_one_per_cell(errors))
    return Plan([Step(r, existing.get(r.fields.number)) for r in _parents_first(rows)])


def _one_per_cell(errors: Iterable[CellError]) -> list[CellError]:
    """The first problem found in each cell (a cell can break several rules at once)."""
    seen: dict[tuple[int, str], CellError] = {}
    for e in errors:
        seen.setdefault((e.row, e.column), e)
    return list(seen.values())


def _number_of(raw: RawRow) -> str:
    return _key_text(raw.cells.get("number"))


def _duplicates(raws: Sequence[RawRow]) -> list[CellError]:
    first: dict[str, int] = {}
    errors: list[CellError] = []
    for raw in raws:
        number = _number_of(raw)
        if not number:
            continue
        if number in first:
            problem = f"编号与第{first[number]}行重复 duplicates row {first[number]}"
            errors.append(CellError(raw.row, _HEADER_OF["number"], number, problem))
        else:
            first[number] = raw.row
    return errors


def _unknown_areas(
    raws: Sequence[RawRow], areas: Sequence[str], existing: Mapping[str, StoredTask]
) -> list[CellError]:
    """A new task's area must be one of the configured areas; a task keeps its own even if
    the list has changed since. (An empty area is reported as required.)"""
    errors: list[CellError] = []
    for raw in raws:
        area = _key_text(raw.cells.get("area"))
        task = existing.get(_number_of(raw))
        if not area or area in areas or (task is not None and task.fields.area == area):
            continue
        problem = f"未知领域，可选：{'、'.join(areas)} unknown area"
        errors.append(CellError(raw.row, _HEADER_OF["area"], area, problem))
    return errors


def _moved_leads(
    raws: Sequence[RawRow], existing: Mapping[str, StoredTask], cities: Cities
) -> list[CellError]:
    """A task keeps its lead city: reports and requests already filed rely on it."""
    errors: list[CellError] = []
    for raw in raws:
        task = existing.get(_number_of(raw))
        lead = cities.code(_key_text(raw.cells.get("lead_city")))
        if task is None or lead is None or task.fields.lead_city == lead:
            continue
        was = cities.name(task.fields.lead_city)
        problem = f"已有任务的牵头城市不能更改（原为{was}） the lead city of a task cannot change"
        errors.append(CellError(raw.row, _HEADER_OF["lead_city"], cities.name(lead), problem))
    return errors


def _bad_parents(raws: Sequence[RawRow], existing: Mapping[str, StoredTask]) -> list[CellError]:
    """Every parent 编号 must name a task (existing or in the file), and no task may end up
    under itself."""
    numbers = {t.id: n for n, t in existing.items()}
    parent_of: dict[str, str | None] = {
        n: None if t.fields.parent is None else numbers.get(t.fields.parent)
        for n, t in existing.items()
    }
    for raw in raws:  # the file's rows override the tasks they update
        parent_of[_number_of(raw)] = _key_text(raw.cells.get("parent")) or None
    in_file = {_number_of(r) for r in raws} - {""}
    errors: list[CellError] = []
    header = _HEADER_OF["parent"]
    for raw in raws:
        number, parent = _number_of(raw), parent_of.get(_number_of(raw))
        if parent is None or not number:
            continue
        if parent not in existing and parent not in in_file:
            errors.append(
                CellError(raw.row, header, parent, "未找到该编号的任务 no task has this 编号")
            )
        elif _under_itself(number, parent_of):
            problem = "上级任务形成循环（任务不能在自身之下） a task cannot be under itself"
            errors.append(CellError(raw.row, header, parent, problem))
    return errors


def _under_itself(number: str, parent_of: Mapping[str, str | None]) -> bool:
    seen: set[str] = set()
    current = parent_of.get(number)
    while current is not None and current not in seen:
        if current == number:
            return True
        seen.add(current)
        current = parent_of.get(current)
    return False


def _parents_first(rows: Sequence[Row]) -> list[Row]:
    """The rows in file order, except that a row whose parent is in the file comes after it
    (there are no loops: `_bad_parents` checked)."""
    by_number = {r.fields.number: r for r in rows}
    done: set[str] = set()
    out: list[Row] = []

    def visit(r: Row) -> None:
        if r.fields.number in done:
            return
        done.add(r.fields.number)
        if r.parent_number in by_number:
            visit(by_number[r.parent_number])
        out.append(r)

    for r in rows:
        visit(r)
    return out


def comparable(fields: TaskFields) -> TaskFields:
    """The fields as a spreadsheet cell can hold them: line ends as Excel keeps them (\\n),
    without characters the format drops, an empty 来源文件 as none. A row equal to a task in
    this form changes nothing."""

    def text(s: str) -> str:
        return ILLEGAL_CHARACTERS_RE.sub("", s.replace("\r\n", "\n").replace("\r", "\n"))

    return fields.model_copy(
        update={
            "title": text(fields.title),
            "requirement": text(fields.requirement),
            "lead_department": text(fields.lead_department),
            "responsible": text(fields.responsible),
            "source_ref": text(fields.source_ref) if fields.source_ref else None,
        }
    )


def merged(row: Row, existing: StoredTask | None, parent_id: str | None) -> TaskFields:
    """The task a row stands for: its cells, the parent's id, and what a spreadsheet does not
    carry (attachments) kept from the task."""
    update: dict[str, object] = {"parent": parent_id}
    if existing is not None:
        update["attachments"] = existing.fields.attachments
    return row.fields.model_copy(update=update)


def unchanged(row: Row, existing: StoredTask, parent_id: str | None) -> bool:
    return comparable(merged(row, existing, parent_id)) == comparable(existing.fields)


def ids_by_number(tasks: Iterable[StoredTask]) -> dict[str, str]:
    return {t.fields.number: t.id for t in tasks}


# --- the node: export from the projections, import through the actions ----------------------


def cities_of(parts: NodeParts) -> Cities:
    """The member cities as the actions know them: the alliance file's, else the logs'."""
    if parts.alliance is not None and parts.alliance.members:
        return Cities({m.city: m.name for m in parts.alliance.members})
    return Cities(dict(sorted(queries.known_cities(parts.projector.engine).items())))


def export_tasks(
    parts: NodeParts,
    area: str | None = None,
    lead_city: str | None = None,
    partner_city: str | None = None,
    today: date | None = None,
) -> bytes:
    """The ledger, or the tasks matching the filters, as an .xlsx that imports back unchanged."""
    engine = parts.projector.engine
    everything = queries.list_tasks(engine, today=today)
    chosen = everything
    if area is not None or lead_city is not None or partner_city is not None:
        chosen = queries.list_tasks(
            engine, area=area, lead_city=lead_city, partner_city=partner_city, today=today
        )
    numbers = {t.id: t.fields.number for t in everything}
    return write_workbook(chosen, cities_of(parts), queries.current_areas(engine), numbers)


@dataclass(frozen=True)
class Imported:
    """What an import did: (编号, task id) of the tasks created and updated; the 编号 of the
    rows that matched their task already."""

    created: tuple[tuple[str, str], ...]
    updated: tuple[tuple[str, str], ...]
    unchanged: tuple[str, ...]


def _may_import(parts: NodeParts, user: User) -> None:
    """Checked first, so that a user who may not import learns that, not the file's faults;
    and checked even when every row is unchanged."""
    if not user.can(Permission.MANAGE_TASKS) or user.city != parts.config.city:
        raise Forbidden(
            f"无权导入台账：需要本市（{parts.config.city}）的任务管理权限 — user {user.name!r} "
            f"({user.role.value}, {user.city}) may not manage this node's tasks"
        )
    chair = current_chair(parts.projector.engine)
    if chair != parts.config.city:
        raise Forbidden(
            f"只有轮值城市（当前为 {chair}）可以导入台账 — only the chair city imports tasks"
        )


def import_tasks(parts: NodeParts, user: User, data: bytes) -> Imported:
    """Create and update tasks from an .xlsx, all or nothing: SpreadsheetInvalid listing every
    bad row and cell, and nothing stored, if any row is wrong."""
    _may_import(parts, user)
    raws = read_workbook(data)
    engine = parts.projector.engine
    # One lock from the check to the last append: no other write of this node comes between.
    with parts.writer.lock:
        ledger = Ledger(cities_of(parts), queries.current_areas(engine), queries.list_tasks(engine))
        plan = check(raws, ledger)
        return _apply(parts, user, plan, ids_by_number(ledger.tasks))


def _apply(parts: NodeParts, user: User, plan: Plan, ids: dict[str, str]) -> Imported:
    created: list[tuple[str, str]] = []
    updated: list[tuple[str, str]] = []
    same: list[str] = []
    for step in plan.steps:
        number = step.row.fields.number
        parent = None if step.row.parent_number is None else ids[step.row.parent_number]
        try:
            if step.existing is None:
                ids[number] = actions.create_task(parts, user, merged(step.row, None, parent))
                created.append((number, ids[number]))
            elif unchanged(step.row, step.existing, parent):
                same.append(number)
            elif actions.update_task(
                parts, user, step.existing.id, merged(step.row, step.existing, parent)
            ):
                updated.append((number, step.existing.id))
            else:
                same.append(number)
        except (ActionError, Rejected) as e:
            # `check` tests what the actions test, so this is a race or a rule it missed.
            if not created and not updated:
                raise
            stored = "、".join(n for n, _ in created + updated)
            raise Conflict(
                f"第{step.row.row}行被拒绝（{e}），此前各行已保存：{stored} — row "
                f"{step.row.row} was refused after these rows were stored: {stored}"
            ) from e
    return Imported(tuple(created), tuple(updated), tuple(same))
