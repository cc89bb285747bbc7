"""Signed notes (c2sp.org/signed-note v1.0.0) and verifier keys ("vkeys").

A signed note is a text ending in a newline, a blank line, and one or more lines
``— <key name> base64(4-byte key ID || signature)``. The output is byte-compatible with
Go's golang.org/x/mod/sumdb/note, which the test vectors come from.

Where the spec leaves room we are strict, so that a note has exactly one encoding:
base64 must be canonical (Go also accepts non-zero padding bits), and a known key's
signature is checked every time it appears (Go checks only the first one).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ED25519 = 0x01
COSIGNATURE_V1 = 0x04

_KEY_TYPES = {ED25519: "Ed25519", COSIGNATURE_V1: "Ed25519 cosignature"}
_PUBLIC_KEY_SIZE = 32
_KEY_ID_SIZE = 4
_SIGNATURE_PREFIX = "— "  # U+2014 EM DASH, then a space
_MAX_SIGNATURES = 100  # Go's limit; the spec requires accepting at least 16
_HEX_KEY_ID = re.compile(r"[0-9a-fA-F]{8}")  # Go's ParseUint also takes upper case
# The spec bans ASCII control characters (below U+0020) except newline.
_CONTROL = re.compile("[\x00-\x09\x0b-\x1f]")


class NoteError(ValueError):
    """A note, key or signature is malformed or does not verify."""


def _short(s: str) -> str:
    """repr() of untrusted input, cut short so error messages stay one readable line."""
    return repr(s) if len(s) <= 60 else repr(s[:57]) + "..."


def _check_unicode(s: str, what: str) -> None:
    # A Python str can hold lone surrogates, which have no UTF-8 encoding.
    try:
        s.encode("utf-8")
    except UnicodeEncodeError as e:
        raise NoteError(
            f"{what} is not valid Unicode (lone surrogate at offset {e.start})"
        ) from None


def _check_no_controls(s: str, what: str) -> None:
    if m := _CONTROL.search(s):
        raise NoteError(
            f"{what} contains control character U+{ord(m.group()):04X} at offset {m.start()}; "
            "only newline is allowed"
        )


def _check_text(text: str) -> None:
    _check_unicode(text, "note text")
    _check_no_controls(text, "note text")
    if not text.endswith("\n"):
        raise NoteError("note text is empty" if not text else "note text must end with a newline")


def _b64decode(s: str, what: str) -> bytes:
    # Only canonical standard base64 is accepted: re-encoding must give back the input.
    # The input is not echoed, because it may be a private key.
    try:
        raw = binascii.a2b_base64(s.encode("ascii"), strict_mode=True)
    except (UnicodeEncodeError, binascii.Error):
        raise NoteError(f"{what} is not valid base64") from None
    if base64.b64encode(raw).decode("ascii") != s:
        raise NoteError(f"{what} is not canonical base64")
    return raw


def _check_key_type(key_type: int) -> None:
    if key_type not in _KEY_TYPES:
        raise NoteError(
            f"signature type {key_type:#04x} is not supported "
            "(only 0x01 Ed25519 and 0x04 Ed25519 cosignature)"
        )


def _check_public_key(public_key: bytes) -> None:
    if len(public_key) != _PUBLIC_KEY_SIZE:
        raise NoteError(f"public key is {len(public_key)} bytes; Ed25519 keys are 32 bytes")


def _parse_hex_key_id(s: str, what: str) -> bytes:
    if not _HEX_KEY_ID.fullmatch(s):
        raise NoteError(f"{what} key ID {_short(s)} is not 8 hex digits")
    return bytes.fromhex(s)


def check_key_name(name: str) -> None:
    """Raise NoteError unless `name` can appear in a note: non-empty, no spaces, no '+'."""
    if not name:
        raise NoteError("key name is empty")
    _check_unicode(name, "key name")
    # str.isspace() covers every Unicode space (Zs, line/paragraph separators) and ASCII
    # whitespace, like Go's unicode.IsSpace.
    if any(c.isspace() for c in name):
        raise NoteError(f"key name {_short(name)} contains whitespace")
    if "+" in name:
        raise NoteError(f"key name {_short(name)} contains '+'")
    # Other control characters would make every note carrying the name invalid.
    _check_no_controls(name, "key name")


def key_id(name: str, key_type: int, public_key: bytes) -> bytes:
    """The spec's key ID: SHA-256(name || 0x0A || type || public key)[:4]."""
    check_key_name(name)
    if not 0 <= key_type <= 0xFF:
        raise NoteError(f"signature type {key_type} does not fit in a byte")
    digest = hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([key_type]) + public_key)
    return digest.digest()[:_KEY_ID_SIZE]


def format_vkey(name: str, key_type: int, public_key: bytes) -> str:
    """Encode a verifier key as "<name>+<8 hex key ID>+<base64(type || public key)>"."""
    check_key_name(name)
    _check_key_type(key_type)
    _check_public_key(public_key)
    b64 = base64.b64encode(bytes([key_type]) + public_key).decode("ascii")
    return f"{name}+{key_id(name, key_type, public_key).hex()}+{b64}"


@dataclass(frozen=True)
class Verifier:
    """A trusted public key, as parsed from a vkey."""

    name: str
    key_id: bytes
    key_type: int
    public_key: bytes

    def __post_init__(self) -> None:
        check_key_name(self.name)
        if len(self.key_id) != _KEY_ID_SIZE:
            raise NoteError(f"key ID is {len(self.key_id)} bytes; it must be 4")
        _check_key_type(self.key_type)
        _check_public_key(self.public_key)

    def verify(self, message: bytes, signature: bytes) -> bool:
        """Plain Ed25519 verification of `signature` over `message`.

        For type 0x04 the caller builds the cosignature message and strips the timestamp.
        """
        try:
            ed25519_key(self.public_key).verify(signature, message)
        except (InvalidSignature, ValueError):
            return False
        return True


@lru_cache(maxsize=1024)
def ed25519_key(raw: bytes) -> Ed25519PublicKey:
    """The key object for 32 raw bytes (ValueError otherwise); kept, because every signature
    checked between members builds it again."""
    return Ed25519PublicKey.from_public_bytes(raw)


@lru_cache(maxsize=256)  # members' keys are parsed from the alliance file on every request
def parse_vkey(vkey: str) -> Verifier:
    """Parse "<name>+<hex key ID>+<base64(type || key)>", checking the key ID."""
    # The base64 part may itself contain '+', so split on the first two only.
    parts = vkey.split("+", 2)
    if len(parts) != 3:
        raise NoteError("vkey must have the form <name>+<8 hex digits>+<base64 key>")
    name, hex_id, b64 = parts
    check_key_name(name)
    given_id = _parse_hex_key_id(hex_id, "vkey")
    raw = _b64decode(b64, "vkey key")
    if not raw:
        raise NoteError("vkey key is empty")
    key_type, public_key = raw[0], raw[1:]
    _check_key_type(key_type)
    _check_public_key(public_key)
    expected = key_id(name, key_type, public_key)
    if given_id != expected:
        raise NoteError(f"vkey key ID {hex_id} does not match its key (expected {expected.hex()})")
    return Verifier(name, expected, key_type, public_key)


@dataclass(frozen=True)
class Signer:
    """A private key that signs notes (type 0x01) or cosignatures (type 0x04)."""

    name: str
    private_key: Ed25519PrivateKey = field(repr=False)
    key_type: int = ED25519
    # Derived once: every checkpoint and every response is signed with them.
    public_key: bytes = field(init=False, repr=False, compare=False)
    key_id: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        check_key_name(self.name)
        _check_key_type(self.key_type)
        public = self.private_key.public_key().public_bytes_raw()
        object.__setattr__(self, "public_key", public)
        object.__setattr__(self, "key_id", key_id(self.name, self.key_type, public))

    def vkey(self) -> str:
        return format_vkey(self.name, self.key_type, self.public_key)

    def sign(self, message: bytes) -> bytes:
        """The raw 64-byte Ed25519 signature of `message` (deterministic)."""
        return self.private_key.sign(message)


@dataclass(frozen=True)
class NoteSignature:
    """One signature line: key name, 4-byte key ID, and the signature bytes after the ID."""

    name: str
    key_id: bytes
    signature: bytes

    def __post_init__(self) -> None:
        check_key_name(self.name)
        if len(self.key_id) != _KEY_ID_SIZE:
            raise NoteError(f"key ID is {len(self.key_id)} bytes; it must be 4")
        if not self.signature:
            raise NoteError("signature is empty")

    def line(self) -> str:
        b64 = base64.b64encode(self.key_id + self.signature).decode("ascii")
        return f"{_SIGNATURE_PREFIX}{self.name} {b64}\n"


@dataclass(frozen=True)
class Note:
    """A note text (ending in a newline) with its signatures, verified or not."""

    text: str
    signatures: tuple[NoteSignature, ...]

    def __post_init__(self) -> None:
        # Checked here so that format() always yields a note parse_note() accepts.
        _check_text(self.text)
        object.__setattr__(self, "signatures", tuple(self.signatures))
        if not self.signatures:
            raise NoteError("a signed note needs at least one signature")
        if len(self.signatures) > _MAX_SIGNATURES:
            raise NoteError(
                f"note has {len(self.signatures)} signatures; at most {_MAX_SIGNATURES} are allowed"
            )

    def format(self) -> str:
        return self.text + "\n" + "".join(s.line() for s in self.signatures)


def parse_signature_line(line: str) -> NoteSignature:
    if not line.startswith(_SIGNATURE_PREFIX):
        raise NoteError(f"line {_short(line)} in the signature block is not a signature line")
    # The name ends at the first space, so a name can never hold an ASCII space.
    name, _, b64 = line[len(_SIGNATURE_PREFIX) :].partition(" ")
    check_key_name(name)
    if not b64:
        raise NoteError(f"signature line for {_short(name)} has no signature")
    raw = _b64decode(b64, f"signature by {_short(name)}")
    if len(raw) <= _KEY_ID_SIZE:
        raise NoteError(f"signature by {_short(name)} is shorter than a key ID and a signature")
    return NoteSignature(name, raw[:_KEY_ID_SIZE], raw[_KEY_ID_SIZE:])


def parse_note(signed: str) -> Note:
    """Split a signed note into text and signatures, checking only its structure."""
    # Control characters and encoding are checked over the whole note, as Go does.
    _check_unicode(signed, "signed note")
    _check_no_controls(signed, "signed note")
    # The text may contain blank lines; the last one separates it from the signatures.
    split = signed.rfind("\n\n")
    if split < 0:
        raise NoteError("signed note has no blank line before its signatures")
    text, block = signed[: split + 1], signed[split + 2 :]
    if not block:
        raise NoteError("signed note has no signature lines")
    if not block.endswith("\n"):
        raise NoteError("signed note does not end with a newline")
    lines = block[:-1].split("\n")
    if len(lines) > _MAX_SIGNATURES:
        # Checked before parsing, to bound the work done on hostile input.
        raise NoteError(f"note has {len(lines)} signatures; at most {_MAX_SIGNATURES} are allowed")
    return Note(text, tuple(parse_signature_line(line) for line in lines))


def sign_note(text: str, signers: Sequence[Signer]) -> str:
    """Sign `text` (which must end in a newline) with each signer; return the signed note."""
    _check_text(text)
    if not signers:
        raise NoteError("sign_note needs at least one signer")
    for signer in signers:
        if signer.key_type != ED25519:
            raise NoteError(
                f"signer {_short(signer.name)} is a cosignature key (type 0x04); "
                "notes are signed with Ed25519 (type 0x01) keys"
            )
    message = text.encode("utf-8")
    signatures = (NoteSignature(s.name, s.key_id, s.sign(message)) for s in signers)
    # Ed25519 is deterministic, so a repeated signer gives an identical line: keep one.
    return Note(text, tuple(dict.fromkeys(signatures))).format()


def add_signatures(signed: str, signatures: Sequence[NoteSignature]) -> str:
    """Append signature lines to a signed note, dropping lines it already has."""
    note = parse_note(signed)
    merged = tuple(dict.fromkeys((*note.signatures, *signatures)))
    return Note(note.text, merged).format()


def open_note(signed: str, verifiers: Sequence[Verifier]) -> tuple[Note, tuple[Verifier, ...]]:
    """Parse a signed note and verify it; return the note and the verifiers that signed it.

    Signatures by unknown keys are ignored (the spec says MUST); a known key's signature that
    fails rejects the whole note (the spec says SHOULD). At least one must verify.
    """
    note = parse_note(signed)
    known: dict[tuple[str, bytes], Verifier] = {}
    for v in verifiers:
        if v.key_type != ED25519:
            # A cosignature signs a different message, so it can never verify over the text.
            raise NoteError(
                f"verifier {_short(v.name)} is a cosignature key (type 0x04); "
                "open_note checks Ed25519 (type 0x01) note signatures only"
            )
        if known.setdefault((v.name, v.key_id), v) != v:
            raise NoteError(
                f"two different verifier keys share the name {_short(v.name)} "
                f"and key ID {v.key_id.hex()}"
            )
    message = note.text.encode("utf-8")
    verified: dict[Verifier, None] = {}  # ordered set
    for sig in dict.fromkeys(note.signatures):  # identical lines are checked once
        verifier = known.get((sig.name, sig.key_id))
        if verifier is None:
            continue
        if not verifier.verify(message, sig.signature):
            raise NoteError(f"signature by {_short(sig.name)}+{sig.key_id.hex()} does not verify")
        verified[verifier] = None
    if not verified:
        raise NoteError("note has no verifiable signatures")
    return note, tuple(verified)


def parse_go_private_key(s: str) -> Signer:
    """Parse Go's "PRIVATE+KEY+<name>+<hex key ID>+base64(0x01 || 32-byte seed)"."""
    # The base64 part may contain '+', so split on the first four only.
    parts = s.split("+", 4)
    if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
        raise NoteError(
            "private key must have the form PRIVATE+KEY+<name>+<8 hex digits>+<base64 key>"
        )
    name, hex_id, b64 = parts[2:]
    check_key_name(name)
    given_id = _parse_hex_key_id(hex_id, "private key")
    raw = _b64decode(b64, "private key")
    if len(raw) != 1 + 32 or raw[0] != ED25519:
        raise NoteError("private key must be type 0x01 (Ed25519) followed by a 32-byte seed")
    signer = Signer(name, Ed25519PrivateKey.from_private_bytes(raw[1:]))
    if signer.key_id != given_id:
        raise NoteError(
            f"private key ID {hex_id} does not match its key (expected {signer.key_id.hex()})"
        )
    return signer
