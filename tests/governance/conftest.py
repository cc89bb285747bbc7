"""Fixtures of the governance tests: the four cities with node parts and an alliance file
(临沂 chairs until tomorrow, 枣庄 next), and an app per city for the API."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from argon2.profiles import CHEAPEST
from factories import CHAIR, CITIES, Gov, four_cities, node_parts
from fastapi.testclient import TestClient

from lunan.auth import passwords, tokens, users
from lunan.clock import SHANGHAI
from lunan.web.app import create_app

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
def cheap_hasher(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(passwords, "HASHER", PasswordHasher.from_parameters(CHEAPEST))


Client = Callable[..., TestClient]


@pytest.fixture
def client_for(gov: Gov, cheap_hasher: None) -> Iterator[Client]:
    """`client_for(city, role="coordinator", user_city=city)`: a TestClient of `city`'s node
    with an API token of a user of that role and city (another city: acting for it)."""
    apps = {city: create_app(gov.directory, log=gov.h.logs[city]) for city in CITIES}
    # create_app folded its own log only; give every app the four-city projection.
    gov.h.projector.rebuild()
    opened: list[TestClient] = []

    def make(city: str, role: str = "coordinator", user_city: str | None = None) -> TestClient:
        apps[city].state.parts = gov.parts[city]
        name = f"{role}-{user_city or city}-{len(opened)}"
        users.add_user(gov.h.engine, user_city or city, name, role, password="pw-" + "x" * 12)
        token = tokens.create_token(gov.h.engine, name)
        client = TestClient(apps[city], headers={"Authorization": f"Bearer {token}"})
        opened.append(client)
        return client

    yield make
    for client in opened:
        client.close()
