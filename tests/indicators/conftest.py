"""Fixtures of the indicators tests (the harness they build is in harness.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from argon2.profiles import CHEAPEST
from factories import CITIES, api_node, four_cities, make_node, node_parts
from indicators.harness import USERS, Cities, Node, app_for

from lunan.auth import passwords


@pytest.fixture(autouse=True)
def cheap_hasher(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2id with its smallest parameters: these tests are about indicators."""
    monkeypatch.setattr(passwords, "HASHER", PasswordHasher.from_parameters(CHEAPEST))


@pytest.fixture
def cities(tmp_path: Path, database_url: str) -> Iterator[Cities]:
    with four_cities(tmp_path, database_url) as h:
        h.projector.catch_up()  # the genesis entries: the members' names
        yield Cities(h, {c: node_parts(h, tmp_path, c) for c in CITIES})


@pytest.fixture
def api(tmp_path: Path, database_url: str) -> Iterator[Node]:
    directory = make_node(tmp_path / "linyi", database_url)
    with api_node(directory, app_for(directory), USERS) as node:
        yield node
