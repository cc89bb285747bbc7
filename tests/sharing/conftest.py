"""Fixtures of the data-sharing tests: the four cities with node parts, a pinned clock (the
events' times and the actions' "today"), and an app per city for the API."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from argon2.profiles import CHEAPEST
from factories import CITIES, SHARING_TODAY, SharingCities, sharing_cities
from fastapi.testclient import TestClient

from lunan.auth import passwords, tokens, users
from lunan.events.errors import ActionError
from lunan.web.app import create_app

ZAOZHUANG, JINING, HEZE = "370400", "370800", "371700"


@pytest.fixture
def sc(tmp_path: Path, database_url: str) -> Iterator[SharingCities]:
    with sharing_cities(tmp_path, database_url) as s:
        yield s


Clock = Callable[[dt.date], None]


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """`clock(day)`: from now on events are written on that day (10:00 in Shanghai) and the
    actions and queries take it as today. Every test starts on SHARING_TODAY (a Monday)."""

    def set_day(day: dt.date) -> None:
        stamp = f"{day.isoformat()}T10:00:00.000+08:00"
        monkeypatch.setattr("lunan.events.writer.now_shanghai", lambda: stamp)
        monkeypatch.setattr("lunan.sharing.queries.today_shanghai", lambda: day)

    set_day(SHARING_TODAY)
    return set_day


@pytest.fixture
def cheap_hasher(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(passwords, "HASHER", PasswordHasher.from_parameters(CHEAPEST))


Client = Callable[..., TestClient]


@pytest.fixture
def client_for(sc: SharingCities, cheap_hasher: None) -> Iterator[Client]:
    """`client_for(city, role="coordinator", user_city=city)`: a TestClient of `city`'s node
    with an API token of a user of that role and city (another city: acting for it)."""
    apps = {city: create_app(sc.directory, log=sc.h.logs[city]) for city in CITIES}
    # create_app folded its own log only; give every app the four-city projection.
    sc.h.projector.rebuild()
    opened: list[TestClient] = []

    def make(city: str, role: str = "coordinator", user_city: str | None = None) -> TestClient:
        apps[city].state.parts = sc.parts[city]
        name = f"{role}-{user_city or city}-{len(opened)}"
        users.add_user(sc.h.engine, user_city or city, name, role, password="pw-" + "x" * 12)
        token = tokens.create_token(sc.h.engine, name)
        client = TestClient(apps[city], headers={"Authorization": f"Bearer {token}"})
        opened.append(client)
        return client

    yield make
    for client in opened:
        client.close()


Refuses = Callable[..., AbstractContextManager[None]]


@pytest.fixture
def refuses(sc: SharingCities) -> Refuses:
    """`with refuses(Invalid, field="quota", match="…"):` — the action raises that error,
    naming that field, and no log grew."""

    @contextmanager
    def check(
        error: type[ActionError], field: str | None = None, match: str | None = None
    ) -> Iterator[None]:
        before = sc.sizes()
        with pytest.raises(error, match=match) as raised:
            yield
        assert raised.value.field == field
        assert sc.sizes() == before

    return check
