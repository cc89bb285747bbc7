"""Finality: the largest size a quorum of witnesses has cosigned."""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from factories import make_node

from lunan import node
from lunan.crypto import note
from lunan.federation import cosigned


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
