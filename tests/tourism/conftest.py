"""Fixtures of the tourism gate's tests: the four cities in one database with node parts (the
gate's node-bound asking), and one node's API with users of several roles."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from argon2.profiles import CHEAPEST
from factories import (
    SHARING_TODAY,
    SharingCities,
    api_node,
    make_node,
    sharing_cities,
    sharing_clock,
)
from tourism.harness import USERS, Node, app_for

from lunan.auth import passwords


@pytest.fixture(autouse=True)
def cheap_hasher(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2id with its smallest parameters: these tests are about the gate."""
    monkeypatch.setattr(passwords, "HASHER", PasswordHasher.from_parameters(CHEAPEST))


@pytest.fixture
def sc(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[SharingCities]:
    """The four cities, their agreements dated from SHARING_TODAY, which is "today"."""
    sharing_clock(monkeypatch, SHARING_TODAY)
    with sharing_cities(tmp_path, database_url) as s:
        yield s


@pytest.fixture
def api(tmp_path: Path, database_url: str) -> Iterator[Node]:
    """临沂's node on its own (no alliance: 临沂 is the only member it knows)."""
    directory = make_node(tmp_path / "linyi", database_url)
    with api_node(directory, app_for(directory), USERS) as node:
        yield node
