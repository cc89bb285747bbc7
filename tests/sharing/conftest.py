"""Fixtures of the data-sharing tests: the four cities with node parts, a pinned clock (the
events' times and the actions' "today"), and an app per city for the API."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest
from factories import (
    SHARING_TODAY,
    Client,
    Clock,
    SharingCities,
    api_clients,
    sharing_cities,
    sharing_clock,
)

from lunan.events.errors import ActionError

ZAOZHUANG, JINING, HEZE = "370400", "370800", "371700"


@pytest.fixture
def sc(tmp_path: Path, database_url: str) -> Iterator[SharingCities]:
    with sharing_cities(tmp_path, database_url) as s:
        yield s


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """`clock(day)`: from now on events are written on that day (10:00 in Shanghai) and the
    actions and queries take it as today. Every test starts on SHARING_TODAY (a Monday)."""
    return sharing_clock(monkeypatch, SHARING_TODAY)


@pytest.fixture
def client_for(sc: SharingCities, cheap_hasher: None) -> Iterator[Client]:
    """`client_for(city, role="coordinator", user_city=city)`: a TestClient of `city`'s node
    with an API token of a user of that role and city (another city: acting for it)."""
    with api_clients(sc) as make:
        yield make


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
