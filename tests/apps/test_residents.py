"""The synthetic resident registry and its all-or-nothing CSV format."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lunan.apps.divisions import CITIES, JINING, RETIRED, city_of, counties
from lunan.apps.ids import make_resident_id, parse_resident_id
from lunan.apps.tourism.residents import (
    HEADER,
    Resident,
    ResidentFileError,
    RowError,
    generate,
    parse_csv,
    read_csv,
    write_csv,
)

TODAY = date(2025, 1, 1)
HEADER_LINE = "身份证号,姓名,户籍地区划代码"


def _id(region: str = "370881", year: int = 1980, sequence: int = 1) -> str:
    return make_resident_id(region, date(year, 1, 1), sequence)


# --- generation -------------------------------------------------------------------------------


@pytest.mark.parametrize("city", list(CITIES))
def test_generated_residents_are_valid_and_in_the_city(city: str) -> None:
    residents = generate(city, 300, seed=7)
    assert len(residents) == 300
    county_codes = {d.code for d in counties(city)}
    for r in residents:
        rid = parse_resident_id(r.id_number, today=TODAY)
        assert r.region in county_codes
        assert city_of(rid.region) == city  # the ID's address code too, old or current
        assert 2 <= len(r.name) <= 4
    assert len({r.id_number for r in residents}) == 300


def test_generation_is_deterministic_per_seed_and_city() -> None:
    assert generate(JINING, 50, 1) == generate(JINING, 50, 1)
    assert generate(JINING, 50, 1) != generate(JINING, 50, 2)
    assert generate(JINING, 50, "a") == generate(JINING, 50, "a")
    ids = {r.id_number for r in generate(JINING, 50, 1)}
    assert not ids & {r.id_number for r in generate("371300", 50, 1)}
    # A prefix of a longer run is the shorter run: adding residents does not reshuffle.
    assert generate(JINING, 100, 3)[:40] == generate(JINING, 40, 3)


def test_generation_uses_retired_codes_for_older_residents() -> None:
    residents = generate(JINING, 2000, seed=11)
    old = [r for r in residents if r.id_number[:6] in RETIRED]
    assert old, "some 兖州/济宁市中区 residents born before 2013 keep their old code"
    for r in old:
        retired = RETIRED[r.id_number[:6]]
        assert r.region == retired.successor
        assert int(r.id_number[6:10]) < retired.year


def test_generate_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="成员市"):
        generate("370100", 1, 1)
    with pytest.raises(ValueError, match="negative"):
        generate(JINING, -1, 1)
    assert generate(JINING, 0, 1) == []


# --- the file: round trip -------------------------------------------------------------------


def test_write_then_read(tmp_path: Path) -> None:
    residents = generate(JINING, 200, seed=3)
    path = tmp_path / "jining.csv"
    write_csv(path, residents)
    raw = path.read_bytes()
    assert raw.startswith(HEADER_LINE.encode("utf-8") + b"\r\n")  # UTF-8, no BOM
    assert read_csv(path, JINING, today=TODAY) == residents
    assert read_csv(str(path), JINING, today=TODAY) == residents


@settings(max_examples=25)
@given(st.sampled_from(list(CITIES)), st.integers(0, 40), st.integers(0, 2**32))
def test_round_trip_property(city: str, count: int, seed: int) -> None:
    residents = generate(city, count, seed)
    lines = [HEADER_LINE] + [f"{r.id_number},{r.name},{r.region}" for r in residents]
    assert parse_csv("\n".join(lines).encode(), city, today=TODAY) == residents


def test_bom_lowercase_x_whitespace_and_blank_lines_accepted() -> None:
    data = (
        "\ufeff" + HEADER_LINE + "\r\n"
        " 11010519491231002x , 张三 ,370881\r\n"
        "\r\n"
        f"{_id('370882', 1990, 5)},李四,370812\r\n"
        '"440524188001010014","欧阳 修",370883\r\n'
    ).encode()
    assert parse_csv(data, JINING, today=TODAY) == [
        Resident("11010519491231002X", "张三", "370881"),
        Resident(_id("370882", 1990, 5), "李四", "370812"),
        Resident("440524188001010014", "欧阳 修", "370883"),
    ]


def test_header_only_file_is_an_empty_registry() -> None:
    assert parse_csv((HEADER_LINE + "\n").encode(), JINING) == []


# --- the file: every bad row, nothing partial ------------------------------------------------


def _errors(data: str | bytes, city: str = JINING) -> tuple[RowError, ...]:
    raw = data.encode() if isinstance(data, str) else data
    with pytest.raises(ResidentFileError) as info:
        parse_csv(raw, city, today=TODAY)
    return info.value.errors


def test_every_bad_row_is_listed() -> None:
    good = _id()
    rows = [
        HEADER_LINE,
        f"{good},张三,370881",  # 2: fine
        "11010519491231002,李四,370881",  # 3: ID too short
        "110105194912310021,王五,370881",  # 4: wrong check digit
        f"{_id(sequence=2)},,370881",  # 5: empty name
        f"{_id(sequence=3)},{'名' * 21},370881",  # 6: name too long
        f"{_id(sequence=4)},赵六,37088",  # 7: region not 6 digits
        f"{_id(sequence=5)},钱七,371302",  # 8: region in 临沂, not 济宁
        f"{good.lower()},孙八,370883",  # 9: duplicate of row 2 (case does not matter)
        "1,2",  # 10: two columns
        ",周九,",  # 11: empty ID and region
        "1101051949123100AX,吴十,370881",  # 12: bad character
        f"{_id(sequence=6)},郑一,370800",  # 13: the city's own code
        "110105194902300027,冯二,370881",  # 14: 30 February
    ]
    errors = _errors("\n".join(rows) + "\n")
    found = [(e.row, e.column) for e in errors]
    assert found == [
        (3, "身份证号"),
        (4, "身份证号"),
        (5, "姓名"),
        (6, "姓名"),
        (7, "户籍地区划代码"),
        (8, "户籍地区划代码"),
        (9, "身份证号"),
        (10, ""),
        (11, "身份证号"),
        (11, "户籍地区划代码"),
        (12, "身份证号"),
        (13, "户籍地区划代码"),
        (14, "身份证号"),
    ]
    by_row = {e.row: e.problem for e in errors}
    assert "18位" in by_row[3]
    assert "应为“X”" in by_row[4]
    assert "姓名为空" in by_row[5]
    assert "20" in by_row[6]
    assert "6位数字" in by_row[7]
    assert "不在济宁市" in by_row[8]
    assert "第2行重复" in by_row[9]
    assert "3列" in by_row[10]
    assert "第17位" in by_row[12]
    assert "市级代码" in by_row[13]
    assert "没有30日" in by_row[14]


def test_control_character_in_a_name() -> None:
    data = f'{HEADER_LINE}\n{_id()},"陈\n三",370881\n'
    [e] = _errors(data)
    assert (e.row, e.column) == (2, "姓名")
    assert "控制字符" in e.problem


def test_the_message_lists_every_error_and_no_personal_data() -> None:
    number = _id()
    data = f"{HEADER_LINE}\n{number[:17]}0,张三丰,371302\n{number[:17]}1,李四,370881\n"
    with pytest.raises(ResidentFileError) as info:
        parse_csv(data.encode(), JINING, today=TODAY)
    message = str(info.value)
    assert message.startswith("居民文件有3处错误，未导入任何内容")
    for e in info.value.errors:
        assert str(e) in message
    assert number[:17] not in message and "张三丰" not in message


@pytest.mark.parametrize(
    "header",
    [
        "身份证号,姓名",
        "姓名,身份证号,户籍地区划代码",
        "身份证号 ,姓名,户籍地区划代码",
        "id,name,region",
    ],
)
def test_header_must_be_exact(header: str) -> None:
    errors = _errors(f"{header}\n{_id()},张三,370881\n")
    assert errors[0].row == 1
    assert "表头应为" in errors[0].problem and ",".join(HEADER) in errors[0].problem


def test_bad_header_and_bad_rows_are_reported_together() -> None:
    errors = _errors(f"a,b,c\n{_id()},,370881\n")
    assert [(e.row, e.column) for e in errors] == [(1, ""), (2, "姓名")]


def test_empty_file() -> None:
    [e] = _errors(b"")
    assert (e.row, e.column) == (1, "")
    assert "缺少表头" in e.problem


def test_not_utf8() -> None:
    data = (HEADER_LINE + "\n" + f"{_id()},张三,370881\n").encode("gbk")
    [e] = _errors(data)
    assert e.row == 1 and "UTF-8" in e.problem


def test_not_utf8_later_line() -> None:
    data = (HEADER_LINE + "\n").encode() + f"{_id()},张三,370881\n".encode("gbk")
    [e] = _errors(data)
    assert e.row == 2


def test_unknown_city_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="成员市"):
        parse_csv(HEADER_LINE.encode(), "110100")


def test_read_csv_raises_the_same(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(f"{HEADER_LINE}\n{_id()},张三,371302\n", encoding="utf-8")
    with pytest.raises(ResidentFileError) as info:
        read_csv(path, JINING, today=TODAY)
    assert [(e.row, e.column) for e in info.value.errors] == [(2, "户籍地区划代码")]


def test_row_error_text() -> None:
    assert str(RowError(3, "姓名", "姓名为空 the name is empty")) == (
        "第3行 row 3 【姓名】: 姓名为空 the name is empty"
    )
    assert str(RowError(4, "", "x")) == "第4行 row 4: x"
