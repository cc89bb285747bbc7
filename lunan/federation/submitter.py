"""Have our own log witnessed: send each new checkpoint to every other member's witness
(C2SP tlog-witness `add-checkpoint`) and keep the cosignatures they return."""

from __future__ import annotations

from dataclasses import dataclass, field

from lunan.crypto import note
from lunan.federation import cosigned
from lunan.federation.follower import open_alert, raise_alert
from lunan.federation.peer import Peer, PeerError
from lunan.log import Log, cosignature
from lunan.log import checkpoint as cp
from lunan.log.witness import format_request

ADD_CHECKPOINT = "/witness/v1/add-checkpoint"


@dataclass
class WitnessPeer:
    city: str
    verifier: note.Verifier  # the member's witness key (type 0x04)
    peer: Peer
    old: int | None = field(default=None)  # what the witness says it last cosigned, if told


class Submitter:
    def __init__(self, log: Log, witnesses: list[WitnessPeer]) -> None:
        self.log = log
        self.witnesses = witnesses

    def submit(self) -> None:
        """Ask every witness that has not cosigned our latest checkpoint to do so."""
        latest = self.log.store.latest()
        if latest is None:
            return
        size, signed = latest
        errors = []
        for w in self.witnesses:
            try:
                self._submit_to(w, size, signed)
            except PeerError as e:
                errors.append(str(e))
            except Exception as e:  # one witness's odd answer must not keep the others waiting
                errors.append(f"witness {w.verifier.name}: {type(e).__name__}: {e}")
        if errors:
            raise PeerError("; ".join(errors))

    def _submit_to(self, w: WitnessPeer, size: int, signed: str) -> None:
        log_id = self.log.store.log_id
        old = (
            w.old
            if w.old is not None
            else cosigned.last_cosigned(self.log.engine, log_id, w.verifier.name)
        )
        if old == size and w.old is None:
            return
        for _ in range(2):
            if old > size:
                if not open_alert(self.log.engine, self.log.signer.name, "witness-ahead"):
                    raise_alert(
                        self.log.engine,
                        self.log.signer.name,
                        "witness-ahead",
                        f"witness {w.verifier.name} cosigned size {old}, above our {size}",
                        [signed],
                    )
                raise PeerError(f"{w.verifier.name} has cosigned {old}, more than our {size}")
            proof = self.log.store.consistency_proof(old, size) if 0 < old < size else []
            r = w.peer.request("POST", ADD_CHECKPOINT, format_request(old, proof, signed))
            if r.status == 409 and r.headers.get("content-type", "").startswith("text/x.tlog.size"):
                old = _cosigned_size(w, r.body)  # the witness tells us where it stands
                w.old = old
                continue
            if r.status != 200:
                raise PeerError(f"witness {w.verifier.name}: HTTP {r.status} {r.body[:200]!r}")
            self._keep(w, size, signed, r.body.decode("utf-8", "replace"))
            w.old = None
            return
        raise PeerError(f"witness {w.verifier.name} keeps answering 409")

    def _keep(self, w: WitnessPeer, size: int, signed: str, body: str) -> None:
        text = cp.parse_body(note.parse_note(signed).text).body()
        lines, stamps = [], []
        for line in body.splitlines():
            try:
                sig = note.parse_signature_line(line)
                if (sig.name, sig.key_id) != (w.verifier.name, w.verifier.key_id):
                    continue  # unknown keys are ignored (tlog-witness)
                stamps.append(cosignature.verify(text, sig, w.verifier))
            except (note.NoteError, cosignature.CosignatureError) as e:
                raise PeerError(f"witness {w.verifier.name}: bad cosignature: {e}") from e
            lines.append(sig)
        if not lines:
            raise PeerError(f"witness {w.verifier.name} answered no cosignature of its key")
        cosigned.store(self.log.engine, self.log.store.log_id, size, lines, stamps)


def served_checkpoint(log: Log, witnesses: list[note.Verifier]) -> str:
    """Our latest checkpoint with every cosignature collected for it that still verifies
    (after a restore, cosignatures kept for an older tree of the same size would not)."""
    latest = log.store.latest()
    if latest is None:
        return log.checkpoint()
    size, signed = latest
    body = cp.parse_body(note.parse_note(signed).text).body()
    stored = cosigned.lines_for(log.engine, log.store.log_id, size)
    lines, _ = cosigned.verified(body, note.add_signatures(signed, stored), witnesses)
    return note.add_signatures(signed, lines) if lines else signed


def _cosigned_size(w: WitnessPeer, body: bytes) -> int:
    """The size a witness says it last cosigned (its 409 answer), checked to be one."""
    try:
        size = int(body.decode("ascii").strip())
    except ValueError as e:  # UnicodeDecodeError included
        raise PeerError(f"witness {w.verifier.name}: 409 without a size: {body[:40]!r}") from e
    if not 0 <= size < cp.MAX_SIZE:
        raise PeerError(f"witness {w.verifier.name}: 409 with size {size}, not a log size")
    return size
