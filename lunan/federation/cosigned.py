"""Cosignatures this node holds, and what they make final (上链确认)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Engine, func, select
from sqlalchemy.dialects import postgresql, sqlite

from lunan.crypto import note
from lunan.log import cosignature
from lunan.storage.schema import cosignatures


def store(
    engine: Engine,
    log_id: int,
    size: int,
    lines: Sequence[note.NoteSignature],
    stamps: Sequence[int],
) -> None:
    """Keep verified cosignatures of checkpoint `size` of log `log_id` (duplicates ignored)."""
    if not lines:
        return
    with engine.begin() as conn:
        insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
        conn.execute(
            insert(cosignatures).on_conflict_do_nothing(),
            [
                {
                    "log_id": log_id,
                    "size": size,
                    "witness": s.name,
                    "line": s.line(),
                    "timestamp": t,
                }
                for s, t in zip(lines, stamps, strict=True)
            ],
        )


def verified(
    body: str, signed: str, witnesses: Sequence[note.Verifier]
) -> tuple[list[note.NoteSignature], list[int]]:
    """The cosignatures in a served checkpoint note that verify with the alliance's witness keys."""
    by_key = {(w.name, w.key_id): w for w in witnesses}
    lines, stamps = [], []
    for sig in note.parse_note(signed).signatures:
        witness = by_key.get((sig.name, sig.key_id))
        if witness is None:
            continue
        try:
            stamps.append(cosignature.verify(body, sig, witness))
        except cosignature.CosignatureError:
            continue
        lines.append(sig)
    return lines, stamps


def lines_for(engine: Engine, log_id: int, size: int) -> list[note.NoteSignature]:
    q = select(cosignatures.c.line).where(
        cosignatures.c.log_id == log_id, cosignatures.c.size == size
    )
    with engine.connect() as c:
        return [note.parse_signature_line(row.line.rstrip("\n")) for row in c.execute(q)]


def last_cosigned(engine: Engine, log_id: int, witness: str) -> int:
    q = select(func.max(cosignatures.c.size)).where(
        cosignatures.c.log_id == log_id, cosignatures.c.witness == witness
    )
    with engine.connect() as c:
        return int(c.execute(q).scalar() or 0)


def final_size(engine: Engine, log_id: int, quorum: int) -> int:
    """The largest size that at least `quorum` witnesses have cosigned (0 if none).

    A witness that cosigned size n vouches for every smaller tree of the log too (it checked
    each step's consistency), so each witness counts with the largest size it cosigned.
    """
    q = (
        select(func.max(cosignatures.c.size))
        .where(cosignatures.c.log_id == log_id)
        .group_by(cosignatures.c.witness)
    )
    with engine.connect() as c:
        sizes = sorted((int(size) for (size,) in c.execute(q)), reverse=True)
    return sizes[quorum - 1] if quorum >= 1 and len(sizes) >= quorum else 0
