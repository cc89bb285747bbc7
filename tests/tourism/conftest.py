"""Fixtures of the tourism gate's tests: the four cities in one database with node parts (the
gate's node-bound asking), and one node's API with users of several roles."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from argon2.profiles import CHEAPEST
from factories import SHARING_TODAY, SharingCities, make_node, sharing_cities
from fastapi.testclient import TestClient
from tourism.harness import USERS, Node, app_for

from lunan.auth import passwords, tokens, users


@pytest.fixture(autouse=True)
def cheap_hasher(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2id with its smallest parameters: these tests are about the gate."""
    monkeypatch.setattr(passwords, "HASHER", PasswordHasher.from_parameters(CHEAPEST))


@pytest.fixture
def sc(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[SharingCities]:
    """The four cities, their agreements dated from SHARING_TODAY, which is "today"."""
    stamp = f"{SHARING_TODAY.isoformat()}T10:00:00.000+08:00"
    monkeypatch.setattr("lunan.events.writer.now_shanghai", lambda: stamp)
    monkeypatch.setattr("lunan.sharing.queries.today_shanghai", lambda: SHARING_TODAY)
    with sharing_cities(tmp_path, database_url) as s:
        yield s


@pytest.fixture
def api(tmp_path: Path, database_url: str) -> Iterator[Node]:
    """临沂's node on its own (no alliance: 临沂 is the only member it knows)."""
    directory = make_node(tmp_path / "linyi", database_url)
    app = app_for(directory)
    with TestClient(app) as client:
        engine = app.state.log.engine
        made = {}
        for name, (role, city) in USERS.items():
            users.add_user(engine, city, name, role, "correct horse battery")
            made[name] = tokens.create_token(engine, name)
        yield Node(directory, app, client, made)
