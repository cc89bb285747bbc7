"""The tourism 同城化 registry against the source's facts (FACTS.md)."""

from __future__ import annotations

import dataclasses
import re

import pytest

from lunan.apps.divisions import CITIES, HEZE, JINING, LINYI, ZAOZHUANG, city_of, county_name
from lunan.apps.tourism.registry import (
    AREAS,
    ATTRACTIONS,
    FACT_AREAS,
    ROUTES,
    SAMPLE_NOTE,
    UnknownCode,
    area,
    attraction,
    attractions_in,
    is_local,
    quote,
    registry_problems,
    route,
)


def test_counts_are_the_sources() -> None:
    assert len(AREAS) == 17
    assert len(ATTRACTIONS) == 67
    assert len(ROUTES) == 6


def test_registry_has_no_problems() -> None:
    assert registry_problems() == []


def test_codes_are_unique_and_well_formed() -> None:
    for codes, pattern in (
        ([a.code for a in AREAS], r"(371300|370400|370800|371700)-S\d\d"),
        ([a.code for a in ATTRACTIONS], r"(371300|370400|370800|371700)-A\d\d"),
        ([r.code for r in ROUTES], r"R\d\d"),
    ):
        assert len(set(codes)) == len(codes)
        assert all(re.fullmatch(pattern, c) for c in codes)
    assert all(a.code.startswith(a.city) for a in AREAS)
    assert all(a.code.startswith(a.city) for a in ATTRACTIONS)


def test_codes_are_stable() -> None:
    # Codes are handed out to gates and printed on tickets: changing one is a breaking change.
    assert attraction("370800-A01").name == "孔庙"
    assert attraction("370400-A01").name == "台儿庄古城"
    assert attraction("371700-A05").name == "冀鲁豫边区革命纪念馆"
    assert area("371300-S01").name == "沂蒙革命老区"


def test_every_attraction_is_in_a_member_city_and_county() -> None:
    for a in ATTRACTIONS:
        assert a.city in CITIES
        assert city_of(a.county) == a.city
        assert county_name(a.county) is not None  # a real county code
        assert area(a.area).city == a.city


def test_every_area_has_attractions() -> None:
    assert {a.area for a in ATTRACTIONS} == {a.code for a in AREAS}
    assert all(attractions_in(c) for c in CITIES)
    assert sum(len(attractions_in(c)) for c in CITIES) == 67


def test_prices_are_whole_yuan_and_local_not_above_full() -> None:
    for a in ATTRACTIONS:
        assert type(a.full_price) is int and type(a.local_price) is int
        assert 0 <= a.local_price <= a.full_price


@pytest.mark.parametrize(
    ("name", "city"),
    [
        ("三孔", JINING),
        ("两孟", JINING),
        ("台儿庄古城", ZAOZHUANG),
        ("黄河故道", HEZE),
        ("沂蒙革命老区", LINYI),
        ("冀鲁豫边区革命纪念馆", HEZE),
    ],
)
def test_the_sources_names_are_in_the_right_cities(name: str, city: str) -> None:
    assert FACT_AREAS[name] == city
    [found] = [a for a in AREAS if a.name == name]
    assert found.city == city
    assert not found.sample


def test_red_and_culture_as_the_source_groups_them() -> None:
    by_name = {a.name: a for a in AREAS}
    assert by_name["沂蒙革命老区"].is_red and by_name["冀鲁豫边区革命纪念馆"].is_red
    for name in ("三孔", "两孟", "台儿庄古城", "黄河故道"):
        assert not by_name[name].is_red


def test_county_placement_implied_by_the_names() -> None:
    placed = {(a.name, a.county) for a in ATTRACTIONS if not a.sample}
    assert placed == {
        ("孔庙", "370881"),
        ("孔府", "370881"),
        ("孔林", "370881"),  # 三孔, 曲阜
        ("孟庙", "370883"),
        ("孟府", "370883"),  # 两孟, 邹城
        ("台儿庄古城", "370405"),  # 台儿庄区
    }


def test_everything_invented_is_labelled() -> None:
    facts = set(FACT_AREAS)
    for a in AREAS:
        assert a.sample == (a.name not in facts)
        if a.sample:
            assert SAMPLE_NOTE in a.note
    for t in ATTRACTIONS:
        assert t.prices_sample  # the source gives no price at all
        assert "示例数据" in t.note
        if t.sample:
            assert t.note.startswith(SAMPLE_NOTE)
    for r in ROUTES:
        assert r.sample and SAMPLE_NOTE in r.note


def test_routes_are_red_and_visit_attractions() -> None:
    for r in ROUTES:
        stops = [attraction(s) for s in r.stops]
        assert len(stops) >= 2
        assert len(set(r.stops)) == len(r.stops)
        assert sum(s.is_red for s in stops) >= len(stops) / 2
    assert route("R06").name == "鲁南四市红色联游"
    assert {attraction(s).city for s in route("R06").stops} == set(CITIES)


def test_unknown_codes() -> None:
    for lookup in (attraction, area, route):
        with pytest.raises(UnknownCode, match=r"no .* has the code 'X'"):
            lookup("X")


@pytest.mark.parametrize("resident", ["371302", "370400", "370882", "371727", "370481"])
def test_members_pay_the_local_price(resident: str) -> None:
    # 同城化: a resident of any member city is a local at every attraction of the four.
    for a in ATTRACTIONS:
        q = quote(a.code, resident)
        assert (q.price, q.local) == (a.local_price, True)
        assert "同城化" in q.reason
    assert is_local(resident)


@pytest.mark.parametrize("resident", [None, "370102", "110105", "", "abc"])
def test_others_pay_the_full_price(resident: str | None) -> None:
    q = quote("370800-A01", resident)
    assert (q.price, q.local) == (90, False)
    assert "全价" in q.reason and "full price" in q.reason
    assert not is_local(resident)


def test_problems_are_found() -> None:
    bad_area = dataclasses.replace(AREAS[0], name="三孔X")
    bad = dataclasses.replace(ATTRACTIONS[0], local_price=ATTRACTIONS[0].full_price + 1)
    wrong_county = dataclasses.replace(ATTRACTIONS[1], county="370102")
    unlabelled = dataclasses.replace(ATTRACTIONS[3], note="")
    broken_route = dataclasses.replace(ROUTES[0], stops=("nowhere",))
    twin = dataclasses.replace(ATTRACTIONS[-1], name=ATTRACTIONS[4].name)
    problems = registry_problems(
        (bad_area, *AREAS[1:]),
        (bad, wrong_county, ATTRACTIONS[2], unlabelled, *ATTRACTIONS[4:-2], twin),
        (broken_route, *ROUTES[1:]),
    )
    text = "\n".join(problems)
    assert "景点应为67个，实为66个" in text
    assert "local price" in text
    assert "county not in the city" in text
    assert "sample without the note" in text
    assert "missing the source's 三孔" in text
    assert "stops not attractions" in text
    assert "duplicate attraction names" in text
