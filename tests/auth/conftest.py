"""Fixtures of the people-and-access tests: a node's database on every backend, and a cheap
password hasher so that the tests spend their time on behaviour, not on argon2's memory."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from argon2.profiles import CHEAPEST
from factories import make_node
from sqlalchemy import Engine, Table, update

from lunan import node
from lunan.auth import passwords, times


@pytest.fixture(autouse=True)
def cheap_hasher(monkeypatch: pytest.MonkeyPatch) -> PasswordHasher:
    """argon2id still, with the smallest parameters (test_passwords checks the real ones)."""
    hasher = PasswordHasher.from_parameters(CHEAPEST)
    monkeypatch.setattr(passwords, "HASHER", hasher)
    return hasher


@pytest.fixture
def node_dir(tmp_path: Path, database_url: str) -> Path:
    return make_node(tmp_path / "node", database_url)


@pytest.fixture
def engine(node_dir: Path) -> Iterator[Engine]:
    engine = node.open_database(node_dir, node.load_config(node_dir))
    yield engine
    engine.dispose()


@pytest.fixture
def set_age(engine: Engine) -> Callable[[Table, str, timedelta], None]:
    """Make the timestamp `column` of every row of `table` say it was written `age` ago, as if
    that much time had passed."""

    def age_rows(table: Table, column: str, age: timedelta) -> None:
        with engine.begin() as conn:
            conn.execute(update(table).values({column: times.stamp(times.now() - age)}))

    return age_rows
