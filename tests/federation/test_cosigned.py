"""Finality: the largest size a quorum of witnesses has cosigned."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from factories import make_node

from lunan import node
from lunan.crypto import note
from lunan.federation import cosigned
from lunan.log import cosignature


def _sig(name: str) -> note.NoteSignature:
    signer = note.Signer(name, Ed25519PrivateKey.generate(), note.COSIGNATURE_V1)
    return note.NoteSignature(name, signer.key_id, b"\x00" * 72)


def test_each_witness_counts_with_the_largest_size_it_cosigned(
    tmp_path: Path, database_url: str
) -> None:
    make_node(tmp_path, database_url)
    engine = node.open_database(tmp_path, node.load_config(tmp_path))
    for name, size in (("a/witness", 10), ("b/witness", 11), ("c/witness", 12)):
        cosigned.store(engine, node.OWN_LOG_ID, size, [_sig(name)], [0])
    assert cosigned.final_size(engine, node.OWN_LOG_ID, 1) == 12
    assert cosigned.final_size(engine, node.OWN_LOG_ID, 2) == 11  # b and c vouch for ≥ 11
    assert cosigned.final_size(engine, node.OWN_LOG_ID, 3) == 10
    assert cosigned.final_size(engine, node.OWN_LOG_ID, 4) == 0
    cosigned.store(engine, node.OWN_LOG_ID, 12, [_sig("c/witness")], [0])  # a duplicate: ignored
    assert cosigned.last_cosigned(engine, node.OWN_LOG_ID, "c/witness") == 12
    engine.dispose()


def test_a_cosignature_dated_past_what_a_node_stores_is_left_out_and_the_rest_kept() -> None:
    """One witness's line dated past 2^63 seconds would make storing the note's cosignatures
    fail for every follower, each round: it is refused like one that does not verify."""
    body = "lunan/371300\n3\n" + "A" * 43 + "=\n"
    keys = {n: note.Signer(n, Ed25519PrivateKey.generate(), note.COSIGNATURE_V1) for n in "ab"}
    odd = cosignature.cosign(body, keys["a"], cosignature.MAX_TIMESTAMP)
    fine = cosignature.cosign(body, keys["b"], 1_700_000_000)
    signed = note.sign_note(body, [note.Signer("lunan/371300", Ed25519PrivateKey.generate())])
    served = note.add_signatures(signed, [odd, fine])
    verifiers = [note.parse_vkey(k.vkey()) for k in keys.values()]
    lines, stamps = cosigned.verified(body, served, verifiers)
    assert (lines, stamps) == ([fine], [1_700_000_000])
    with pytest.raises(cosignature.CosignatureError, match="past 2\\^63"):
        cosignature.verify(body, odd, verifiers[0])
