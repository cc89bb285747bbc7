"""Spreadsheets: CSV and XLSX import (all or nothing, every bad cell reported) and an export
that imports again unchanged."""

from __future__ import annotations

import io

import pytest
from factories import CHAIR, user_of
from indicators.harness import Cities
from openpyxl import Workbook, load_workbook

from lunan.indicators import actions, importer
from lunan.indicators.events import Figure, Figures
from lunan.indicators.importer import CellError, ImportErrors

LINYI = CHAIR
HEADER = "年份,城市代码,城市,指标,数值,单位,增速(%),排名,备注,来源"


def csv_file(*lines: str, bom: bool = False) -> bytes:
    return ("\r\n".join([HEADER, *lines]) + "\r\n").encode("utf-8-sig" if bom else "utf-8")


def xlsx_file(rows: list[list[object]], percent_cells: tuple[str, ...] = ()) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    for ref in percent_cells:
        sheet[ref].number_format = "0.0%"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def do_import(cities: Cities, data: bytes, year: int | None = None) -> actions.ImportResult:
    return actions.import_figures(cities.parts[LINYI], user_of(LINYI), data, year)


def content(cities: Cities) -> list[tuple[int, Figures]]:
    return [(s.year, s.content()) for s in cities.sets()]


def problems(cities: Cities, data: bytes, year: int | None = None) -> list[CellError]:
    before = cities.sizes()
    with pytest.raises(ImportErrors) as refused:
        do_import(cities, data, year)
    assert cities.sizes() == before, "a refused import stores nothing"
    return refused.value.errors


@pytest.mark.parametrize("bom", [False, True])
def test_a_csv_file_with_or_without_bom_publishes_the_citys_years(
    cities: Cities, bom: bool
) -> None:
    data = csv_file(
        '2020,371300,临沂,区域生产总值,"5,465.7",亿元,3.9%,,,示例数据',
        "2020,371300,,GDP,,,,,,",  # would clear gdp: a repeat, refused below instead
        bom=bom,
    )
    assert [(e.row, e.column) for e in problems(cities, data)] == [(3, "指标")]
    data = csv_file(
        '2020,371300,临沂,区域生产总值,"5,465.7",亿元,3.9%,,,示例数据',
        "2020,,临沂,进出口总额,,,,增速居全省前列,,",
        "2021,371300,,,,,,,全年备注,示例数据",
        bom=bom,
    )
    result = do_import(cities, data)
    assert (result.rows, result.published) == (
        3,
        ["indicators/371300/2020", "indicators/371300/2021"],
    )
    assert content(cities) == [
        (
            2020,
            Figures(
                figures={
                    "gdp": Figure(value="5465.7", growth="3.9", source="示例数据"),
                    "trade": Figure(rank="增速居全省前列"),
                }
            ),
        ),
        (2021, Figures(note="全年备注", source="示例数据")),
    ]


def test_every_bad_cell_is_reported_and_nothing_is_stored(cities: Cities) -> None:
    data = csv_file(
        "2020,371300,临沂,区域生产总值,14515.9,亿元,3.6,,,",  # good
        "20x0,371300,临沂,区域生产总值,1,,,,,",  # year
        "2021,370400,枣庄,区域生产总值,1,,,,,",  # another city
        "2021,371300,临沂,国内生产总值,1,,,,,",  # unknown indicator
        "2022,371300,临沂,进出口总额,abc,万元,-120,,,",  # value, unit, growth
        "2020,371300,临沂,GDP,1,,,,,",  # repeats row 2
        "2023,371300,济宁,一般公共预算收入,1,,,,,",  # name disagrees with the code
        "2023,371300,临沂,,1,,,,备注,",  # a note row with a value
        "2023,371300,临沂,农村居民人均可支配收入,12%,,,,,",  # a value with %
        ",,,农村居民人均可支配收入,1,,,,,",  # no year, no city
    )
    found = [(e.row, e.column) for e in problems(cities, data)]
    assert found == [
        (3, "年份"),
        (4, "城市代码"),
        (5, "指标"),
        (6, "单位"),
        (6, "数值"),
        (6, "增速(%)"),
        (7, "指标"),
        (8, "城市"),
        (9, "数值"),
        (10, "数值"),
        (11, "年份"),
        (11, "城市代码"),
    ]
    assert cities.sets() == []


def test_the_message_names_row_column_and_problem(cities: Cities) -> None:
    [error] = problems(cities, csv_file("2020,371300,临沂,区域生产总值,1.2.3,,,,,"))
    assert str(error).startswith("第2行 数值: ")
    assert "1.2.3" in error.problem


def test_bad_headers_are_reported_before_any_row(cities: Cities) -> None:
    data = "年度,城市,指标名称,数直,数值,数值\r\n2020,临沂,GDP,1,2,3\r\n".encode()
    found = [(e.row, e.column) for e in problems(cities, data)]
    assert found == [(1, "数直"), (1, "数值")]
    assert [(e.row, e.column) for e in problems(cities, "城市\r\n临沂\r\n".encode())] == [
        (1, "年份"),
        (1, "指标"),
    ]


@pytest.mark.parametrize(
    "data",
    [b"", "年份,指标\r\n".encode("gbk") + "2020,区域生产总值\r\n".encode("gbk"), b"PK\x03\x04junk"],
)
def test_an_empty_foreign_or_broken_file_is_one_file_error(cities: Cities, data: bytes) -> None:
    [error] = problems(cities, data)
    assert (error.row, error.column) == (None, "文件")


def test_a_file_with_only_headers_has_no_rows(cities: Cities) -> None:
    [error] = problems(cities, csv_file())
    assert "没有数据行" in error.problem


def test_year_option_fills_empty_years_and_refuses_others(cities: Cities) -> None:
    data = csv_file(",371300,临沂,区域生产总值,1,,,,,", "2019,371300,临沂,进出口总额,1,,,,,")
    assert [(e.row, e.column) for e in problems(cities, data, year=2020)] == [(3, "年份")]
    do_import(cities, csv_file(",371300,临沂,区域生产总值,1,,,,,"), year=2020)
    assert [s.id for s in cities.sets()] == ["indicators/371300/2020"]


def test_an_import_replaces_the_rows_it_names_and_keeps_the_rest(cities: Cities) -> None:
    do_import(
        cities,
        csv_file("2020,371300,,区域生产总值,1,,,,,", "2020,371300,,进出口总额,2,,,,,"),
    )
    result = do_import(
        cities,
        csv_file("2020,371300,,区域生产总值,,,,,,", "2020,371300,,一般公共预算收入,3,,,,,"),
    )
    assert result.revised == ["indicators/371300/2020"]
    [(_, figures)] = content(cities)
    assert {k: f.value for k, f in figures.figures.items()} == {"trade": "2", "budget_revenue": "3"}


def test_xlsx_numbers_and_percent_cells_are_read_exactly(cities: Cities) -> None:
    data = xlsx_file(
        [
            ["年份", "城市代码", "指标", "数值", "增速（%）"],
            [2020, "371300", "区域生产总值", 14515.9, 0.036],
            [2020.0, 371300, "进出口总额", 100, "25.1%"],
            [2020, 371300, "一般公共预算收入", None, 1],
        ],
        percent_cells=("E2", "E4"),
    )
    do_import(cities, data)
    [(_, figures)] = content(cities)
    assert {k: (f.value, f.growth) for k, f in figures.figures.items()} == {
        "gdp": ("14515.9", "3.6"),
        "trade": ("100", "25.1"),
        "budget_revenue": (None, "100"),
    }


def test_xlsx_errors_name_rows_and_columns_too(cities: Cities) -> None:
    data = xlsx_file([["年份", "城市代码", "指标", "数值"], [2020, "371300", "区域生产总值", "x"]])
    assert [(e.row, e.column) for e in problems(cities, data)] == [(2, "数值")]


def publish_sample(cities: Cities) -> None:
    """Figures with everything a cell can hold: decimals, ranks, notes, a note like a formula."""
    parts, user = cities.parts[LINYI], user_of(LINYI)
    actions.publish_figures(
        parts,
        user,
        2020,
        Figures(
            figures={
                "gdp": Figure(value="4805.25", growth="3.9", source="示例数据"),
                "trade": Figure(growth="-2.5", rank="第1", note="=SUM(A1)（示例数据）"),
                "rural_income": Figure(value="15622", growth="6.4"),
                "urban_income": Figure(value="0.000001"),
            },
            note="全年备注，含逗号, 和“引号”",
            source="示例数据",
        ),
    )
    actions.publish_figures(
        parts, user, 2021, Figures(figures={"budget_revenue": Figure(value="123456789012345")})
    )


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_an_export_imports_again_unchanged(cities: Cities, fmt: str) -> None:
    publish_sample(cities)
    before = content(cities)
    with cities.engine.connect() as conn:
        data = importer.export_file(conn, fmt, city=LINYI)
    sizes = cities.sizes()
    result = do_import(cities, data)
    assert (result.published, result.revised) == ([], [])
    assert result.unchanged == ["indicators/371300/2020", "indicators/371300/2021"]
    assert cities.sizes() == sizes
    assert content(cities) == before


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_an_export_imported_elsewhere_makes_the_same_figures(
    cities: Cities, fmt: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from factories import CITIES, four_cities, node_parts
    from indicators.harness import Cities as Harness

    publish_sample(cities)
    with cities.engine.connect() as conn:
        data = importer.export_file(conn, fmt, city=LINYI)
    other_dir = tmp_path_factory.mktemp("other")
    with four_cities(other_dir) as h:
        h.projector.catch_up()
        other = Harness(h, {c: node_parts(h, other_dir, c) for c in CITIES})
        do_import(other, data)
        assert content(other) == content(cities)


def test_the_xlsx_export_keeps_formula_like_text_as_text(cities: Cities) -> None:
    publish_sample(cities)
    with cities.engine.connect() as conn:
        data = importer.export_file(conn, "xlsx", city=LINYI)
    sheet = load_workbook(io.BytesIO(data)).worksheets[0]
    [note] = [c for c in sheet["I"] if c.value == "=SUM(A1)（示例数据）"]
    assert note.data_type != "f"
    assert isinstance(sheet["E3"].value, float)  # numbers stay numbers
    assert [c.value for c in sheet[1]] == list(importer.COLUMNS)


def test_too_many_rows_is_one_file_error_empty_rows_do_not_count(
    cities: Cities, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importer, "MAX_ROWS", 2)
    two = csv_file(
        "2020,371300,,区域生产总值,1,,,,,", ",,,,,,,,,", "", "2020,371300,,进出口总额,1,,,,,"
    )
    assert do_import(cities, two).rows == 2
    three = csv_file(*(f"{y},371300,,区域生产总值,1,,,,," for y in (2021, 2022, 2023)))
    [error] = problems(cities, three)
    assert (error.row, error.column) == (None, "文件")
