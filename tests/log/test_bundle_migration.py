"""The 0006_entry_bundles migration, on every database backend: one row per entry
(log_entries) becomes one row per bundle of 256 (log_bundles) and back again, every log
intact: a downgrade expands every row, the pieces of a partial bundle too, into a row per entry,
and an upgrade stores each bundle as one row (first 0). A store with a gap in its entries is
refused rather than bundled."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from factories import entries, entry, filled_log, schema_differences
from sqlalchemy import Engine, insert, inspect, text
from typer.testing import CliRunner

from lunan.cli import app
from lunan.crypto import note
from lunan.log import Log, bundles, open_log, tiles, verify
from lunan.storage import db
from lunan.storage.schema import logs

BEFORE = "0005_alert_resolution"
AFTER = "0006_entry_bundles"
OTHER_LOG = 2


@dataclass
class Node:
    directory: Path
    engine: Engine
    logs: dict[int, Log]  # log id → the log, with its signer

    @property
    def url(self) -> str:
        return self.engine.url.render_as_string(hide_password=False)


# The rows of the fixture's logs: (idx, first, width) by log id. Each log's last bundle is
# partial and in pieces, as the appends that continued it left it.
LAYOUT = {
    1: [(0, 0, 256), (1, 0, 256), (2, 0, 89), (2, 89, 3), (2, 92, 2)],
    OTHER_LOG: [(0, 0, 256), (1, 0, 44), (1, 44, 3), (1, 47, 5)],
}


@pytest.fixture
def node(tmp_path: Path, database_url: str) -> Iterator[Node]:
    """A node whose own log holds 606 entries (three bundles, the last partial, in three
    pieces) and which stores a second log of 308 (two bundles, the last in three pieces)
    beside it: see LAYOUT."""
    own = filled_log(tmp_path, 600, database_url)
    own.append(entries(600, 3))
    own.append(entries(603, 2))
    signer = note.Signer("lunan/370400", Ed25519PrivateKey.generate())
    with own.engine.begin() as conn:
        conn.execute(insert(logs).values(id=OTHER_LOG, origin=signer.name, vkey=signer.vkey()))
    other = Log(own.engine, OTHER_LOG, signer)
    for start, count in [(0, 1), (1, 255), (256, 44), (300, 3), (303, 5)]:
        other.append([entry(10_000 + i) for i in range(start, start + count)])
    yield Node(tmp_path, own.engine, {1: own, OTHER_LOG: other})
    own.close()


def alembic_config(conn: Any) -> Config:
    config = Config()
    config.set_main_option("script_location", str(db.MIGRATIONS))
    config.attributes["connection"] = conn
    return config


def downgrade(engine: Engine, revision: str = BEFORE) -> None:
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), revision)


def revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def bundle_rows(engine: Engine) -> list[tuple[int, int, int, int, bytes]]:
    """(log_id, idx, first, width, data) of every row of log_bundles, in key order."""
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT log_id, idx, first, width, data FROM log_bundles"))
        return sorted((r.log_id, r.idx, r.first, r.width, bytes(r.data)) for r in rows)


def layouts(engine: Engine) -> dict[int, list[tuple[int, int, int]]]:
    """log id → (idx, first, width) of its rows in log_bundles, in key order."""
    out: dict[int, list[tuple[int, int, int]]] = {}
    for log_id, idx, first, width, _ in bundle_rows(engine):
        out.setdefault(log_id, []).append((idx, first, width))
    return out


def one_row_per_bundle(log_id: int, held: list[bytes]) -> list[tuple[int, int, int, int, bytes]]:
    """The rows of a log holding `held`, each bundle in one row (first 0), as an upgrade
    stores them."""
    chunks = [held[lo : lo + 256] for lo in range(0, len(held), 256)]
    return [(log_id, i, 0, len(c), tiles.bundle_entries(c)) for i, c in enumerate(chunks)]


def entry_rows(engine: Engine) -> dict[int, list[tuple[int, bytes]]]:
    """log id → (idx, data) of its rows in log_entries, in index order."""
    out: dict[int, list[tuple[int, bytes]]] = {}
    with engine.connect() as conn:
        q = text("SELECT log_id, idx, data FROM log_entries ORDER BY log_id, idx")
        for r in conn.execute(q):
            out.setdefault(r.log_id, []).append((r.idx, bytes(r.data)))
    return out


def assert_bundle_table_matches_the_schema(engine: Engine) -> None:
    assert schema_differences(engine, {"log_bundles"}) == []


def assert_verifies(n: Node) -> None:
    for log_id, log in n.logs.items():
        source = verify.DatabaseSource(n.url, log_id)
        report = verify.verify_log(source, log.verifier(), workers=1)
        assert report.size == log.size()
    result = CliRunner().invoke(app, ["verify", "--dir", str(n.directory), "--workers", "1"])
    assert result.exit_code == 0, result.output


def test_a_new_nodes_bundle_table_matches_the_schema(node: Node) -> None:
    assert revision(node.engine) == AFTER
    assert "log_entries" not in tables(node.engine)
    assert_bundle_table_matches_the_schema(node.engine)


def test_downgrading_stores_each_entry_in_a_row_of_its_own_from_pieces_too(node: Node) -> None:
    assert layouts(node.engine) == LAYOUT
    stored = {log_id: log.store.entries(0, log.size()) for log_id, log in node.logs.items()}
    assert {log_id: len(es) for log_id, es in stored.items()} == {1: 606, OTHER_LOG: 308}
    downgrade(node.engine)
    assert revision(node.engine) == BEFORE
    assert "log_bundles" not in tables(node.engine)
    assert entry_rows(node.engine) == {log_id: list(enumerate(es)) for log_id, es in stored.items()}


def test_upgrading_again_stores_each_bundle_as_one_row_and_every_log_verifies(
    node: Node,
) -> None:
    assert layouts(node.engine) == LAYOUT
    stored = {log_id: log.store.entries(0, log.size()) for log_id, log in node.logs.items()}
    downgrade(node.engine)
    db.migrate(node.engine)
    assert revision(node.engine) == AFTER
    assert "log_entries" not in tables(node.engine)
    assert_bundle_table_matches_the_schema(node.engine)
    # The same entries, the pieces of each last bundle joined into one row.
    assert bundle_rows(node.engine) == [
        row for log_id in sorted(stored) for row in one_row_per_bundle(log_id, stored[log_id])
    ]
    assert layouts(node.engine) == {
        1: [(0, 0, 256), (1, 0, 256), (2, 0, 94)],
        OTHER_LOG: [(0, 0, 256), (1, 0, 52)],
    }
    for log_id, log in node.logs.items():
        size = log.size()
        assert log.store.entries(0, size) == stored[log_id]
        assert log.store.encoded_entries(0, size) == tiles.bundle_entries(stored[log_id])
        assert log.store.last_index() == size - 1
    assert_verifies(node)
    # The node goes on appending where it was: filling the last bundle and beginning the
    # next, then in pieces again; the other log continues its last bundle in a piece.
    with open_log(node.directory) as own:
        assert own.append(entries(606, 300)) == 606
        assert own.append(entries(906, 1)) == 906
        assert own.store.entries(606, 907) == entries(606, 301)
    assert node.logs[OTHER_LOG].append([entry(20_000), entry(20_001)]) == 308
    assert layouts(node.engine) == {
        1: [(0, 0, 256), (1, 0, 256), (2, 0, 256), (3, 0, 138), (3, 138, 1)],
        OTHER_LOG: [(0, 0, 256), (1, 0, 52), (1, 52, 2)],
    }
    assert_verifies(node)


def test_a_long_log_is_bundled_in_many_inserts_and_back(node: Node) -> None:
    """More bundles than the migration inserts in one statement, beside the other logs."""
    long_log, count = 3, 256 * 70 + 5
    long_entries = [b""] + [i.to_bytes(3, "big") for i in range(1, count)]
    downgrade(node.engine)
    with node.engine.begin() as conn:
        conn.execute(insert(logs).values(id=long_log, origin="lunan/long", vkey="-"))
        conn.execute(
            text("INSERT INTO log_entries (log_id, idx, data) VALUES (:log_id, :idx, :data)"),
            [{"log_id": long_log, "idx": i, "data": e} for i, e in enumerate(long_entries)],
        )
    db.migrate(node.engine)
    with node.engine.connect() as conn:
        assert bundles.entries(conn, long_log, 0, count) == long_entries
        assert bundles.last_index(conn, long_log) == count - 1
        rows = conn.execute(
            text("SELECT idx, first, width FROM log_bundles WHERE log_id = :id ORDER BY idx"),
            {"id": long_log},
        )
        assert [tuple(r) for r in rows] == [(i, 0, 256) for i in range(70)] + [(70, 0, 5)]
    assert_verifies(node)
    downgrade(node.engine)
    assert entry_rows(node.engine)[long_log] == list(enumerate(long_entries))


@pytest.mark.parametrize(
    ("log_id", "gaps"),
    [
        (1, [0]),
        (1, [1]),
        (1, [300]),
        (1, [599]),  # entries 600–605 are still there
        (1, [604]),  # the first entry of the last piece: 605 is still there
        (OTHER_LOG, [303]),  # the first entry of the last piece
        (1, [255, 256, 512]),
        (OTHER_LOG, [0]),
        (OTHER_LOG, [256]),
    ],
)
def test_the_upgrade_refuses_entries_with_a_gap_and_leaves_the_database_at_0005(
    node: Node, log_id: int, gaps: list[int]
) -> None:
    downgrade(node.engine)
    held = entry_rows(node.engine)
    top = held[log_id][-1][0]
    removed = [(i, data) for i, data in held[log_id] if i in gaps]
    with node.engine.begin() as conn:
        for idx in gaps:
            conn.execute(
                text("DELETE FROM log_entries WHERE log_id = :log_id AND idx = :idx"),
                {"log_id": log_id, "idx": idx},
            )
    damaged = entry_rows(node.engine)
    assert len(damaged[log_id]) == top + 1 - len(gaps)
    with pytest.raises(RuntimeError) as refused:
        db.migrate(node.engine)
    assert str(refused.value) == (
        f"log {log_id} holds {top + 1 - len(gaps)} entries up to index {top}: the store is "
        "damaged (entries are missing); restore it from a backup before upgrading"
    )
    # Nothing changed: the database is exactly as it was at 0005.
    assert revision(node.engine) == BEFORE
    assert "log_bundles" not in tables(node.engine)
    assert "log_entries" in tables(node.engine)
    assert entry_rows(node.engine) == damaged
    # Once the entries are restored (from a backup), the store upgrades.
    with node.engine.begin() as conn:
        conn.execute(
            text("INSERT INTO log_entries (log_id, idx, data) VALUES (:log_id, :idx, :data)"),
            [{"log_id": log_id, "idx": i, "data": data} for i, data in removed],
        )
    db.migrate(node.engine)
    assert revision(node.engine) == AFTER
    assert "log_entries" not in tables(node.engine)
    assert_bundle_table_matches_the_schema(node.engine)
    for each, log in node.logs.items():
        assert log.store.entries(0, log.size()) == [data for _, data in held[each]]
    assert_verifies(node)
