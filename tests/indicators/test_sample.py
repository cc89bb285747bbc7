"""The demo's indicators go in through each city's own API and keep FACTS.md exactly: the
alliance's 2020 figures as published by 大众日报, and no city value made up."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from factories import CITIES, separate_nodes

from lunan.sample import indicators as sample
from lunan.sample.api import DemoApi


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[DemoApi]:
    """Four separate nodes (not federated: this sample refers to no other city's objects),
    each called through its API with its coordinator's token, as the demo does."""
    with separate_nodes(tmp_path) as clients:
        yield DemoApi(clients, settle=lambda: None)


def figures(found: dict[str, Any]) -> dict[str, tuple[str | None, str | None, str, str]]:
    return {
        f["indicator"]: (f["value"], f["growth"], f["rank"], f["source"]) for f in found["figures"]
    }


def test_the_2020_figures_are_the_sources_exactly(demo: DemoApi) -> None:
    sample.seed(demo)
    [alliance] = demo.get(sample.CHAIR, "/api/v1/indicators/alliance", year=2020)
    assert alliance["id"] == "alliance-figures/371300/2020"
    first = "增速居三大经济圈首位"
    assert figures(alliance) == {
        "gdp": ("14515.9", "3.6", "增速居三大经济圈第二位", "大众日报"),
        "budget_revenue": (None, "3.3", first, "大众日报"),
        "trade": (None, "25.1", first, "大众日报"),
        "urban_income": (None, "3.7", first, "大众日报"),
        "rural_income": (None, "6.1", first, "大众日报"),
    }


def test_each_city_publishes_what_the_source_says_of_it_and_no_values(demo: DemoApi) -> None:
    sample.seed(demo)
    found = {city: demo.get(city, f"/api/v1/indicators/{city}/2020") for city in CITIES}
    for city, s in found.items():
        assert s["id"] == f"indicators/{city}/2020"
        assert all(f["value"] is None and f["growth"] is None for f in s["figures"]), city
    assert (
        found["371300"]["note"]
        == found["370800"]["note"]
        == "获2020年省对市经济社会发展综合考核一等奖"
    )
    assert figures(found["370400"]) == {"trade": (None, None, "增速居全省首位", "大众日报")}
    assert set(figures(found["371700"])) == {"gdp", "budget_revenue"}
    assert "连续5年" in found["371700"]["note"]
