"""C2SP tlog-checkpoint v1.0.0: the signed statement of a log's size and root."""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from lunan.crypto import note
from lunan.log.merkle import HASH_SIZE

_SIZE = re.compile(r"^(0|[1-9][0-9]{0,19})$")
# The format allows sizes up to 2^64 - 1; a node keeps sizes in signed 64-bit columns, so a
# checkpoint of 2^63 entries or more is one no node can hold, and is refused where it arrives.
MAX_SIZE = 1 << 63


class CheckpointError(ValueError):
    """A checkpoint that is malformed, unsigned, or signed by the wrong key."""


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes

    def body(self) -> str:
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"


def parse_body(text: str) -> Checkpoint:
    lines = text.split("\n")
    if len(lines) < 4 or lines[-1] != "":
        raise CheckpointError("a checkpoint body has an origin, a size and a root, each on a line")
    origin, size, root_b64 = lines[0], lines[1], lines[2]
    if not origin:
        raise CheckpointError("checkpoint origin line is empty")
    if not _SIZE.match(size) or int(size) >= 1 << 64:
        raise CheckpointError(f"checkpoint size {size!r} is not a decimal number without leading 0")
    try:
        root = base64.b64decode(root_b64, validate=True)
    except binascii.Error as e:
        raise CheckpointError("checkpoint root is not base64") from e
    if len(root) != HASH_SIZE:
        raise CheckpointError(f"checkpoint root has {len(root)} bytes, want {HASH_SIZE}")
    return Checkpoint(origin, int(size), root)


def sign(checkpoint: Checkpoint, signer: note.Signer) -> str:
    return note.sign_note(checkpoint.body(), [signer])


def open_signed(signed: str, verifier: note.Verifier) -> Checkpoint:
    """Verify `signed` with the log's key; return its checkpoint, whose origin is the key name."""
    try:
        parsed, _ = note.open_note(signed, [verifier])
    except note.NoteError as e:
        raise CheckpointError(f"checkpoint signature: {e}") from e
    checkpoint = parse_body(parsed.text)
    if checkpoint.origin != verifier.name:
        raise CheckpointError(
            f"checkpoint origin {checkpoint.origin!r} is not the key name {verifier.name!r}"
        )
    return checkpoint
