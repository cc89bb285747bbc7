"""Fixtures of the task-ledger tests: the four cities with each city's node parts, a pinned
clock for the events' times, and (for the API) an app per city with a user and its token."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from factories import COOP_TODAY, CoopLedger, coop_ledger
from fastapi.testclient import TestClient

from lunan.auth import tokens, users
from lunan.web.app import create_app


@pytest.fixture
def ledger(tmp_path: Path, database_url: str) -> Iterator[CoopLedger]:
    with coop_ledger(tmp_path, database_url) as led:
        yield led


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], None]:
    """`clock("2026-03-01")`: events written from now on carry that day (10:00 in Shanghai).
    Every test starts on COOP_TODAY, so that what it computes does not depend on the date."""

    def set_day(day: str) -> None:
        monkeypatch.setattr("lunan.events.writer.now_shanghai", lambda: f"{day}T10:00:00.000+08:00")

    set_day(COOP_TODAY.isoformat())
    return set_day


Client = Callable[[str, str], TestClient]


@pytest.fixture
def client_for(ledger: CoopLedger, cheap_hasher: None) -> Iterator[Client]:
    """`client_for(city, role)`: a TestClient of `city`'s node, signed in by API token as a
    user of that role and city; `client_for(city, "coordinator@371700")` signs in a user of
    another city (371700) on `city`'s node."""
    opened: list[TestClient] = []

    def make(city: str, role: str) -> TestClient:
        role, _, user_city = role.partition("@")
        user_city = user_city or city
        app = create_app(ledger.directory)
        # create_app folded its node's own log only: give it the four-city projection and
        # the parts of the city it plays.
        ledger.h.projector.rebuild()
        app.state.parts = ledger.parts[city]
        name = f"{role}-{user_city}-{len(opened)}"
        users.add_user(ledger.engine, user_city, name, role, password="pw-" + "x" * 12)
        token = tokens.create_token(ledger.engine, name)
        client = TestClient(app, headers={"Authorization": f"Bearer {token}"})
        client.__enter__()
        opened.append(client)
        return client

    yield make
    for client in opened:
        client.__exit__(None, None, None)
