"""Alliance totals, computed when asked, from what the cities published and nothing else."""

from __future__ import annotations

from factories import CHAIR, CITIES, user_of
from indicators.harness import Cities

from lunan.indicators import actions, queries
from lunan.indicators.events import Figure, Figures

# (value, growth) per city, chosen so that the previous year's values are 100, 200, 100, 100:
# the sum 505 grew from 500, by exactly 1 %.
GDP = {
    "371300": ("110", "10"),
    "370400": ("200", "0"),
    "370800": ("105", "5"),
    "371700": ("90", "-10"),
}


def publish(cities: Cities, city: str, **by_key: Figure) -> None:
    actions.publish_figures(cities.parts[city], user_of(city), 2020, Figures(figures=by_key))


def gdp_total(cities: Cities) -> queries.IndicatorTotal:
    [year] = cities.totals(2020)
    [total] = [t for t in year.indicators if t.indicator == "gdp"]
    return total


def test_every_member_published_sum_and_growth_of_the_sum(cities: Cities) -> None:
    for city, (value, growth) in GDP.items():
        publish(cities, city, gdp=Figure(value=value, growth=growth))
    total = gdp_total(cities)
    assert (total.sum, total.growth, total.missing, total.explanation) == ("505", "1", [], "")
    assert total.reported == sorted(CITIES)


def test_a_missing_city_leaves_the_sum_empty_and_is_named(cities: Cities) -> None:
    for city, (value, growth) in GDP.items():
        if city != "371700":
            publish(cities, city, gdp=Figure(value=value, growth=growth))
    actions.put_alliance_figures(
        cities.parts[CHAIR],
        user_of(CHAIR),
        2020,
        Figures(figures={"gdp": Figure(value="14515.9", growth="3.6", rank="第二位")}),
    )
    total = gdp_total(cities)
    assert (total.sum, total.growth, total.missing) == (None, None, ["371700"])
    assert "菏泽" in total.explanation and "371700" in total.explanation
    assert total.published is not None
    assert (total.published.value, total.published.growth, total.published.rank) == (
        "14515.9",
        "3.6",
        "第二位",
    )
    [year] = cities.totals(2020)
    assert year.alliance_set == "alliance-figures/371300/2020"


def test_a_missing_growth_keeps_the_sum_but_no_growth(cities: Cities) -> None:
    for city, (value, growth) in GDP.items():
        publish(cities, city, gdp=Figure(value=value, growth=None if city == CHAIR else growth))
    total = gdp_total(cities)
    assert (total.sum, total.growth, total.missing_growth) == ("505", None, [CHAIR])
    assert "临沂" in total.explanation


def test_per_capita_figures_are_never_summed(cities: Cities) -> None:
    for city in CITIES:
        publish(cities, city, urban_income=Figure(value="40000", growth="3"))
    [year] = cities.totals(2020)
    [income] = [t for t in year.indicators if t.indicator == "urban_income"]
    assert (income.additive, income.sum, income.growth, income.missing) == (False, None, None, [])
    assert "人均" in income.explanation


def test_growth_is_rounded_to_two_places(cities: Cities) -> None:
    for city in CITIES:
        growth = "3.333" if city == CHAIR else "0"
        publish(cities, city, gdp=Figure(value="100", growth=growth))
    total = gdp_total(cities)
    # previous year: 100/1.03333 + 300 = 396.774…; 400 / that - 1 = 0.8130…%
    assert total.growth == "0.81"


def test_totals_cover_every_year_with_figures_in_order(cities: Cities) -> None:
    assert cities.totals() == []
    for year in (2021, 2020):
        actions.publish_figures(
            cities.parts[CHAIR], user_of(CHAIR), year, Figures(figures={"gdp": Figure(value="1")})
        )
    assert [t.year for t in cities.totals()] == [2020, 2021]
    assert cities.totals(2019)[0].indicators[0].missing == sorted(CITIES)
