"""Shared fixtures: every storage test runs on SQLite and, when LUNAN_TEST_POSTGRES is set,
on PostgreSQL too, each test in a schema of its own."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from urllib.parse import quote

import psycopg
import pytest
from argon2 import PasswordHasher
from argon2.profiles import CHEAPEST
from hypothesis import settings
from sqlalchemy.engine import make_url

from lunan.auth import passwords

# pytest-xdist starts its workers with COLUMNS=80 and LINES=24, and Rich fixes a console's
# width from COLUMNS when the console is made (at import): the CLI tests then print tables cut
# to 80 columns whatever width they ask for. Without it, Rich reads COLUMNS as each test sets it.
for _name in ("COLUMNS", "LINES"):
    os.environ.pop(_name, None)

# Property tests assert what holds, never how fast: Hypothesis's default 200 ms deadline per
# example is a timing threshold, and fails on a machine busy with the other xdist workers.
settings.register_profile("lunan", deadline=None)
settings.load_profile("lunan")

POSTGRES = os.environ.get("LUNAN_TEST_POSTGRES")
BACKENDS = ["sqlite", *(["postgresql"] if POSTGRES else [])]


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A database URL for a node: SQLite inside the node dir, or an isolated PG schema."""
    if request.param == "sqlite":
        yield "sqlite:///node.db"
        return
    assert POSTGRES is not None
    schema = f"t_{uuid.uuid4().hex[:16]}"
    dsn = make_url(POSTGRES).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in POSTGRES else "?"
    yield f"{POSTGRES}{sep}options={quote(f'-csearch_path={schema}')}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the groups from the markers
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under pytest-xdist (`make test` runs `-n auto --dist loadgroup`) keep the tests that
    share one of our session- or module-scoped fixtures (the browser and its demo nodes, a
    module's node set) on one worker, so each such fixture is built once, not once per worker."""
    if not config.pluginmanager.hasplugin("xdist"):
        return
    for item in items:
        info = getattr(item, "_fixtureinfo", None)
        if info is None:
            continue
        ours = [d for defs in info.name2fixturedefs.values() for d in defs if d.baseid]
        if any(d.scope == "session" for d in ours):
            item.add_marker(pytest.mark.xdist_group("session"))
        elif any(d.scope == "module" for d in ours):
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::")[0]))


@pytest.fixture
def cheap_hasher(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2id with its smallest parameters, for tests that make users but are not about
    passwords."""
    monkeypatch.setattr(passwords, "HASHER", PasswordHasher.from_parameters(CHEAPEST))
