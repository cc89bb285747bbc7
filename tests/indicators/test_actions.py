"""The writes: who may publish what, and what a refusal leaves behind (nothing)."""

from __future__ import annotations

import pytest
from factories import CHAIR, user_of
from indicators.harness import Cities

from lunan.events.errors import Conflict, Forbidden, Invalid, NotFound
from lunan.indicators import actions
from lunan.indicators.events import Figure, Figures

ZAOZHUANG = "370400"


def figures(**by_key: Figure) -> Figures:
    return Figures(figures=by_key)


GDP = figures(gdp=Figure(value="1733.2", growth="3.5", source="示例数据"))


def test_a_coordinator_or_officer_publishes_their_own_citys_year(cities: Cities) -> None:
    parts = cities.parts[ZAOZHUANG]
    object_id = actions.publish_figures(parts, user_of(ZAOZHUANG), 2020, GDP)
    assert object_id == "indicators/370400/2020"
    actions.publish_figures(parts, user_of(ZAOZHUANG, "officer"), 2021, GDP, city=ZAOZHUANG)
    assert [(s.id, s.figures[0].value) for s in cities.sets()] == [
        ("indicators/370400/2020", "1733.2"),
        ("indicators/370400/2021", "1733.2"),
    ]


@pytest.mark.parametrize(
    ("user_city", "role", "city"),
    [
        (ZAOZHUANG, "coordinator", CHAIR),  # for another city
        (CHAIR, "coordinator", None),  # a user of another city on 枣庄's node
        (ZAOZHUANG, "viewer", None),
        (ZAOZHUANG, "auditor", None),
    ],
)
def test_a_wrong_city_or_role_is_forbidden_and_nothing_is_stored(
    cities: Cities, user_city: str, role: str, city: str | None
) -> None:
    before = cities.sizes()
    with pytest.raises(Forbidden):
        actions.publish_figures(cities.parts[ZAOZHUANG], user_of(user_city, role), 2020, GDP, city)
    assert cities.sizes() == before
    assert cities.sets() == []


def test_publishing_a_year_twice_is_a_conflict_revising_replaces(cities: Cities) -> None:
    parts, user = cities.parts[ZAOZHUANG], user_of(ZAOZHUANG)
    actions.publish_figures(parts, user, 2020, GDP)
    with pytest.raises(Conflict):
        actions.publish_figures(parts, user, 2020, GDP)
    trade = figures(trade=Figure(growth="25.1"))
    assert actions.revise_figures(parts, user, ZAOZHUANG, 2020, trade) == (
        "indicators/370400/2020",
        True,
    )
    [s] = cities.sets()
    assert [(f.indicator, f.value, f.growth) for f in s.figures] == [("trade", None, "25.1")]


def test_a_revision_that_changes_nothing_writes_nothing(cities: Cities) -> None:
    parts, user = cities.parts[ZAOZHUANG], user_of(ZAOZHUANG)
    actions.publish_figures(parts, user, 2020, GDP)
    before = cities.sizes()
    assert actions.revise_figures(parts, user, ZAOZHUANG, 2020, GDP)[1] is False
    assert cities.sizes() == before


def test_revising_an_unpublished_year_or_another_citys_is_refused(cities: Cities) -> None:
    parts, user = cities.parts[ZAOZHUANG], user_of(ZAOZHUANG)
    with pytest.raises(NotFound):
        actions.revise_figures(parts, user, ZAOZHUANG, 2020, GDP)
    with pytest.raises(Forbidden):
        actions.revise_figures(parts, user, CHAIR, 2020, GDP)


def test_an_unknown_indicator_or_year_is_invalid_naming_the_field(cities: Cities) -> None:
    parts, user = cities.parts[ZAOZHUANG], user_of(ZAOZHUANG)
    with pytest.raises(Invalid) as unknown:
        actions.publish_figures(parts, user, 2020, figures(gpd=Figure(value="1")))
    assert unknown.value.field == "figures.gpd"
    with pytest.raises(Invalid) as year:
        actions.publish_figures(parts, user, 1900, GDP)
    assert year.value.field == "year"
    assert cities.sets() == []


def test_empty_figures_are_not_stored(cities: Cities) -> None:
    parts, user = cities.parts[ZAOZHUANG], user_of(ZAOZHUANG)
    actions.publish_figures(parts, user, 2020, figures(gdp=Figure(), trade=Figure(rank="第1")))
    [s] = cities.sets()
    assert [f.indicator for f in s.figures] == ["trade"]


def test_only_the_chair_puts_the_alliances_figures(cities: Cities) -> None:
    with pytest.raises(Forbidden):
        actions.put_alliance_figures(cities.parts[ZAOZHUANG], user_of(ZAOZHUANG), 2020, GDP)
    parts, chair = cities.parts[CHAIR], user_of(CHAIR)
    first = figures(gdp=Figure(value="14515.9", growth="3.6"))
    assert actions.put_alliance_figures(parts, chair, 2020, first) == (
        "alliance-figures/371300/2020",
        "published",
    )
    assert actions.put_alliance_figures(parts, chair, 2020, first)[1] == "unchanged"
    assert actions.put_alliance_figures(parts, chair, 2020, GDP)[1] == "revised"
    with pytest.raises(Forbidden):
        actions.put_alliance_figures(parts, user_of(CHAIR, "viewer"), 2020, GDP)
    assert [s.figures[0].value for s in cities.sets("alliance")] == ["1733.2"]
