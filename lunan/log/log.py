"""The node's own log: appends with group commit, and a new signed checkpoint per commit.

Group commit without a background thread: callers queue their entries; whoever finds no
commit under way becomes the leader, takes everything queued, writes it in one transaction
with one checkpoint, and wakes each caller it committed for. While it commits, new callers
queue up behind it, so batches grow with load; the first of them leads the next commit.
`append` returns only after the commit that holds its entries.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError

from lunan.clock import now_shanghai
from lunan.crypto import note
from lunan.log import checkpoint as cp
from lunan.log import merkle, tiles
from lunan.log.bundles import StaleAppend
from lunan.log.store import LogIntegrityError, TreeBuilder, TreeStore, write_batch

MAX_BATCH_ENTRIES = 8192

# Rows a caller writes in the same transaction as its entries (see Log.append's `also`).
AlsoWrite = Callable[[Connection], None]


class AppendError(ValueError):
    """Entries that cannot go into the log (too large); nothing was appended."""


@dataclass
class _Pending:
    """One caller's entries, waiting to be committed (or to be told to lead the next commit)."""

    entries: Sequence[bytes]
    also: AlsoWrite | None = None
    first: int = -1
    error: BaseException | None = None
    done: bool = False
    # A lock taken at birth, released to wake the caller: a plain C-level lock costs far
    # less than a threading.Event, and every append of a busy log passes through it.
    gate: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.gate.acquire()


class Log:
    """One log this node writes. Thread-safe; one writing process per log."""

    def __init__(self, engine: Engine, log_id: int, signer: note.Signer) -> None:
        self.engine = engine
        self.store = TreeStore(engine, log_id)
        self.signer = signer
        self._lock = threading.Lock()
        self._queue: deque[_Pending] = deque()
        self._committing = False
        self._builder: TreeBuilder | None = None

    # --- reading ---------------------------------------------------------------------------

    def size(self) -> int:
        """Entries under the latest checkpoint (read from the database: another process,
        such as `lunan serve` next to a CLI, may have appended)."""
        return self.store.size()

    def checkpoint(self) -> str:
        """The latest signed checkpoint (a C2SP signed note)."""
        latest = self.store.latest()
        if latest is None:
            raise LogIntegrityError("this log has never been signed: `lunan init` signs entry 0")
        return latest[1]

    # --- writing ---------------------------------------------------------------------------

    def append(self, entries: Sequence[bytes], also: AlsoWrite | None = None) -> int:
        """Append entries in order; return the index of the first once they are committed.

        `also(conn)` writes the caller's own rows in the commit that holds its entries (an
        exchange's nonce beside its record): stored if and only if the entries are, with no
        transaction of their own. It shares the batch's transaction, so it must not fail on
        anything a caller can send: an error fails every append of the batch."""
        for e in entries:
            if len(e) > tiles.MAX_ENTRY_SIZE:
                raise AppendError(
                    f"an entry has {len(e)} bytes; the most is {tiles.MAX_ENTRY_SIZE}: "
                    "store large data elsewhere and log its hash"
                )
        if not entries:
            return self.size()  # nothing to append: the index the next entry will get
        mine = _Pending(list(entries), also)
        with self._lock:
            self._queue.append(mine)
            lead = not self._committing
            self._committing = True
        if not lead:
            # Sleep until our entries are committed, or until the last leader hands over.
            mine.gate.acquire()
            if mine.done:
                return self._result(mine)
        while True:
            with self._lock:
                batch = self._take_batch()
            self._commit(batch)
            for p in batch:
                p.done = True
                if p is not mine:
                    p.gate.release()  # each waiter wakes alone: no thundering herd
            with self._lock:
                if not self._queue:
                    self._committing = False
                    return self._result(mine)
                if mine.done:
                    # Others queued during our commit: the first of them leads the next.
                    self._queue[0].gate.release()
                    return self._result(mine)
                # Our own entries did not fit in that batch: lead again.

    def _take_batch(self) -> list[_Pending]:
        """Whole calls from the front of the queue, up to MAX_BATCH_ENTRIES (at least one)."""
        batch: list[_Pending] = []
        count = 0
        while self._queue:
            nxt = self._queue[0]
            if batch and count + len(nxt.entries) > MAX_BATCH_ENTRIES:
                break
            batch.append(self._queue.popleft())
            count += len(nxt.entries)
        return batch

    @staticmethod
    def _result(p: _Pending) -> int:
        if p.error is not None:
            raise p.error
        return p.first

    def _commit(self, batch: list[_Pending]) -> None:
        try:
            self._write(batch)
        except Exception as e:  # every caller in the batch gets the same error
            for p in batch:
                p.error = e

    def _write(self, batch: list[_Pending]) -> None:
        entries = [e for p in batch for e in p.entries]
        run = tiles.EntryRun.of(entries)
        for attempt in range(2):
            builder = self._current_builder()
            start = builder.size
            new_builder, rows = builder.extend(merkle.leaf_hashes(entries))
            signed = self._sign(new_builder.size, new_builder.root())
            try:
                with self.engine.begin() as conn:
                    write_batch(conn, self.store.log_id, start, run, rows, [signed])
                    for p in batch:
                        if p.also is not None:
                            p.also(conn)
            except (IntegrityError, StaleAppend):
                # Another process appended behind our back: reload and try once more.
                self._builder = None
                if attempt:
                    raise
                continue
            self._builder = new_builder
            offset = start
            for p in batch:
                p.first = offset
                offset += len(p.entries)
            return

    def _current_builder(self) -> TreeBuilder:
        if self._builder is None:
            latest = self.store.latest()
            size = latest[0] if latest else 0
            top = self.store.last_index()
            if top != (size - 1 if size else None):
                raise LogIntegrityError(
                    f"the log's last entry is {top} but its latest checkpoint says size {size}: "
                    "run `lunan verify --dir` and restore from backup"
                )
            builder = TreeBuilder.load(self.store, size)
            self._check_matches_checkpoint(builder, latest)
            self._builder = builder
        return self._builder

    def _check_matches_checkpoint(
        self, builder: TreeBuilder, latest: tuple[int, str] | None
    ) -> None:
        """Never extend (and so never sign over) a stored tree that differs from what we signed.

        This compares the stored tiles with the checkpoint, cheaply; an entry changed behind
        an untouched tile is found by `lunan verify`, which rehashes everything.
        """
        if latest is not None:
            signed = cp.open_signed(latest[1], self.verifier())
            if signed.root != builder.root():
                raise LogIntegrityError(
                    f"stored tree at size {builder.size} does not match its signed "
                    "checkpoint: run `lunan verify --dir` and restore from backup"
                )

    def _sign(self, size: int, root: bytes) -> tuple[int, str, str]:
        body = cp.Checkpoint(self.signer.name, size, root)
        return size, cp.sign(body, self.signer), now_shanghai()

    def verifier(self) -> note.Verifier:
        return note.parse_vkey(self.signer.vkey())

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Log:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
