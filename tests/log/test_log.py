"""The node's own log on a real database: group commit, checkpoints, proofs, integrity."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from factories import entries, entry, filled_log, make_node, set_entry
from sqlalchemy import Connection, update
from sqlalchemy.exc import IntegrityError

from lunan.crypto import note
from lunan.exchange import nonces
from lunan.log import AppendError, LogIntegrityError, merkle, open_log
from lunan.log import checkpoint as cp
from lunan.storage.schema import log_checkpoints


def test_a_new_node_log_holds_its_genesis_entry_under_a_signed_checkpoint(
    tmp_path: Path, database_url: str
) -> None:
    make_node(tmp_path, database_url)
    with open_log(tmp_path) as log:
        assert log.size() == 1
        signed = log.checkpoint()
        c = cp.open_signed(signed, log.verifier())
        assert (c.origin, c.size) == ("lunan/371300", 1)
        first = log.store.entries(0, 1)[0]
        assert b'"type":"node.genesis"' in first
        assert c.root == merkle.root([merkle.leaf_hash(first)])


def test_append_returns_the_first_index_and_the_checkpoint_covers_the_entries(
    tmp_path: Path, database_url: str
) -> None:
    make_node(tmp_path, database_url)
    with open_log(tmp_path) as log:
        assert log.append(entries(0, 3)) == 1
        assert log.append([entry(3)]) == 4
        stored = log.store.entries(0, 5)
        c = cp.open_signed(log.checkpoint(), log.verifier())
        assert c.size == 5
        assert c.root == merkle.root([merkle.leaf_hash(e) for e in stored])
        assert stored[1:] == entries(0, 4)


def test_concurrent_appends_are_batched_and_each_caller_gets_its_own_indexes(
    tmp_path: Path, database_url: str
) -> None:
    make_node(tmp_path, database_url)
    results: dict[int, list[int]] = {}
    with open_log(tmp_path) as log:

        def writer(w: int) -> None:
            results[w] = [log.append(entries(w * 1000 + i * 3, 3)) for i in range(40)]

        threads = [threading.Thread(target=writer, args=(w,)) for w in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert log.size() == 1 + 8 * 40 * 3
        for w, firsts in results.items():
            for i, first in enumerate(firsts):
                assert log.store.entries(first, first + 3) == entries(w * 1000 + i * 3, 3)
        # Group commit: fewer checkpoints than append calls.
        assert log.store.count_checkpoints() < 1 + 8 * 40


def test_reopening_a_log_continues_its_tree(tmp_path: Path, database_url: str) -> None:
    with filled_log(tmp_path, 700, database_url) as log:
        before = log.checkpoint()
    with open_log(tmp_path) as log:
        log.append(entries(700, 300))
        old = cp.open_signed(before, log.verifier())
        new = cp.open_signed(log.checkpoint(), log.verifier())
        proof = log.store.consistency_proof(old.size, new.size)
        merkle.verify_consistency(old.size, new.size, proof, old.root, new.root)
        all_entries = log.store.entries(0, new.size)
        assert new.root == merkle.root([merkle.leaf_hash(e) for e in all_entries])


def test_proofs_from_the_store_verify_against_signed_checkpoints(
    tmp_path: Path, database_url: str
) -> None:
    with filled_log(tmp_path, 1500, database_url) as log:
        c = cp.open_signed(log.checkpoint(), log.verifier())
        for index in (0, 1, 255, 256, 1000, c.size - 1):
            proof = log.store.inclusion_proof(index, c.size)
            merkle.verify_inclusion(index, c.size, log.store.leaf_hash(index), proof, c.root)
        for old in (1, 2, 256, 777, c.size):
            proof = log.store.consistency_proof(old, c.size)
            merkle.verify_consistency(old, c.size, proof, log.store.root(old), c.root)
        with pytest.raises(merkle.ProofError):
            log.store.inclusion_proof(0, c.size + 1)


def test_an_oversized_entry_is_refused_and_nothing_is_appended(
    tmp_path: Path, database_url: str
) -> None:
    make_node(tmp_path, database_url)
    with open_log(tmp_path) as log:
        before = log.checkpoint()
        with pytest.raises(AppendError, match="65535"):
            log.append([entry(1), b"x" * 70000])
        assert log.size() == 1
        assert log.checkpoint() == before


def test_the_log_refuses_to_extend_a_tree_that_differs_from_its_checkpoint(
    tmp_path: Path, database_url: str
) -> None:
    with filled_log(tmp_path, 10, database_url) as log:
        set_entry(log.engine, log.store.log_id, 10, None)
    with open_log(tmp_path) as log, pytest.raises(LogIntegrityError, match="lunan verify"):
        log.append([entry(99)])


def test_a_forged_latest_checkpoint_stops_appends(tmp_path: Path, database_url: str) -> None:
    with filled_log(tmp_path, 10, database_url) as log:
        forger = note.Signer("lunan/371300", log.signer.private_key)
        fake = cp.sign(cp.Checkpoint("lunan/371300", 11, b"\x01" * 32), forger)
        with log.engine.begin() as conn:
            conn.execute(
                update(log_checkpoints).where(log_checkpoints.c.size == 11).values(note=fake)
            )
    with open_log(tmp_path) as log, pytest.raises(LogIntegrityError, match="does not match"):
        log.append([entry(99)])


def test_signed_checkpoints_are_all_mutually_consistent(tmp_path: Path, database_url: str) -> None:
    with filled_log(tmp_path, 300, database_url) as log:
        for i in range(5):
            log.append(entries(1000 + i, 1))
        signed = [cp.open_signed(n, log.verifier()) for _, n in log.store.checkpoints()]
        assert [c.size for c in signed] == sorted({c.size for c in signed})
        for a, b in itertools.pairwise(signed):
            proof = log.store.consistency_proof(a.size, b.size)
            merkle.verify_consistency(a.size, b.size, proof, a.root, b.root)


def test_rows_written_with_an_append_are_stored_exactly_when_its_entries_are(
    tmp_path: Path, database_url: str
) -> None:
    make_node(tmp_path, database_url)
    secrets = "SELECT request_id FROM exchange_secrets ORDER BY request_id"

    def keep(key: str) -> Callable[[Connection], None]:
        return nonces.storing(key, "served", b"n" * 32)

    def fail(conn: Connection) -> None:
        conn.exec_driver_sql("INSERT INTO exchange_secrets VALUES (NULL, NULL, NULL, NULL)")

    with open_log(tmp_path) as log:
        threads = [
            threading.Thread(target=log.append, args=([entry(i)], keep(f"r{i}"))) for i in range(8)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        with log.engine.connect() as c:
            assert [k for (k,) in c.exec_driver_sql(secrets)] == [f"r{i}" for i in range(8)]
        size = log.size()
        with pytest.raises(IntegrityError):
            log.append([entry(99)], fail)
        assert log.size() == size and log.store.last_index() == size - 1
        assert log.append([entry(100)]) == size  # the log goes on
