"""C2SP tlog-cosignature v1.0.1 (Ed25519, type 0x04): a witness's signed statement that, as of
a time, a checkpoint is the largest consistent tree it has seen of that log.

The signed message is `cosignature/v1\\ntime <ts>\\n` followed by the checkpoint body; the
signature line carries the key id, the timestamp (u64, big-endian) and the signature.
"""

from __future__ import annotations

from lunan.crypto import note

HEADER = "cosignature/v1\n"
# The format allows a u64 time; nodes store it in signed 64-bit columns. A cosignature dated
# past 2^63 seconds (billions of years) is refused like one that does not verify, so that one
# witness's odd line cannot stop a node storing the others.
MAX_TIMESTAMP = 1 << 63


class CosignatureError(ValueError):
    """A cosignature that is malformed or does not verify."""


def message(body: str, timestamp: int) -> bytes:
    return f"{HEADER}time {timestamp}\n{body}".encode()


def cosign(body: str, signer: note.Signer, timestamp: int) -> note.NoteSignature:
    """Cosign a checkpoint body (the note text, ending in a newline)."""
    if signer.key_type != note.COSIGNATURE_V1:
        raise CosignatureError("cosignatures need a witness key (type 0x04)")
    if not 0 <= timestamp < 1 << 64:
        raise CosignatureError(f"timestamp {timestamp} is not a u64")
    sig = signer.sign(message(body, timestamp))
    return note.NoteSignature(signer.name, signer.key_id, timestamp.to_bytes(8, "big") + sig)


def verify(body: str, signature: note.NoteSignature, verifier: note.Verifier) -> int:
    """Check a cosignature line over `body`; return its timestamp."""
    if verifier.key_type != note.COSIGNATURE_V1:
        raise CosignatureError(f"{verifier.name} is not a witness key (type 0x04)")
    if signature.name != verifier.name or signature.key_id != verifier.key_id:
        raise CosignatureError(f"cosignature is not by {verifier.name}")
    if len(signature.signature) != 8 + 64:
        raise CosignatureError("cosignature must hold an 8-byte time and a 64-byte signature")
    timestamp = int.from_bytes(signature.signature[:8], "big")
    if timestamp >= MAX_TIMESTAMP:
        raise CosignatureError(f"cosignature by {verifier.name} is dated {timestamp}, past 2^63")
    if not verifier.verify(message(body, timestamp), signature.signature[8:]):
        raise CosignatureError(f"cosignature by {verifier.name} does not verify")
    return timestamp
