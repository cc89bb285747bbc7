"""Evidence that an entry is in a log: the entry, its inclusion proof to a signed checkpoint,
and the result of checking both, so a page or an auditor can show "verified" with reasons."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, select

from lunan.crypto import note
from lunan.log import checkpoint as cp
from lunan.log import merkle
from lunan.log.store import TreeStore
from lunan.storage.schema import logs


@dataclass(frozen=True)
class Evidence:
    origin: str
    index: int
    entry: bytes
    leaf_hash: bytes
    size: int
    checkpoint: str
    proof: list[bytes]
    verified: bool
    problem: str | None  # why verification failed, if it did


def entry_evidence(engine: Engine, log_id: int, index: int) -> Evidence | None:
    """The entry at `index` with its proof to the newest checkpoint stored; None if absent.

    Checked here against the log's key as this node stores it: the signature on the
    checkpoint, then the inclusion proof from the entry's leaf hash to the checkpoint's root.
    """
    with engine.connect() as conn:
        row = conn.execute(select(logs.c.origin, logs.c.vkey).where(logs.c.id == log_id)).first()
    store = TreeStore(engine, log_id)
    latest = store.latest()
    if row is None or latest is None or index >= latest[0]:
        return None
    size, signed = latest
    entry = store.entries(index, index + 1)[0]
    leaf = merkle.leaf_hash(entry)
    proof = store.inclusion_proof(index, size)
    problem = None
    try:
        checkpoint = cp.open_signed(signed, note.parse_vkey(row.vkey))
        merkle.verify_inclusion(index, size, leaf, proof, checkpoint.root)
    except (note.NoteError, cp.CheckpointError, merkle.ProofError) as e:
        problem = str(e)
    return Evidence(row.origin, index, entry, leaf, size, signed, proof, problem is None, problem)
