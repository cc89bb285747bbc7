"""The witness (C2SP tlog-witness add-checkpoint): every status code the spec names."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from factories import make_node

from lunan import node
from lunan.crypto import note
from lunan.log import Log, cosignature, open_log
from lunan.log import checkpoint as cp
from lunan.log.witness import AddCheckpoint, Witness, WitnessError, format_request, parse_request

NOW = 1_700_000_000


@pytest.fixture
def log(tmp_path: Path) -> Iterator[Log]:
    """临沂's log, whose checkpoints are submitted."""
    with open_log(make_node(tmp_path / "linyi")) as the_log:
        yield the_log


@pytest.fixture
def witness(tmp_path: Path, database_url: str, log: Log) -> Iterator[Witness]:
    """The witness of 枣庄, which knows 临沂's log key."""
    directory = make_node(
        tmp_path / "zaozhuang", database_url, city="370400", name="枣庄", origin="lunan/370400"
    )
    config = node.load_config(directory)
    engine = node.open_database(directory, config)
    signer = node.witness_signer(config, node.load_witness_key(directory))
    yield Witness(engine, signer, {"lunan/371300": log.verifier()}.get)
    engine.dispose()


def _submit(w: Witness, old: int, proof: list[bytes], checkpoint: str) -> note.NoteSignature:
    return w.add_checkpoint(parse_request(format_request(old, proof, checkpoint)), NOW)


def _refused(w: Witness, old: int, proof: list[bytes], checkpoint: str) -> WitnessError:
    with pytest.raises(WitnessError) as e:
        _submit(w, old, proof, checkpoint)
    return e.value


def test_a_first_checkpoint_is_cosigned_from_size_zero(witness: Witness, log: Log) -> None:
    sig = _submit(witness, 0, [], log.checkpoint())
    body = cp.parse_body(note.parse_note(log.checkpoint()).text).body()
    verifier = note.parse_vkey(witness.signer.vkey())
    assert cosignature.verify(body, sig, verifier) == NOW


def test_a_later_checkpoint_needs_a_proof_from_the_last_cosigned_size(
    witness: Witness, log: Log
) -> None:
    _submit(witness, 0, [], log.checkpoint())
    log.append([b"a", b"b", b"c"])
    assert _refused(witness, 1, [], log.checkpoint()).status == 422
    assert _refused(witness, 1, [b"\x00" * 32, b"\x01" * 32], log.checkpoint()).status == 422
    _submit(witness, 1, log.store.consistency_proof(1, 4), log.checkpoint())
    stale = _refused(witness, 1, log.store.consistency_proof(1, 4), log.checkpoint())
    assert (stale.status, stale.last_size) == (409, 4)


def test_an_unknown_origin_is_404_and_a_bad_signature_403(witness: Witness, tmp_path: Path) -> None:
    stranger = note.Signer("lunan/379999", Ed25519PrivateKey.generate())
    assert (
        _refused(
            witness, 0, [], cp.sign(cp.Checkpoint("lunan/379999", 1, b"\x00" * 32), stranger)
        ).status
        == 404
    )
    forger = note.Signer("lunan/371300", Ed25519PrivateKey.generate())
    forged = cp.sign(cp.Checkpoint("lunan/371300", 1, b"\x00" * 32), forger)
    assert _refused(witness, 0, [], forged).status == 403


def test_old_above_the_checkpoint_size_is_400(witness: Witness, log: Log) -> None:
    assert _refused(witness, 5, [], log.checkpoint()).status == 400


def test_the_same_size_with_another_root_is_409(witness: Witness, log: Log, tmp_path: Path) -> None:
    _submit(witness, 0, [], log.checkpoint())
    other = cp.sign(cp.Checkpoint("lunan/371300", 1, b"\x07" * 32), log.signer)
    assert _refused(witness, 1, [], other).status == 409


def test_two_trees_of_size_zero_are_409_like_any_other_size(witness: Witness, log: Log) -> None:
    empty = cp.sign(cp.Checkpoint("lunan/371300", 0, b"\x01" * 32), log.signer)
    _submit(witness, 0, [], empty)
    other = cp.sign(cp.Checkpoint("lunan/371300", 0, b"\x02" * 32), log.signer)
    refused = _refused(witness, 0, [], other)
    assert (refused.status, refused.slug) == (409, "root-mismatch")


def test_a_size_no_log_can_hold_is_400_and_changes_nothing(witness: Witness, log: Log) -> None:
    huge = cp.sign(cp.Checkpoint("lunan/371300", 1 << 63, b"\x01" * 32), log.signer)
    refused = _refused(witness, 0, [], huge)
    assert (refused.status, refused.slug) == (400, "size-too-large")
    _submit(witness, 0, [], log.checkpoint())  # the witness still stands at nothing cosigned


def test_malformed_requests_are_400() -> None:
    for body in (
        b"old 01\n\nx",
        b"new 1\n\nx",
        b"old 0\nnot base64!\n\nx",
        b"old 0\n",
        b"\xff\n\n",
    ):
        with pytest.raises(WitnessError) as e:
            parse_request(body)
        assert e.value.status == 400
    assert parse_request(b"old 0\n\ncp\n") == AddCheckpoint(0, [], "cp\n")


def test_a_checkpoint_that_contradicts_the_followed_copy_is_refused_as_a_fork(
    tmp_path: Path, log: Log
) -> None:
    other = tmp_path / "copy"  # a copy of 临沂's log as this node follows it: another history
    make_node(other)
    forks: list[tuple[str, list[str]]] = []
    with open_log(other) as replica:
        w = Witness(
            replica.engine,
            note.Signer("lunan/370400/witness", Ed25519PrivateKey.generate(), note.COSIGNATURE_V1),
            {"lunan/371300": log.verifier()}.get,
            {"lunan/371300": replica.store}.get,
            lambda origin, detail, evidence: forks.append((origin, evidence)),
        )
        refused = _refused(w, 0, [], log.checkpoint())
    assert (refused.status, refused.slug) == (422, "log-forked")
    assert forks and forks[0][0] == "lunan/371300" and len(forks[0][1]) == 2


def test_a_log_with_fork_evidence_is_not_cosigned_again(witness: Witness, log: Log) -> None:
    witness.forked = lambda origin: True
    assert _refused(witness, 0, [], log.checkpoint()).slug == "log-forked"


def test_racing_submissions_cannot_both_move_the_witness(witness: Witness, log: Log) -> None:
    """Compare-and-set: of two submissions from the same old size, one wins, one gets 409."""
    first = log.checkpoint()
    log.append([b"x"])
    second = log.checkpoint()
    results: list[int] = []
    barrier = threading.Barrier(2)

    def submit(checkpoint: str) -> None:
        barrier.wait()
        try:
            _submit(witness, 0, [], checkpoint)
            results.append(200)
        except WitnessError as e:
            results.append(e.status)

    threads = [threading.Thread(target=submit, args=(c,)) for c in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [200, 409]
