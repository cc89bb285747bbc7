"""C2SP tlog-witness v1.0.0 `add-checkpoint`: cosign another member's checkpoint once it is
shown to extend the last one this node cosigned for that log.

The request body is `old <size>\\n`, up to 63 base64 consistency-proof lines, a blank line,
then the signed checkpoint. The answer's status codes are the spec's: 404 unknown origin,
403 no valid signature by the log's key, 400 old size above the checkpoint's, 409 old size
not the last cosigned one (body: that size), 422 bad proof, 200 with the cosignature line.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from lunan.clock import now_shanghai
from lunan.crypto import note
from lunan.log import checkpoint as cp
from lunan.log import cosignature, merkle
from lunan.log.store import TreeStore
from lunan.storage.schema import witness_state

MAX_PROOF_LINES = 63
_OLD = re.compile(r"^old (0|[1-9][0-9]{0,19})$", re.ASCII)


class WitnessError(Exception):
    """A refused add-checkpoint, with the HTTP status the spec gives it."""

    def __init__(self, status: int, slug: str, detail: str, last_size: int | None = None) -> None:
        super().__init__(detail)
        self.status, self.slug, self.detail, self.last_size = status, slug, detail, last_size


@dataclass(frozen=True)
class AddCheckpoint:
    old: int
    proof: list[bytes]
    checkpoint: str  # the signed note


def parse_request(body: bytes) -> AddCheckpoint:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise WitnessError(400, "bad-request", "request body is not UTF-8") from e
    head, sep, checkpoint = text.partition("\n\n")
    if not sep:
        raise WitnessError(400, "bad-request", "no blank line between the proof and the checkpoint")
    lines = head.split("\n")
    first = lines[0]
    if not _OLD.match(first):
        raise WitnessError(400, "bad-request", "the first line must be 'old <size>'")
    if len(lines) - 1 > MAX_PROOF_LINES:
        raise WitnessError(400, "bad-request", f"more than {MAX_PROOF_LINES} proof lines")
    try:
        proof = [base64.b64decode(line, validate=True) for line in lines[1:]]
    except binascii.Error as e:
        raise WitnessError(400, "bad-request", "a proof line is not base64") from e
    return AddCheckpoint(int(first[4:]), proof, checkpoint)


def format_request(old: int, proof: list[bytes], checkpoint: str) -> bytes:
    lines = [f"old {old}", *(base64.b64encode(p).decode() for p in proof)]
    return ("\n".join(lines) + "\n\n" + checkpoint).encode()


class Witness:
    """This node's witness: cosigns checkpoints of the logs `verifier_for` knows."""

    def __init__(
        self,
        engine: Engine,
        signer: note.Signer,
        verifier_for: Callable[[str], note.Verifier | None],
        replica_for: Callable[[str], TreeStore | None] = lambda origin: None,
        on_fork: Callable[[str, str, list[str]], None] | None = None,
        forked: Callable[[str], bool] = lambda origin: False,
    ) -> None:
        self.engine = engine
        self.signer = signer
        self.verifier_for = verifier_for
        # The copy of the log this node follows, if any: a witness that also replicates
        # checks that what it cosigns is what the member serves everybody.
        self.replica_for = replica_for
        self.on_fork = on_fork
        self.forked = forked

    def add_checkpoint(self, request: AddCheckpoint, now: int) -> note.NoteSignature:
        origin = request.checkpoint.split("\n", 1)[0]
        verifier = self.verifier_for(origin)
        if verifier is None:
            raise WitnessError(404, "unknown-origin", f"this witness does not know log {origin!r}")
        try:
            checkpoint = cp.open_signed(request.checkpoint, verifier)
        except cp.CheckpointError as e:
            raise WitnessError(403, "bad-signature", str(e)) from e
        if request.old > checkpoint.size:
            raise WitnessError(
                400, "old-above-size", f"old size {request.old} is above {checkpoint.size}"
            )
        if checkpoint.size >= cp.MAX_SIZE:
            raise WitnessError(
                400, "size-too-large", f"size {checkpoint.size} is beyond what a log can hold"
            )
        if self.forked(origin):
            raise WitnessError(422, "log-forked", f"{origin} has forked: this witness stopped")
        self._check_replica(origin, checkpoint, request.checkpoint)
        with self.engine.begin() as conn:
            row = conn.execute(
                select(witness_state.c.size, witness_state.c.root).where(
                    witness_state.c.origin == origin
                )
            ).first()
            last = row.size if row else 0
            if request.old != last:
                raise WitnessError(
                    409, "old-size-mismatch", f"last cosigned size is {last}", last_size=last
                )
            self._check_proof(request, checkpoint, row.root if row else None)
            values = {
                "size": checkpoint.size,
                "root": checkpoint.root,
                "note": request.checkpoint,
                "updated_at": now_shanghai(),
            }
            # Compare-and-set on the size: two racing submissions cannot both move it.
            if row is None:
                try:
                    conn.execute(insert(witness_state).values(origin=origin, **values))
                except IntegrityError as e:
                    raise WitnessError(
                        409, "old-size-mismatch", "raced", last_size=self._size(origin)
                    ) from e
            else:
                done = conn.execute(
                    update(witness_state)
                    .where(witness_state.c.origin == origin, witness_state.c.size == last)
                    .values(**values)
                )
                if done.rowcount != 1:
                    raise WitnessError(
                        409, "old-size-mismatch", "raced", last_size=self._size(origin)
                    )
        return cosignature.cosign(checkpoint.body(), self.signer, now)

    def _size(self, origin: str) -> int:
        q = select(witness_state.c.size).where(witness_state.c.origin == origin)
        with self.engine.connect() as c:
            return int(c.execute(q).scalar() or 0)

    def _check_replica(self, origin: str, checkpoint: cp.Checkpoint, signed: str) -> None:
        replica = self.replica_for(origin)
        stored = replica.latest() if replica else None
        if replica is None or stored is None or checkpoint.size == 0 or stored[0] < checkpoint.size:
            return
        if replica.root(checkpoint.size) != checkpoint.root:
            if self.on_fork:
                self.on_fork(
                    origin,
                    f"checkpoint {checkpoint.size} submitted to the witness differs from the "
                    "log the member serves",
                    [stored[1], signed],
                )
            raise WitnessError(422, "log-forked", f"{origin} shows this witness another history")

    @staticmethod
    def _check_proof(request: AddCheckpoint, checkpoint: cp.Checkpoint, root: bytes | None) -> None:
        if root is not None and request.old == checkpoint.size and root != checkpoint.root:
            # The log signed two different trees of one size (size 0 included): the spec
            # answers 409. Not a size mismatch a client could recover from: no size given.
            raise WitnessError(409, "root-mismatch", "same size as last cosigned, different root")
        if request.old == 0 or root is None:
            if request.proof:
                raise WitnessError(422, "bad-proof", "the proof must be empty from size 0")
            return
        try:
            merkle.verify_consistency(
                request.old, checkpoint.size, request.proof, root, checkpoint.root
            )
        except merkle.ProofError as e:
            raise WitnessError(422, "bad-proof", f"consistency proof: {e}") from e
