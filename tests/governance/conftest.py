"""Fixtures of the governance tests: the four cities with node parts and an alliance file
(临沂 chairs until tomorrow, 枣庄 next), and an app per city for the API."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from factories import CHAIR, CITIES, Client, Gov, api_clients, four_cities, node_parts

from lunan.clock import SHANGHAI

ZAOZHUANG = "370400"


@pytest.fixture
def gov(tmp_path: Path, database_url: str) -> Iterator[Gov]:
    with four_cities(tmp_path, database_url) as h:
        gov = Gov(h, tmp_path, {c: node_parts(h, tmp_path, c) for c in CITIES})
        today = dt.datetime.now(SHANGHAI).date()  # the actions' calendar
        # 临沂 chairs now (its term ends tomorrow), 枣庄 next: tests hand over `early`.
        gov.set_terms(
            [
                (CHAIR, today - dt.timedelta(days=30), today + dt.timedelta(days=1)),
                (ZAOZHUANG, today + dt.timedelta(days=2), today + dt.timedelta(days=400)),
            ]
        )
        yield gov


@pytest.fixture
def client_for(gov: Gov, cheap_hasher: None) -> Iterator[Client]:
    """`client_for(city, role="coordinator", user_city=city)`: a TestClient of `city`'s node
    with an API token of a user of that role and city (another city: acting for it)."""
    with api_clients(gov) as make:
        yield make
