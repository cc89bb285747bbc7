"""The indicator events as the projection engine folds them: owner rule, chair rule, decimals,
one alliance figure set per year across a chair handover, and rebuilds that change nothing."""

from __future__ import annotations

from datetime import date

import pytest
from factories import CHAIR, actor
from indicators.harness import Cities
from sqlalchemy import select

from lunan.events.core import Acceptance, Handover
from lunan.events.registry import Rejected
from lunan.events.tables import p_events
from lunan.indicators.events import Figure, Figures, canonical_decimal

ZAOZHUANG, JINING = "370400", "370800"


def gdp(value: str, growth: str | None = None) -> Figures:
    return Figures(figures={"gdp": Figure(value=value, growth=growth, source="示例数据")})


def append(cities: Cities, city: str, type_name: str, object_id: str, body: Figures) -> int:
    return cities.h.writers[city].append(type_name, object_id, body, actor(city)).idx


def test_a_city_publishes_and_revises_its_own_figures(cities: Cities) -> None:
    append(cities, ZAOZHUANG, "ind.figures.published", "indicators/370400/2020", gdp("1733.2"))
    append(cities, ZAOZHUANG, "ind.figures.revised", "indicators/370400/2020", gdp("1733", "3.5"))

    [s] = cities.sets()
    assert (s.id, s.city, s.city_name, s.year, s.version) == (
        "indicators/370400/2020",
        ZAOZHUANG,
        "枣庄",
        2020,
        2,
    )
    assert [(f.indicator, f.value, f.growth) for f in s.figures] == [("gdp", "1733", "3.5")]
    assert s.revised_time is not None


def test_another_city_cannot_change_a_citys_figures(cities: Cities) -> None:
    append(cities, ZAOZHUANG, "ind.figures.published", "indicators/370400/2020", gdp("1"))
    with pytest.raises(Rejected) as refused:
        append(cities, JINING, "ind.figures.revised", "indicators/370400/2020", gdp("2"))
    assert refused.value.reason == "not-owner"
    with pytest.raises(Rejected) as created:
        append(cities, JINING, "ind.figures.published", "indicators/370400/2021", gdp("2"))
    assert created.value.reason == "not-owner"
    assert [f.value for s in cities.sets() for f in s.figures] == ["1"]


def test_only_the_chair_publishes_the_alliances_figures(cities: Cities) -> None:
    with pytest.raises(Rejected) as refused:
        append(
            cities, ZAOZHUANG, "ind.alliance.published", "alliance-figures/370400/2020", gdp("1")
        )
    assert refused.value.reason == "not-chair"
    append(cities, CHAIR, "ind.alliance.published", "alliance-figures/371300/2020", gdp("14515.9"))
    assert [s.id for s in cities.sets("alliance")] == ["alliance-figures/371300/2020"]
    assert cities.sets("alliance")[0].city is None


def test_an_object_id_must_name_a_year(cities: Cities) -> None:
    with pytest.raises(Rejected) as refused:
        append(cities, ZAOZHUANG, "ind.figures.published", "indicators/370400/20", gdp("1"))
    assert refused.value.reason == "invalid-object"
    q = select(p_events.c.status).where(p_events.c.object == "indicators/370400/20")
    with cities.engine.connect() as conn:
        assert conn.execute(q).scalar() == "rejected"


def test_after_a_handover_the_new_chair_revises_the_alliances_year_not_a_second_one(
    cities: Cities,
) -> None:
    append(cities, CHAIR, "ind.alliance.published", "alliance-figures/371300/2020", gdp("1"))
    handover = cities.h.writers[CHAIR].append(
        "alliance.chair.handover",
        "handover/371300/1",
        Handover(to=ZAOZHUANG, term_start=date(2022, 1, 1), term_end=date(2022, 12, 31)),
        actor(CHAIR),
    )
    cities.h.writers[ZAOZHUANG].append(
        "alliance.chair.accepted",
        "acceptance/370400/1",
        Acceptance(handover="handover/371300/1"),
        actor(ZAOZHUANG),
        deps=[(CHAIR, handover.idx)],
    )
    with pytest.raises(Rejected) as second:
        append(
            cities, ZAOZHUANG, "ind.alliance.published", "alliance-figures/370400/2020", gdp("2")
        )
    assert second.value.reason == "exists"
    append(cities, ZAOZHUANG, "ind.alliance.revised", "alliance-figures/371300/2020", gdp("2"))
    with pytest.raises(Rejected) as old_chair:
        append(cities, CHAIR, "ind.alliance.revised", "alliance-figures/371300/2020", gdp("3"))
    assert old_chair.value.reason == "not-chair"
    [s] = cities.sets("alliance")
    assert [f.value for f in s.figures] == ["2"]


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("14515.9", "14515.9"),
        ("014515.90", "14515.9"),
        ("100", "100"),
        ("-0.0", "0"),
        ("+3.60", "3.6"),
        ("0.000001", "0.000001"),
    ],
)
def test_decimals_are_kept_in_one_canonical_text(text: str, canonical: str) -> None:
    assert canonical_decimal(text) == canonical


@pytest.mark.parametrize(
    "text", ["1e5", "14,515.9", "3.6%", "", ".5", "NaN", "１２", "1.0000001", "1234567890123456"]
)
def test_anything_but_a_plain_decimal_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        canonical_decimal(text)


def test_a_body_with_a_bad_number_never_reaches_the_log(cities: Cities) -> None:
    before = cities.sizes()
    with pytest.raises(Rejected) as refused:
        cities.h.writers[ZAOZHUANG].append(
            "ind.figures.published",
            "indicators/370400/2020",
            {"figures": {"gdp": {"value": "1,733.2"}}},
            actor(ZAOZHUANG),
        )
    assert refused.value.reason == "invalid-body" and "figures.gdp.value" in refused.value.detail
    assert cities.sizes() == before


def test_growth_must_be_above_minus_100_and_values_not_negative() -> None:
    with pytest.raises(ValueError, match="growth"):
        Figure(growth="-100")
    with pytest.raises(ValueError, match="negative"):
        Figure(value="-1")
    assert Figure(growth="-99.9", value="0").growth == "-99.9"


def test_a_rebuild_gives_the_same_state(cities: Cities) -> None:
    append(cities, ZAOZHUANG, "ind.figures.published", "indicators/370400/2020", gdp("1", "2"))
    append(cities, CHAIR, "ind.alliance.published", "alliance-figures/371300/2020", gdp("3"))
    append(cities, ZAOZHUANG, "ind.figures.revised", "indicators/370400/2020", gdp("1.5"))
    before = cities.h.projector.dump()
    cities.h.projector.rebuild()
    assert cities.h.projector.dump() == before
