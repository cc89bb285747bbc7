"""The node's own log: appends with group commit, and a new signed checkpoint per commit.

Group commit without a background thread: callers queue their entries; whoever finds no
commit under way becomes the leader, takes everything queued, writes it in one transaction
with one checkpoint, and wakes the others. While it commits, new callers queue up behind it,
so batches grow with load. `append` returns only after the commit that holds its entries.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from lunan.clock import now_shanghai
from lunan.crypto import note
from lunan.log import checkpoint as cp
from lunan.log import merkle, tiles
from lunan.log.store import LogIntegrityError, TreeBuilder, TreeStore, write_batch

MAX_BATCH_ENTRIES = 8192


class AppendError(ValueError):
    """Entries that cannot go into the log (too large); nothing was appended."""


@dataclass
class _Pending:
    entries: Sequence[bytes]
    first: int = -1
    error: BaseException | None = None
    done: bool = False


@dataclass
class _Queue:
    items: list[_Pending] = field(default_factory=list)
    committing: bool = False


class Log:
    """One log this node writes. Thread-safe; one writing process per log."""

    def __init__(self, engine: Engine, log_id: int, signer: note.Signer) -> None:
        self.engine = engine
        self.store = TreeStore(engine, log_id)
        self.signer = signer
        self._cv = threading.Condition()
        self._queue = _Queue()
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

    def append(self, entries: Sequence[bytes]) -> int:
        """Append entries in order; return the index of the first once they are committed."""
        for e in entries:
            if len(e) > tiles.MAX_ENTRY_SIZE:
                raise AppendError(
                    f"an entry has {len(e)} bytes; the most is {tiles.MAX_ENTRY_SIZE}: "
                    "store large data elsewhere and log its hash"
                )
        if not entries:
            return self.size()  # nothing to append: the index the next entry will get
        mine = _Pending(list(entries))
        with self._cv:
            self._queue.items.append(mine)
            while not mine.done:
                if self._queue.committing:
                    self._cv.wait()
                    continue
                # Lead: take what is queued (ours may wait for the next batch if this one is full).
                self._queue.committing = True
                batch = self._take_batch()
                self._cv.release()
                try:
                    self._commit(batch)
                finally:
                    self._cv.acquire()
                    for p in batch:
                        p.done = True
                    self._queue.committing = False
                    self._cv.notify_all()
            return self._result(mine)

    def _take_batch(self) -> list[_Pending]:
        batch: list[_Pending] = []
        count = 0
        while self._queue.items:
            nxt = self._queue.items[0]
            if batch and count + len(nxt.entries) > MAX_BATCH_ENTRIES:
                break
            batch.append(self._queue.items.pop(0))
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
        for attempt in range(2):
            builder = self._current_builder()
            start = builder.edge.size
            new_builder, rows = builder.extend([merkle.leaf_hash(e) for e in entries])
            signed = self._sign(new_builder.edge.size, new_builder.edge.root())
            try:
                with self.engine.begin() as conn:
                    write_batch(conn, self.store.log_id, start, entries, rows, signed)
            except IntegrityError:
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
            if signed.root != builder.edge.root():
                raise LogIntegrityError(
                    f"stored tree at size {builder.edge.size} does not match its signed "
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
