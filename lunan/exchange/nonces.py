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
import threading
import weakref
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, insert, select

from lunan.clock import now_shanghai
from lunan.storage.schema import exchange_secrets

SALT_FILE = "exchange.salt"
SALT_BYTES = 32
_salts: dict[Path, bytes] = {}


@dataclass
class _Pending:
    values: dict[str, object]
    done: bool = False
    error: BaseException | None = None


class _Batcher:
    """Group commit for nonces: whoever finds no commit under way writes everything queued in
    one transaction, so concurrent exchanges share one commit (one fsync) instead of queueing
    for SQLite's write lock one by one."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._cond = threading.Condition()
        self._queue: list[_Pending] = []
        self._busy = False

    def store(self, values: dict[str, object]) -> None:
        mine = _Pending(values)
        with self._cond:
            self._queue.append(mine)
            while self._busy and not mine.done:
                self._cond.wait()
            if not mine.done:
                self._busy = True
                batch, self._queue = self._queue, []
        if not mine.done:
            error: BaseException | None = None
            try:
                with self.engine.begin() as conn:
                    conn.execute(insert(exchange_secrets), [p.values for p in batch])
            except BaseException as e:  # every caller of the batch learns it failed
                error = e
            with self._cond:
                for p in batch:
                    p.done, p.error = True, error
                self._busy = False
                self._cond.notify_all()
        if mine.error is not None:
            raise mine.error


_batchers: weakref.WeakKeyDictionary[Engine, _Batcher] = weakref.WeakKeyDictionary()
_batchers_lock = threading.Lock()


def store(engine: Engine, key: str, role: str, nonce: bytes) -> None:
    """Keep an exchange's nonce; returns once it is committed."""
    with _batchers_lock:
        batcher = _batchers.get(engine)
        if batcher is None:
            batcher = _batchers[engine] = _Batcher(engine)
    values: dict[str, object] = {
        "request_id": key,
        "role": role,
        "nonce": nonce,
        "created_at": now_shanghai(),
    }
    batcher.store(values)


def lookup(engine: Engine, key: str, role: str) -> bytes | None:
    q = select(exchange_secrets.c.nonce).where(
        exchange_secrets.c.request_id == key, exchange_secrets.c.role == role
    )
    with engine.connect() as conn:
        value = conn.execute(q).scalar()
    return None if value is None else bytes(value)


def salt(directory: Path) -> bytes:
    """The node's salt, made on first use (O_EXCL, so two processes cannot make two)."""
    path = directory.resolve() / SALT_FILE
    if path not in _salts:
        _salts[path] = _read_or_make(path)
    return _salts[path]


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
