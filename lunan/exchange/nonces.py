"""What stays on this node so that the log can say little: exchange nonces and the user salt.

The nonce of each exchange is stored by both sides (`exchange_secrets`), keyed by the record's
local id and role: with it and the message, a party can show which message a logged digest is
of; without it, nobody can test a guessed message against the digest.

End users are sent pseudonymously: hex SHA-256(salt ‖ user id), the salt 32 random bytes in
`DIR/exchange.salt` (mode 0600), so the provider (and the log) can tell one user's calls apart
without learning who the user is; the requesting city can, by recomputing.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path

from sqlalchemy import Connection, Engine, bindparam, insert, select

from lunan.clock import now_shanghai
from lunan.log.log import AlsoWrite
from lunan.storage.schema import exchange_secrets

SALT_FILE = "exchange.salt"
SALT_BYTES = 32
_salts: dict[Path, bytes] = {}


# Statements every exchange runs, built once (SQLAlchemy then reuses their compiled form).
_INSERT = insert(exchange_secrets)
_NONCE = select(exchange_secrets.c.nonce).where(
    exchange_secrets.c.request_id == bindparam("key"), exchange_secrets.c.role == bindparam("role")
)


def storing(key: str, role: str, nonce: bytes) -> AlsoWrite:
    """The write that keeps an exchange's nonce, for the commit that logs its record
    (`Writer.append(..., also=...)`): the nonce is stored if and only if the record is."""
    values: dict[str, object] = {
        "request_id": key,
        "role": role,
        "nonce": nonce,
        "created_at": now_shanghai(),
    }

    def write(conn: Connection) -> None:
        conn.execute(_INSERT, values)

    return write


def lookup(engine: Engine, key: str, role: str) -> bytes | None:
    with engine.connect() as conn:
        value = conn.execute(_NONCE, {"key": key, "role": role}).scalar()
    return None if value is None else bytes(value)


def salt(directory: Path) -> bytes:
    """The node's salt, made on first use (O_EXCL, so two processes cannot make two)."""
    # Asked on every exchange call: cached by the path as given, resolved only once.
    if directory not in _salts:
        _salts[directory] = _read_or_make(directory.resolve() / SALT_FILE)
    return _salts[directory]


def _read_or_make(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    value = secrets.token_bytes(SALT_BYTES)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes()
    with os.fdopen(fd, "wb") as f:
        f.write(value)
    return value


def pseudonym(directory: Path, user_id: str) -> str:
    return hashlib.sha256(salt(directory) + user_id.encode()).hexdigest()
