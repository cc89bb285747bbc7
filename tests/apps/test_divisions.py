"""GB/T 2260 lookups for the four member cities."""

from __future__ import annotations

import csv
from importlib import resources
from pathlib import Path

import pytest

from lunan.apps.divisions import (
    CITIES,
    HEZE,
    JINING,
    LINYI,
    RETIRED,
    ZAOZHUANG,
    city_name,
    city_of,
    counties,
    county_name,
    division,
    is_county_code,
)

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "divisions"


def test_the_four_cities() -> None:
    assert CITIES == {LINYI: "临沂市", ZAOZHUANG: "枣庄市", JINING: "济宁市", HEZE: "菏泽市"}
    assert (LINYI, ZAOZHUANG, JINING, HEZE) == ("371300", "370400", "370800", "371700")


@pytest.mark.parametrize(
    ("code", "city"),
    [
        ("370881", JINING),  # 曲阜市
        ("370883", JINING),  # 邹城市
        ("370882", JINING),  # 兖州市, retired 2013: still placed by prefix
        ("370802", JINING),  # 济宁市中区, retired 2013
        ("370871", JINING),  # NBS-only development zone
        ("371727", HEZE),  # 定陶县, retired 2016
        ("370405", ZAOZHUANG),  # 台儿庄区
        ("370402", ZAOZHUANG),  # 枣庄市中区 (same name as Jining's old one, other code)
        ("371302", LINYI),
        ("371399", LINYI),  # unknown code inside Linyi: placed, never rejected
        ("370800", JINING),  # a city's own code
    ],
)
def test_city_of(code: str, city: str) -> None:
    assert city_of(code) == city


@pytest.mark.parametrize(
    "code", ["370102", "370000", "110105", "3708", "3708811", "37088x", "３７０８８１", ""]
)
def test_city_of_outside_or_malformed(code: str) -> None:
    assert city_of(code) is None


def test_city_name() -> None:
    assert city_name("370881") == "济宁市"
    assert city_name("371727") == "菏泽市"
    assert city_name("370102") is None


def test_county_names_current_and_retired() -> None:
    assert county_name("370881") == "曲阜市"
    assert county_name("370405") == "台儿庄区"
    assert county_name("370882") == "兖州市"
    assert county_name("371727") == "定陶县"
    assert county_name("370802") == "市中区"
    assert county_name("370800") is None  # a city, not a county
    assert county_name("370102") is None


def test_retired_codes_have_current_successors() -> None:
    for r in RETIRED.values():
        assert city_of(r.code) == city_of(r.successor)
        successor = division(r.successor)
        assert successor is not None and successor.in_gbt2260
        assert division(r.code) is None


def test_counties_per_city_match_the_reference_table() -> None:
    # governance-ux.md §5, "GB/T 2260 codes for the four cities".
    expected = {
        LINYI: "兰山区 罗庄区 河东区 沂南县 郯城县 沂水县 兰陵县 费县 平邑县 莒南县 蒙阴县 临沭县",
        ZAOZHUANG: "市中区 薛城区 峄城区 台儿庄区 山亭区 滕州市",
        JINING: "任城区 兖州区 微山县 鱼台县 金乡县 嘉祥县 汶上县 泗水县 梁山县 曲阜市 邹城市",
        HEZE: "牡丹区 定陶区 曹县 单县 成武县 巨野县 郓城县 鄄城县 东明县",
    }
    for city, names in expected.items():
        found = counties(city)
        assert [d.name for d in found] == names.split()
        assert all(d.city == city and d.level == "county" and d.in_gbt2260 for d in found)
        assert all(is_county_code(d.code) for d in found)


def test_development_zones_only_on_request() -> None:
    zones = {d.code for d in counties(JINING, gbt2260_only=False)} - {
        d.code for d in counties(JINING)
    }
    assert zones == {"370871"}
    all_zones = {
        d.code for city in CITIES for d in counties(city, gbt2260_only=False) if not d.in_gbt2260
    }
    assert all_zones == {"371371", "370871", "371771", "371772"}


def test_counties_of_a_non_member() -> None:
    with pytest.raises(ValueError, match="成员市"):
        counties("370100")


def test_division_rows() -> None:
    d = division("370800")
    assert d is not None and (d.name, d.level, d.city) == ("济宁市", "city", "370800")
    assert division("370000") is None  # the province is not a member


def test_is_county_code() -> None:
    assert is_county_code("370881")
    assert not is_county_code("370800")
    assert not is_county_code("37088")


def test_package_data_is_the_shared_file() -> None:
    packaged = resources.files("lunan.apps").joinpath("data", "shandong-4cities-divisions.csv")
    shared = SHARED / "shandong-4cities-divisions.csv"
    if not shared.exists():
        pytest.skip("the shared data directory is not beside this checkout")
    assert packaged.read_bytes() == shared.read_bytes()


def test_package_data_is_consistent_with_the_national_list() -> None:
    areas = SHARED / "cn-divisions-areas.csv"
    if not areas.exists():
        pytest.skip("the shared data directory is not beside this checkout")
    with areas.open(encoding="utf-8") as f:
        national = {row["code"]: row["name"] for row in csv.DictReader(f)}
    for city in CITIES:
        for d in counties(city, gbt2260_only=False):
            assert national[d.code] == d.name
