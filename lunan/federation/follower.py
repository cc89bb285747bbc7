"""Follow another member's log: fetch, verify, store — and notice if it ever forks.

The follower replays the member's own commit history: it lists the checkpoints the member
signed after the last one stored here, fetches the entries they cover, recomputes every root
from its stored copy plus the new entries, and only then writes entries, tiles and those
signed checkpoints in one transaction. Each step resumes where the last committed one ended.

Two signed checkpoints of one origin that cannot both be true (different roots for one size,
or a tree that does not extend the one stored here) are proof of a fork: both are kept in an
alert, and the follower stops taking that member's entries until an operator looks.
"""

from __future__ import annotations

import base64
import json
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass

from sqlalchemy import Engine, insert, select

from lunan.clock import now_shanghai
from lunan.crypto import note
from lunan.federation.peer import Peer, PeerError
from lunan.log import checkpoint as cp
from lunan.log import merkle, tiles
from lunan.log.store import TileRow, TreeBuilder, TreeStore, write_batch
from lunan.storage.schema import alerts, witness_state

SEGMENT = 1 << 14  # entries verified and committed together while catching up
FETCHES_IN_FLIGHT = 4
PAGE = 1000  # signed checkpoints listed per request
MAX_COMMIT = 1 << 18  # the most entries one signed step may add
FORK = "fork"
SWITCH_INTERVAL = 0.0005  # seconds: how often threads hand over the interpreter lock, catching up


class ForkDetected(Exception):
    """The member signed two checkpoints that cannot both be true."""


@dataclass
class Progress:
    replicated: int = 0
    target: int = 0


def open_alert(engine: Engine, origin: str, kind: str) -> bool:
    """Whether an alert of this kind about `origin` is open: not yet resolved by an operator
    (lunan.federation.alerts). A resolved alert is history and stops nothing."""
    q = (
        select(alerts.c.id)
        .where(alerts.c.origin == origin, alerts.c.kind == kind, alerts.c.resolved_at.is_(None))
        .limit(1)
    )
    with engine.connect() as c:
        return c.execute(q).first() is not None


def raise_alert(engine: Engine, origin: str, kind: str, detail: str, evidence: object) -> None:
    with engine.begin() as c:
        c.execute(
            insert(alerts).values(
                origin=origin,
                kind=kind,
                detail=detail,
                evidence=json.dumps(evidence, ensure_ascii=False),
                created_at=now_shanghai(),
            )
        )


class Follower:
    """Replicates one member's log into this node's database (as log `log_id`)."""

    def __init__(self, engine: Engine, log_id: int, verifier: note.Verifier, peer: Peer) -> None:
        self.engine = engine
        self.store = TreeStore(engine, log_id)
        self.origin = verifier.name
        self.verifier = verifier
        self.peer = peer
        self.seen_size = 0  # the size the member last showed us
        self.served = ""  # the checkpoint note it served then, cosignatures included

    @property
    def stopped(self) -> bool:
        """While a fork alert about the member is open. Once an operator resolves it the
        follower tries again: a log that still conflicts with our copy raises a new alert."""
        return open_alert(self.engine, self.origin, FORK)

    def sync(
        self,
        on_progress: Callable[[Progress], None] | None = None,
        until: float | None = None,
    ) -> int:
        """Catch up with the member's latest checkpoint; return how many entries were added.
        With `until` (a time.monotonic() value) no segment is begun after that time, though
        one always is: a long catch-up stops there and goes on at the next call, so that it
        does not hold up the other members."""
        if self.stopped:
            return 0
        served = self.peer.get("/log/v1/checkpoint").decode("utf-8", "replace")
        latest = self._open(served)
        if latest.size >= cp.MAX_SIZE:
            raise PeerError(f"{self.origin} shows size {latest.size}, beyond what a log can hold")
        self.seen_size, self.served = latest.size, served
        stored = self.store.latest()
        size = stored[0] if stored else 0
        added = 0
        if latest.size <= size:
            self._check_not_behind(latest, served, stored)
        else:
            added = self._catch_up(size, latest.size, on_progress, until)
        self._check_witnessed()
        return added

    def _catch_up(
        self,
        size: int,
        target: int,
        on_progress: Callable[[Progress], None] | None,
        until: float | None,
    ) -> int:
        """Verify and store segment after segment; returns the entries added. Three things
        overlap: the member serves the next entries, this thread hashes the current segment,
        and a writer thread commits the one before (SQLite runs without the interpreter
        lock)."""
        builder = TreeBuilder.load(self.store, size)
        steps = _SignedSteps(self, size)
        # Only a catch-up of several segments has its writer at work while hashing goes on.
        slices = _short_slices() if target - size > SEGMENT else nullcontext()
        with slices, _EntryStream(self, size, target) as stream, _Writer(self) as writer:
            while builder.size < target:
                if builder.size > size and until is not None and time.monotonic() > until:
                    break
                segment = self._next_segment(steps, builder.size, target)
                if not segment:
                    raise PeerError(f"{self.origin} shows size {target} but lists no checkpoint")
                builder = self._apply(builder, segment, stream, writer)
                if on_progress:
                    on_progress(Progress(builder.size, target))
        return builder.size - size

    def _open(self, signed: str) -> cp.Checkpoint:
        try:
            return cp.open_signed(signed, self.verifier)
        except cp.CheckpointError as e:
            raise PeerError(f"{self.origin}: {e}") from e

    def _next_segment(self, steps: _SignedSteps, size: int, target: int) -> list[Signed]:
        """The member's next signed checkpoints above `size`, up to `target`: as many as
        make up about SEGMENT entries (at least one)."""
        segment: list[Signed] = []
        while (step := steps.peek()) is not None and step[0].size <= target:
            checkpoint = step[0]
            if not segment and checkpoint.size > size + MAX_COMMIT:
                # Logs commit at most 8,192 entries at a time; a bigger step would make us
                # hold a peer-chosen amount of data in memory before we could verify it.
                raise PeerError(
                    f"{self.origin} signed {checkpoint.size - size} entries in one step"
                )
            if segment and checkpoint.size > size + SEGMENT:
                break
            segment.append(steps.pop())
            if checkpoint.size >= size + SEGMENT:
                break
        return segment

    def _apply(
        self,
        builder: TreeBuilder,
        segment: list[Signed],
        stream: _EntryStream,
        writer: _Writer,
    ) -> TreeBuilder:
        """Check every signed root of the segment against our tree plus the member's entries;
        hand the segment to the writer only if all match. Returns the grown tree."""
        size = builder.size
        run = stream.take(segment[-1][0].size - size)
        entries = run.entries
        rows: dict[tuple[int, int], TileRow] = {}
        done = size
        for checkpoint, signed in segment:
            leaves = merkle.leaf_hashes(entries[done - size : checkpoint.size - size])
            builder, changed = builder.extend(leaves)
            rows.update(((r.level, r.idx), r) for r in changed)  # a later row supersedes
            done = checkpoint.size
            if builder.root() != checkpoint.root:
                writer.wait()  # our stored copy must be complete to tell a fork from bad data
                self._fork_or_bad_data(size, checkpoint, signed)
        writer.write(_Verified(size, run, list(rows.values()), segment))
        return builder

    def _fork_or_bad_data(self, size: int, checkpoint: cp.Checkpoint, signed: str) -> None:
        """Our copy plus the served entries miss the signed root: bad entries, or a fork?"""
        stored = self.store.latest()
        if stored is None or size == 0:
            raise PeerError(f"{self.origin}: served entries do not match its checkpoint")
        old_root = self.store.root(size)
        try:
            body = json.loads(
                self.peer.get(f"/api/v1/log/proof/consistency?old={size}&new={checkpoint.size}")
            )
            proof = [base64.b64decode(p) for p in body["proof"]]
        except (ValueError, KeyError, TypeError) as e:
            raise PeerError(f"{self.origin}: no usable consistency proof: {e}") from e
        try:
            merkle.verify_consistency(size, checkpoint.size, proof, old_root, checkpoint.root)
        except merkle.ProofError:
            # Whatever proof the member sends, a tree that extends ours would verify: the
            # checkpoint it signed cannot extend the one we hold.
            self._fork(
                f"checkpoint {checkpoint.size} does not extend the tree of size {size} stored here",
                [stored[1], signed],
            )
        raise PeerError(f"{self.origin}: served entries do not match its checkpoint")

    def _check_not_behind(
        self, latest: cp.Checkpoint, served: str, stored: tuple[int, str] | None
    ) -> None:
        """A member showing a smaller or equal tree must show one we already hold."""
        if stored is None or latest.size == 0:
            return
        if self.store.root(latest.size) != latest.root:
            self._fork(
                f"checkpoint {latest.size} differs from the tree of that size stored here",
                [stored[1], served],
            )

    def _check_witnessed(self) -> None:
        """What this node's witness cosigned of the member must be in the copy we follow:
        otherwise the member showed our witness one history and our follower another."""
        with self.engine.connect() as c:
            row = c.execute(
                select(witness_state.c.size, witness_state.c.root, witness_state.c.note).where(
                    witness_state.c.origin == self.origin
                )
            ).first()
        stored = self.store.latest()
        if row is None or stored is None or row.size == 0 or row.size > stored[0]:
            return
        if self.store.root(row.size) != bytes(row.root):
            self._fork(
                f"the checkpoint of size {row.size} this node's witness cosigned is not in the "
                "log the member serves",
                [row.note, stored[1]],
            )

    def _fork(self, detail: str, evidence: list[str]) -> None:
        raise_alert(self.engine, self.origin, FORK, detail, evidence)
        raise ForkDetected(f"{self.origin}: {detail}")


Signed = tuple[cp.Checkpoint, str]  # a checkpoint, opened, and the signed note it came in

_slices = threading.Lock()
_catching_up = 0  # catch-ups running in this process
_usual_interval = sys.getswitchinterval()


@contextmanager
def _short_slices() -> Iterator[None]:
    """While any catch-up runs, threads hand over the interpreter lock every 0.5 ms, not 5.
    Each SQLite call of the writer releases the lock and takes it back, and taking it back
    waited out the hashing thread's whole slice: the writer spent more time waiting than
    working, and the hashing waited for the writer (docs/performance.md)."""
    global _catching_up, _usual_interval
    with _slices:
        if _catching_up == 0:
            _usual_interval = sys.getswitchinterval()
            sys.setswitchinterval(SWITCH_INTERVAL)
        _catching_up += 1
    try:
        yield
    finally:
        with _slices:
            _catching_up -= 1
            if _catching_up == 0:
                sys.setswitchinterval(_usual_interval)


class _SignedSteps:
    """The member's signed checkpoints above a size, oldest first: listed a page at a time
    and each opened (its signature checked) once."""

    def __init__(self, follower: Follower, after: int) -> None:
        self.follower = follower
        self.after = after
        self.listed: deque[Signed] = deque()
        self.ended = False

    def peek(self) -> Signed | None:
        if not self.listed and not self.ended:
            self._page()
        return self.listed[0] if self.listed else None

    def pop(self) -> Signed:
        return self.listed.popleft()

    def _page(self) -> None:
        path = f"/api/v1/log/checkpoints?after={self.after}&limit={PAGE}"
        body = self.follower.peer.get(path)
        try:
            notes = [str(item["note"]) for item in json.loads(body)["checkpoints"]]
        except (ValueError, KeyError, TypeError) as e:
            raise PeerError(
                f"{self.follower.origin}: {path} is not a list of signed checkpoints "
                f"({type(e).__name__}: {e})"
            ) from e
        self.ended = len(notes) < PAGE
        for signed in notes:
            checkpoint = self.follower._open(signed)
            if checkpoint.size <= self.after:
                raise PeerError(f"{self.follower.origin} lists checkpoints out of order")
            self.listed.append((checkpoint, signed))
            self.after = checkpoint.size


class _EntryStream:
    """The member's entries [begin, end) in order, fetched 4,096 per request with several
    requests in flight ahead of the reader (the member serves them on its own cores), each
    checked only for its count here: the roots come next."""

    def __init__(self, follower: Follower, begin: int, end: int) -> None:
        self.follower = follower
        step = tiles.MAX_RANGE
        # Made as they are needed: the end is what the member signed, not yet what it holds.
        self.ranges = ((b, min(end, b + step)) for b in range(begin, end, step))
        self.pool = ThreadPoolExecutor(max_workers=FETCHES_IN_FLIGHT)
        self.pending: deque[tuple[tuple[int, int], Future[bytes]]] = deque()
        self.held: deque[tiles.EntryRun] = deque()  # received, not yet taken
        self._refill()

    def __enter__(self) -> _EntryStream:
        return self

    def __exit__(self, *exc: object) -> None:
        for _, future in self.pending:
            future.cancel()
        self.pool.shutdown(wait=True)

    def _refill(self) -> None:
        while len(self.pending) < FETCHES_IN_FLIGHT:
            bounds = next(self.ranges, None)
            if bounds is None:
                return
            self.pending.append((bounds, self.pool.submit(self._fetch, bounds)))

    def _fetch(self, bounds: tuple[int, int]) -> bytes:
        return self.follower.peer.get(f"/api/v1/log/entries?begin={bounds[0]}&end={bounds[1]}")

    def take(self, n: int) -> tiles.EntryRun:
        """The next n entries, with their encoding as received (the writer stores those)."""
        taken: list[tiles.EntryRun] = []
        count = 0
        while count < n:
            if not self.held:
                self.held.append(self._receive())
            run = self.held.popleft()
            if len(run) > n - count:
                run, rest = run.split(n - count)
                self.held.appendleft(rest)
            taken.append(run)
            count += len(run)
        return tiles.EntryRun.join(taken)

    def _receive(self) -> tiles.EntryRun:
        origin = self.follower.origin
        if not self.pending:
            raise PeerError(f"{origin}: its entries end before its checkpoint")
        (first, last), future = self.pending.popleft()
        data = future.result()
        self._refill()
        try:
            run = tiles.EntryRun.parse(data)
        except ValueError as e:
            raise PeerError(f"{origin}: entries {first}–{last}: {e}") from e
        if len(run) != last - first:
            raise PeerError(f"{origin}: asked for entries {first}–{last}, got {len(run)}")
        return run


class _Writer:
    """Commits verified segments on a thread of its own, one at a time and in order; at most
    one waits while the next is verified. A failed write is raised at the next call."""

    def __init__(self, follower: Follower) -> None:
        self.follower = follower
        self.pool = ThreadPoolExecutor(max_workers=1)
        self.last: Future[None] | None = None

    def __enter__(self) -> _Writer:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.wait()
        finally:
            self.pool.shutdown(wait=True)

    def wait(self) -> None:
        last, self.last = self.last, None
        if last is not None:
            last.result()

    def write(self, segment: _Verified) -> None:
        self.wait()
        self.last = self.pool.submit(self._commit, segment)

    def _commit(self, segment: _Verified) -> None:
        now = now_shanghai()
        log_id = self.follower.store.log_id
        with self.follower.engine.begin() as conn:
            signed = [(checkpoint.size, note, now) for checkpoint, note in segment.checkpoints]
            write_batch(conn, log_id, segment.start, segment.run, segment.tiles, signed)


@dataclass(frozen=True)
class _Verified:
    """A segment whose every signed root matched: what the writer stores of it."""

    start: int
    run: tiles.EntryRun  # the entries, and their encoding as received
    tiles: list[TileRow]
    checkpoints: list[Signed]
