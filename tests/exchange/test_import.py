"""`lunan data import` and `POST /api/v1/data/import`: a file checked cell by cell against its
catalog entry, all rows or none, errors by row and column and never by value."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from factories import CHAIR, ExchangeCities, residents_csv, user_of
from openpyxl import Workbook

from lunan.apps.ids import make_resident_id
from lunan.events.errors import Forbidden, NotFound
from lunan.exchange import actions, adapters, importer
from lunan.exchange.importer import Column, DataImportErrors

ENTRY = f"{CHAIR}-01-0001"
HEADER = "身份证号,姓名,户籍地区划代码"
COLUMNS = [
    Column("身份证号", "resident_id"),
    Column("姓名", "text"),
    Column("户籍地区划代码", "division_code"),
]


def parse(
    text: str, columns: list[Column] = COLUMNS, keys: tuple[str, ...] = ("身份证号",)
) -> list[dict[str, object]]:
    return importer.parse(text.encode(), columns, keys, CHAIR)


def problems(
    text: str, columns: list[Column] = COLUMNS, keys: tuple[str, ...] = ("身份证号",)
) -> list[tuple[int | None, str, str]]:
    with pytest.raises(DataImportErrors) as raised:
        parse(text, columns, keys)
    return [(e.row, e.column, e.problem) for e in raised.value.errors]


def test_a_good_file_is_read_with_ids_normalised() -> None:
    a = make_resident_id("371302", dt.date(1990, 1, 1), 123)
    with_x = (make_resident_id("371311", dt.date(1985, 5, 5), s) for s in range(1, 999))
    x = next(n for n in with_x if n.endswith("X"))
    rows = parse(f"\ufeff{HEADER}\n{a},张三,371302\n\n{x.lower()} ,李四,371311\n")
    assert rows == [
        {"身份证号": a, "姓名": "张三", "户籍地区划代码": "371302"},
        {"身份证号": x, "姓名": "李四", "户籍地区划代码": "371311"},
    ]


def test_every_bad_cell_is_reported_by_row_and_column_never_by_value() -> None:
    data, ids = residents_csv(CHAIR, 4)
    lines = data.decode().splitlines()
    good = lines[1].split(",")
    wrong_check = ids[1][:17] + ("0" if ids[1][17] != "0" else "1")
    text = "\n".join(
        [
            lines[0],
            lines[1],
            f"{wrong_check},王五,{good[2]}",  # row 3: check character
            f"{ids[2]},赵六,370402",  # row 4: 枣庄's county in 临沂's registry
            f"{ids[3]},孙七,37130",  # row 5: not 6 digits
            f",周八,{good[2]}",  # row 6: key missing
            f"{ids[0]},重复,{good[2]}",  # row 7: repeats row 2
            f"{ids[0][:10]},吴九,{good[2]},extra",  # row 8: short ID, a cell outside the columns
        ]
    )
    found = problems(text)
    assert [(r, c) for r, c, _ in found] == [
        (3, "身份证号"),
        (4, "户籍地区划代码"),
        (5, "户籍地区划代码"),
        (6, "身份证号"),
        (7, "身份证号"),
        (8, "第4列"),
        (8, "身份证号"),
    ]
    assert "校验码" in found[0][2] and "重复" in found[4][2] and "18位" in found[6][2]
    with pytest.raises(DataImportErrors) as raised:
        parse(text)
    for number in [*ids, wrong_check]:
        assert number not in raised.value.message
        assert number[:10] not in raised.value.message


def test_the_header_must_be_the_entrys_fields() -> None:
    assert problems("身份证号,名字\n") == [
        (1, "名字", "不是本目录的字段 not a field of this entry"),
        (1, "姓名", "缺少该列 the column is missing"),
        (1, "户籍地区划代码", "缺少该列 the column is missing"),
    ]
    assert problems(f"{HEADER},姓名\n")[0][2].startswith("表头重复")
    assert problems("")[0][0] is None
    assert problems(f"{HEADER}\n") == [(None, "文件", "没有数据行 the file has no data rows")]


def test_types_are_checked() -> None:
    columns = [
        Column("编号", "integer"),
        Column("金额", "decimal"),
        Column("日期", "date"),
        Column("有效", "boolean"),
    ]
    text = '编号,金额,日期,有效\n12,"1,234.50",2024-05-13,是\n-3,0,,false\n'
    rows = parse(text, columns, ("编号",))
    assert rows == [
        {"编号": 12, "金额": "1234.5", "日期": "2024-05-13", "有效": True},
        {"编号": -3, "金额": "0", "日期": None, "有效": False},
    ]
    bad = problems(
        "编号,金额,日期,有效\n1.5,abc,2024-13-01,也许\n", columns=columns, keys=("编号",)
    )
    assert [c for _, c, _ in bad] == ["编号", "金额", "日期", "有效"]


def test_xlsx_is_read_like_csv_and_a_number_cell_that_lost_digits_is_refused() -> None:
    data, ids = residents_csv(CHAIR, 2)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for line in data.decode().splitlines():
        sheet.append(line.split(","))
    sheet.append([float(ids[0][:17] + "0"), "数字", "371302"])
    out = io.BytesIO()
    book.save(out)
    with pytest.raises(DataImportErrors) as raised:
        importer.parse(out.getvalue(), COLUMNS, ("身份证号",), CHAIR)
    assert [(e.row, e.column) for e in raised.value.errors] == [(4, "身份证号")]
    assert "文本" in raised.value.errors[0].problem


def test_non_utf8_is_refused() -> None:
    with pytest.raises(DataImportErrors, match="UTF-8"):
        importer.parse("身份证号\n".encode("gbk"), COLUMNS, ("身份证号",), CHAIR)


def test_an_import_replaces_the_rows_and_configures_the_table_adapter(ex: ExchangeCities) -> None:
    parts = ex.parts(CHAIR)
    engine = ex.engine
    assert adapters.count_rows(engine, ENTRY) == 20  # the fixture's import
    config = adapters.get_config(engine, "resident-check")
    assert config is not None and config.adapter == "table"
    data, ids = residents_csv(CHAIR, 5, "another day")
    result = actions.import_data(parts, user_of(CHAIR, "officer"), ENTRY, data)
    assert (result.rows, result.adapter, result.configured) == (5, "table", False)
    assert adapters.count_rows(engine, ENTRY) == 5
    table = adapters.TableAdapter(engine, ENTRY, "身份证号")
    assert table.fetch({"身份证号": ids[4]}, ["身份证号"], {}, 1)[0]["身份证号"] == ids[4]
    assert table.fetch({"身份证号": ex.ids[0]}, ["身份证号"], {}, 1) == []
    bad = data + b"123,x,371302\n"
    with pytest.raises(DataImportErrors):
        actions.import_data(parts, None, ENTRY, bad)
    assert adapters.count_rows(engine, ENTRY) == 5  # nothing changed


def test_who_may_import_what(ex: ExchangeCities) -> None:
    data, _ = residents_csv(CHAIR, 2)
    ex.sc.resident_check("370400")
    before = ex.sizes()
    with pytest.raises(Forbidden, match=r"data\.manage"):
        actions.import_data(ex.parts(CHAIR), user_of(CHAIR, "viewer"), ENTRY, data)
    with pytest.raises(Forbidden, match="own city"):
        actions.import_data(ex.parts(CHAIR), user_of("370400"), ENTRY, data)
    with pytest.raises(Forbidden, match="only its provider"):
        actions.import_data(ex.parts(CHAIR), None, "370400-01-0001", data)
    with pytest.raises(NotFound):
        actions.import_data(ex.parts(CHAIR), None, f"{CHAIR}-09-0009", data)
    assert adapters.count_rows(ex.engine, ENTRY) == 20
    assert ex.sizes() == before  # an import never writes to the log
