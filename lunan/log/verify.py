"""Audit a whole log from scratch: every leaf hash, every stored tile, every checkpoint.

The log is cut into chunks of 2^16 entries, each a perfect subtree aligned to tiles, so a
chunk is checked on its own (its entries, its level-0 and level-1 tiles, the prefixes that
checkpoints inside it cover) and chunks run in parallel on every core. The chunk roots are
then folded into the full tree, in order, in O(log n) memory.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field
from multiprocessing import get_context

import httpx
from sqlalchemy import Engine

from lunan.crypto import note
from lunan.log import bundles, merkle, tiles
from lunan.log import checkpoint as cp
from lunan.log.store import StoredTile, TreeStore
from lunan.storage import db

CHUNK_HEIGHT = 16
CHUNK = 1 << CHUNK_HEIGHT


class VerifyError(Exception):
    """The log does not verify; the message names the first bad entry or checkpoint."""


@dataclass(frozen=True)
class Report:
    origin: str
    size: int
    root: bytes
    checkpoints: int
    tiles_checked: bool


# --- where the log comes from ---------------------------------------------------------------


@dataclass(frozen=True)
class DatabaseSource:
    """A log in a node's database (entries, tiles and every stored checkpoint)."""

    url: str
    log_id: int

    def store(self) -> TreeStore:
        return TreeStore(_engine(self.url), self.log_id)

    def checkpoints(self) -> Generator[tuple[int, str]]:
        return self.store().checkpoints()

    def entries(self, begin: int, end: int) -> Generator[Sequence[bytes]]:
        """The entries stored in [begin, end), a bundle at a time, in index order; VerifyError
        at the first that is missing or in a malformed bundle."""
        with _engine(self.url).connect() as conn:
            try:
                yield from bundles.pieces(conn, self.log_id, begin, end)
            except bundles.BundleError as e:
                raise VerifyError(str(e)) from e

    def tiles(self, keys: Sequence[tuple[int, int]]) -> dict[tuple[int, int], StoredTile] | None:
        found: dict[tuple[int, int], StoredTile] = {}
        by_level: dict[int, list[int]] = {}
        for level, idx in keys:
            by_level.setdefault(level, []).append(idx)
        for level, idxs in by_level.items():  # a chunk's tiles are consecutive: range scans
            found.update(self.store().tile_range(level, min(idxs), max(idxs)))
        return found

    def last_index(self) -> int | None:
        return self.store().last_index()


@dataclass(frozen=True)
class HttpSource:
    """A log served over C2SP tlog-tiles; only its latest checkpoint is published."""

    base_url: str
    timeout: float = 30.0

    def _get(self, path: str) -> bytes:
        url = f"{self.base_url.rstrip('/')}/log/v1/{path}"
        try:
            r = _client(self.timeout).get(url)
        except httpx.HTTPError as e:
            raise VerifyError(f"cannot fetch {url}: {e}") from e
        if r.status_code != 200:
            raise VerifyError(f"{url} answered HTTP {r.status_code}")
        return r.content

    def checkpoints(self) -> Generator[tuple[int, str]]:
        signed = self._get("checkpoint").decode("utf-8", errors="replace")
        yield -1, signed  # size unknown until the note is opened

    def entries(self, begin: int, end: int) -> Generator[Sequence[bytes]]:
        try:
            yield from tiles.fetch_entries(self._get, begin, end)
        except ValueError as e:
            raise VerifyError(str(e)) from e

    def tiles(self, keys: Sequence[tuple[int, int]]) -> dict[tuple[int, int], StoredTile] | None:
        return None  # a remote log's tiles are checked by whoever uses them for proofs

    def last_index(self) -> int | None:
        return None  # a server publishes only what its checkpoint covers


Source = DatabaseSource | HttpSource

_engines: dict[tuple[int, str], Engine] = {}


_clients: dict[int, httpx.Client] = {}


def _client(timeout: float) -> httpx.Client:
    # One keep-alive client per process: a fresh connection per tile would dominate an audit.
    if os.getpid() not in _clients:
        _clients[os.getpid()] = httpx.Client(timeout=timeout)
    return _clients[os.getpid()]


def _engine(url: str) -> Engine:
    # Per process: a forked worker must never share its parent's database connections.
    key = (os.getpid(), url)
    if key not in _engines:
        _engines[key] = db.open_engine(url)
    return _engines[key]


# --- one chunk ------------------------------------------------------------------------------


@dataclass
class ChunkResult:
    start: int
    end: int
    edge: list[bytes]  # hashes of range_nodes(start, end): the chunk's root if it is full
    prefixes: dict[int, list[bytes]] = field(default_factory=dict)  # size -> range hashes
    error: str | None = None


def _levels(leaves: list[bytes]) -> list[list[bytes]]:
    """All complete nodes above the leaves, level by level (heights 0..16 at most)."""
    levels = [leaves]
    while len(levels[-1]) > 1:
        levels.append(merkle.parents(levels[-1]))
    return levels


def _node(levels: list[list[bytes]], start: int, n: merkle.Node) -> bytes:
    height, index = n
    return levels[height][index - (start >> height)]


def _expected_tile(
    levels: list[list[bytes]], start: int, level: int, index: int, width: int
) -> bytes:
    parts: list[list[bytes]] = []
    for r in range(tiles.TILE_HEIGHT):
        height = tiles.TILE_HEIGHT * level + r
        first = (index * tiles.TILE_WIDTH) >> r
        lo = first - (start >> height)
        parts.append(levels[height][lo : lo + (width >> r)] if height < len(levels) else [])
    return tiles.pack_tile(parts)


def _check_tiles(source: Source, levels: list[list[bytes]], start: int, end: int) -> str | None:
    wanted: list[tuple[int, int, int]] = []  # (level, index, width)
    for level in (0, 1):
        shift = tiles.TILE_HEIGHT * (level + 1)  # leaves per tile at this level
        for t in range(start >> shift, ((end - 1) >> shift) + 1):
            width = tiles.tile_width_at(level, t, end)
            if width:
                wanted.append((level, t, width))
    stored = source.tiles([(lv, t) for lv, t, _ in wanted])
    if stored is None:
        return None
    for level, t, width in wanted:
        tile = stored.get((level, t))
        expected = _expected_tile(levels, start, level, t, width)
        if tile is None:
            return f"tile {level}/{t} is missing from the stored tree"
        if tile.width == width and tile.nodes == expected:
            continue
        if level == 0:
            first = t * tiles.TILE_WIDTH
            have = tile.levels()[0] if tile else []
            for i in range(width):
                want = levels[0][first + i - start]
                if i >= len(have) or have[i] != want:
                    return (
                        f"entry {first + i}: its hash differs from the stored tree "
                        "(the entry or its tile was changed)"
                    )
        return f"tile {level}/{t}: stored hashes differ from those recomputed from the entries"
    return None


def verify_chunk(source: Source, start: int, end: int, sizes: Sequence[int]) -> ChunkResult:
    """Check entries [start, end) and the checkpoints whose size falls in (start, end]."""
    leaves: list[bytes] = []
    with closing(source.entries(start, end)) as batches:
        for batch in batches:
            leaves += merkle.leaf_hashes(batch)
    if len(leaves) != end - start:  # both sources raise first; this guards the arithmetic
        return ChunkResult(start, end, [], error=f"entry {start + len(leaves)} is missing")
    levels = _levels(leaves)
    error = _check_tiles(source, levels, start, end)
    result = ChunkResult(
        start, end, [_node(levels, start, n) for n in merkle.range_nodes(start, end)]
    )
    result.error = error
    for s in sizes:
        result.prefixes[s] = [_node(levels, start, n) for n in merkle.range_nodes(start, s)]
    return result


def _chunk_job(args: tuple[Source, int, int, list[int]]) -> ChunkResult:
    return verify_chunk(*args)


# --- the whole log --------------------------------------------------------------------------


def _open_checkpoints(source: Source, verifier: note.Verifier) -> list[cp.Checkpoint]:
    opened: list[cp.Checkpoint] = []
    with closing(source.checkpoints()) as stored:
        for stored_size, signed in stored:
            opened.append(_open_one(stored_size, signed, verifier, opened[-1] if opened else None))
    if not opened:
        raise VerifyError("the log has no signed checkpoint")
    return opened


def _open_one(
    stored_size: int, signed: str, verifier: note.Verifier, previous: cp.Checkpoint | None
) -> cp.Checkpoint:
    where = f"checkpoint at size {stored_size}" if stored_size >= 0 else "checkpoint"
    try:
        c = cp.open_signed(signed, verifier)
    except cp.CheckpointError as e:
        raise VerifyError(f"{where}: {e}") from e
    if stored_size >= 0 and c.size != stored_size:
        raise VerifyError(f"{where}: the signed note says size {c.size}")
    if previous and c.size <= previous.size:
        raise VerifyError(f"{where}: sizes must grow, but {previous.size} came before")
    return c


def verify_log(
    source: Source,
    verifier: note.Verifier,
    progress: Callable[[int, int], None] | None = None,
    workers: int | None = None,
) -> Report:
    """Check everything `source` holds against the log key; raise VerifyError at the first fault."""
    checkpoints = _open_checkpoints(source, verifier)
    size = checkpoints[-1].size
    top = source.last_index()
    if top is not None and top >= size:
        raise VerifyError(
            f"entries {size}..{top} are stored beyond the latest signed checkpoint (size {size}): "
            "a checkpoint was removed or entries were added behind the log's back"
        )
    by_chunk: dict[int, list[int]] = {}
    for c in checkpoints:
        if c.size == 0:
            if c.root != merkle.EMPTY_ROOT:
                raise VerifyError("checkpoint at size 0: root is not the empty tree's")
            continue
        by_chunk.setdefault((c.size - 1) // CHUNK, []).append(c.size)
    roots = {c.size: c.root for c in checkpoints}
    jobs = [
        (source, k * CHUNK, min(size, (k + 1) * CHUNK), by_chunk.get(k, []))
        for k in range((size + CHUNK - 1) // CHUNK)
    ]
    upper = merkle.CompactRange()  # chunk roots, as leaves of a tree 16 levels up
    upper_nodes: dict[merkle.Node, bytes] = {}
    done = 0
    for result in _run(jobs, workers):
        if result.error:
            raise VerifyError(result.error)
        for s, hashes in result.prefixes.items():
            if merkle.fold(upper.hashes + hashes) != roots[s]:
                raise VerifyError(
                    f"checkpoint at size {s}: its root does not match entries 0..{s - 1} "
                    "(an entry or the checkpoint was changed)"
                )
        if result.end - result.start == CHUNK:
            upper.append(
                result.edge[0],
                lambda h, i, v: upper_nodes.__setitem__((h + CHUNK_HEIGHT, i), v),
            )
        done = result.end
        if progress:
            progress(done, size)
    _check_upper_tiles(source, upper_nodes, size)
    return Report(
        verifier.name,
        size,
        checkpoints[-1].root,
        len(checkpoints),
        isinstance(source, DatabaseSource),
    )


def _run(
    jobs: list[tuple[Source, int, int, list[int]]], workers: int | None
) -> Iterator[ChunkResult]:
    n = workers or os.cpu_count() or 1
    if n <= 1 or len(jobs) <= 1:
        yield from map(_chunk_job, jobs)
        return
    pool: Executor = ProcessPoolExecutor(max_workers=n, mp_context=get_context("fork"))
    with pool:
        yield from pool.map(_chunk_job, jobs)


def _check_upper_tiles(source: Source, nodes: dict[merkle.Node, bytes], size: int) -> None:
    """Tiles of level 2 and up hold nodes of height ≥ 16: compare them with the chunk roots."""
    level = 2
    while size >> (tiles.TILE_HEIGHT * level):
        count = -(-(size >> (tiles.TILE_HEIGHT * level)) // tiles.TILE_WIDTH)
        stored = source.tiles([(level, t) for t in range(count)])
        if stored is None:
            return
        for t in range(count):
            width = tiles.tile_width_at(level, t, size)
            parts = []
            for r in range(tiles.TILE_HEIGHT):
                h = tiles.TILE_HEIGHT * level + r
                first = (t * tiles.TILE_WIDTH) >> r
                parts.append([nodes[(h, first + i)] for i in range(width >> r)])
            tile = stored.get((level, t))
            if tile is None or tile.nodes != tiles.pack_tile(parts):
                raise VerifyError(f"tile {level}/{t}: stored hashes differ from the entries'")
        level += 1
