"""A Merkle log kept in the database: reading entries, tiles, nodes and proofs, and writing
batches of entries with the tiles they complete.

Several logs share the tables (the node's own and, later, copies of other members' logs);
each `TreeStore` works on one `log_id`.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Generator, Iterable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from sqlalchemy import Connection, Engine, bindparam, func, select

from lunan.log import bundles, merkle, tiles
from lunan.log.merkle import Node
from lunan.storage.bulk import insert_rows
from lunan.storage.schema import log_checkpoints, log_tiles

TileKey = tuple[int, int]  # (tile level, tile index)


class LogIntegrityError(RuntimeError):
    """The stored tree does not match what was signed: refuse to extend it."""


@dataclass(frozen=True)
class StoredTile:
    width: int
    nodes: bytes

    def node(self, r: int, pos: int) -> bytes:
        return tiles.node_in_tile(self.nodes, self.width, r, pos)

    def levels(self) -> list[list[bytes]]:
        out: list[list[bytes]] = []
        for r in range(tiles.TILE_HEIGHT):
            start = tiles.level_offset(self.width, r)
            out.append(
                [
                    self.nodes[start + i * merkle.HASH_SIZE : start + (i + 1) * merkle.HASH_SIZE]
                    for i in range(self.width >> r)
                ]
            )
        return out


# One tile by primary key. (A row-value IN over (level, idx), or an OR of levels, makes
# SQLite use only log_id of the key and scan every tile of the log.)
_TILE = select(log_tiles.c.width, log_tiles.c.nodes).where(
    log_tiles.c.log_id == bindparam("log_id"),
    log_tiles.c.level == bindparam("level"),
    log_tiles.c.idx == bindparam("idx"),
)


_LATEST = (
    select(log_checkpoints.c.size, log_checkpoints.c.note)
    .where(log_checkpoints.c.log_id == bindparam("log_id"))
    .order_by(log_checkpoints.c.size.desc())
    .limit(1)
)
_SIZE = select(func.max(log_checkpoints.c.size)).where(
    log_checkpoints.c.log_id == bindparam("log_id")
)


class _LRU:
    """A thread-safe least-recently-used map of immutable tiles."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._items: OrderedDict[TileKey, StoredTile] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: TileKey) -> StoredTile | None:
        with self._lock:
            tile = self._items.get(key)
            if tile is not None:
                self._items.move_to_end(key)
            return tile

    def put(self, key: TileKey, tile: StoredTile) -> None:
        with self._lock:
            self._items[key] = tile
            self._items.move_to_end(key)
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)


class TreeStore:
    """Read access to one stored log."""

    def __init__(self, engine: Engine, log_id: int, cached_tiles: int = 1024) -> None:
        self.engine = engine
        self.log_id = log_id
        self._tiles = _LRU(cached_tiles)

    # --- checkpoints -----------------------------------------------------------------------

    def latest(self, conn: Connection | None = None) -> tuple[int, str] | None:
        """(size, signed note) of the newest checkpoint, or None for a log never signed."""
        with self._conn(conn) as c:
            row = c.execute(_LATEST, {"log_id": self.log_id}).first()
        return (row.size, row.note) if row else None

    def size(self) -> int:
        with self.engine.connect() as c:
            size = c.execute(_SIZE, {"log_id": self.log_id}).scalar()
        return int(size or 0)

    def checkpoints(self) -> Generator[tuple[int, str]]:
        """Every stored checkpoint, oldest first (streamed)."""
        q = (
            select(log_checkpoints.c.size, log_checkpoints.c.note)
            .where(log_checkpoints.c.log_id == self.log_id)
            .order_by(log_checkpoints.c.size)
        )
        with self.engine.connect() as c, c.execution_options(yield_per=1000).execute(q) as rows:
            for row in rows:
                yield row.size, row.note

    def checkpoints_after(self, after: int, limit: int) -> list[tuple[int, str]]:
        """Up to `limit` stored checkpoints with size above `after`, oldest first."""
        q = (
            select(log_checkpoints.c.size, log_checkpoints.c.note)
            .where(log_checkpoints.c.log_id == self.log_id, log_checkpoints.c.size > after)
            .order_by(log_checkpoints.c.size)
            .limit(limit)
        )
        with self.engine.connect() as c:
            return [(row.size, row.note) for row in c.execute(q)]

    def count_checkpoints(self) -> int:
        q = select(func.count()).where(log_checkpoints.c.log_id == self.log_id)
        with self.engine.connect() as c:
            return int(c.execute(q).scalar_one())

    # --- entries ---------------------------------------------------------------------------

    def entries(self, begin: int, end: int) -> list[bytes]:
        """Entries [begin, end) in index order; BundleError if any is not stored."""
        with self.engine.connect() as c:
            return bundles.entries(c, self.log_id, begin, end)

    def encoded_entries(self, begin: int, end: int) -> bytes:
        """Entries [begin, end) in the tlog-tiles entry-bundle encoding, as stored."""
        with self.engine.connect() as c:
            return bundles.encoded(c, self.log_id, begin, end)

    def last_index(self, conn: Connection | None = None) -> int | None:
        """The highest stored entry index: a primary-key seek, cheap at any size."""
        with self._conn(conn) as c:
            return bundles.last_index(c, self.log_id)

    # --- tiles and nodes -------------------------------------------------------------------

    def load_tiles(
        self, keys: Iterable[TileKey], conn: Connection | None = None
    ) -> dict[TileKey, StoredTile]:
        """Stored tiles by (level, index), read from the database; absent ones are left out."""
        found: dict[TileKey, StoredTile] = {}
        with self._conn(conn) as c:
            for level, idx in set(keys):
                row = c.execute(_TILE, {"log_id": self.log_id, "level": level, "idx": idx}).first()
                if row is not None:
                    found[(level, idx)] = StoredTile(row.width, bytes(row.nodes))
        return found

    def tile_range(self, level: int, first: int, last: int) -> dict[TileKey, StoredTile]:
        """Every stored tile of `level` with index in [first, last]: one range scan."""
        q = select(log_tiles.c.idx, log_tiles.c.width, log_tiles.c.nodes).where(
            log_tiles.c.log_id == self.log_id,
            log_tiles.c.level == level,
            log_tiles.c.idx >= first,
            log_tiles.c.idx <= last,
        )
        with self.engine.connect() as c:
            return {(level, r.idx): StoredTile(r.width, bytes(r.nodes)) for r in c.execute(q)}

    def nodes(self, wanted: Iterable[Node], conn: Connection | None = None) -> dict[Node, bytes]:
        """Hashes of complete nodes, from the tiles they live in.

        A node never changes once complete, so tiles are cached: a cached tile serves every
        node it already holds, and is read again only for a node completed since.
        """
        located = {n: tiles.node_location(n) for n in wanted}
        by_tile: dict[TileKey, list[tuple[int, int]]] = {}
        for lv, ti, r, pos in located.values():
            by_tile.setdefault((lv, ti), []).append((r, pos))
        stored: dict[TileKey, StoredTile] = {}
        stale = []
        for key, needs in by_tile.items():
            tile = self._tiles.get(key)
            if tile is None or not all(pos < tile.width >> r for r, pos in needs):
                stale.append(key)
            else:
                stored[key] = tile
        for key, tile in self.load_tiles(stale, conn).items():
            stored[key] = tile
            self._tiles.put(key, tile)
        out: dict[Node, bytes] = {}
        for n, (lv, ti, r, pos) in located.items():
            tile = stored.get((lv, ti))
            if tile is None:
                raise LogIntegrityError(f"tile {lv}/{ti} holding node {n} is missing")
            out[n] = tile.node(r, pos)
        return out

    def _proof(self, plan: merkle.Plan) -> list[bytes]:
        found = self.nodes(n for nodes in plan for n in nodes)
        return merkle.build_proof(plan, found.__getitem__)

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        self._check_size(size)
        return self._proof(merkle.inclusion_plan(index, size))

    def consistency_proof(self, old: int, new: int) -> list[bytes]:
        self._check_size(new)
        return self._proof(merkle.consistency_plan(old, new))

    def root(self, size: int, conn: Connection | None = None) -> bytes:
        """The tree hash at any size up to the stored one, from stored nodes."""
        if conn is None:
            self._check_size(size)
        edge = merkle.range_nodes(0, size)
        found = self.nodes(edge, conn)
        return merkle.fold([found[n] for n in edge])

    def leaf_hash(self, index: int) -> bytes:
        return self.nodes([(0, index)])[(0, index)]

    def served_tile(self, ref: tiles.TileRef) -> bytes | None:
        """A tile's hashes as tlog-tiles serves them, or None if the tree is not that big."""
        if ref.level < 0:
            raise ValueError("entry bundles are served by entries()")
        stored = self.load_tiles([(ref.level, ref.index)]).get((ref.level, ref.index))
        if stored is None or stored.width < ref.width:
            return None
        return tiles.first_level(stored.nodes, ref.width)

    def _check_size(self, size: int) -> None:
        current = self.size()
        if size > current:
            raise merkle.ProofError(f"size {size} is larger than the log ({current})")

    def _conn(self, conn: Connection | None) -> _ConnCtx:
        return _ConnCtx(self.engine, conn)


class _ConnCtx:
    """Use the caller's connection (inside its transaction) or open a short-lived one."""

    def __init__(self, engine: Engine, conn: Connection | None) -> None:
        self.engine, self.conn = engine, conn
        self.own: Connection | None = None

    def __enter__(self) -> Connection:
        if self.conn is not None:
            return self.conn
        own = self.own = self.engine.connect()
        return own

    def __exit__(self, *exc: object) -> None:
        if self.own is not None:
            self.own.close()


class TileRow(NamedTuple):
    """A tile to write: (level, index), its width and its packed node hashes."""

    level: int
    idx: int
    width: int
    nodes: bytes


@dataclass
class _OpenTile:
    """A tile still being filled: its node hashes at heights 0..7 within the tile."""

    index: int
    levels: list[list[bytes]] = field(default_factory=lambda: [[] for _ in range(8)])

    def grow(self, nodes: Sequence[bytes]) -> None:
        """Add nodes to the tile's first level and every parent they complete above."""
        self.levels[0].extend(nodes)
        for r in range(1, tiles.TILE_HEIGHT):
            new = merkle.parents(self.levels[r - 1], len(self.levels[r]))
            if not new:
                break  # nothing new at this height, so nothing above either
            self.levels[r].extend(new)

    def root(self) -> bytes:
        """The node one level up (height 8 above the tile's first level) of a full tile."""
        top = self.levels[tiles.TILE_HEIGHT - 1]
        return merkle.node_hash(top[0], top[1])

    def copy(self) -> _OpenTile:
        return _OpenTile(self.index, [list(level) for level in self.levels])


class TreeBuilder:
    """The growing right edge of a stored tree: the unfinished tile at each level.

    Every node on the tree's right edge lives in one of those tiles, so they give the root.
    `extend` returns a new builder so that a failed transaction leaves this one as it was;
    the caller keeps the new one only after commit.
    """

    def __init__(self, size: int, open_tiles: dict[int, _OpenTile]) -> None:
        self.size = size
        self.open_tiles = open_tiles

    @classmethod
    def load(cls, store: TreeStore, size: int, conn: Connection | None = None) -> TreeBuilder:
        open_tiles: dict[int, _OpenTile] = {}
        level = 0
        while size >> (tiles.TILE_HEIGHT * level):
            full, width = tiles.tiles_for_size(level, size)
            if width:
                stored = store.load_tiles([(level, full)], conn).get((level, full))
                if stored is None or stored.width != width:
                    raise LogIntegrityError(f"partial tile {level}/{full} is missing or short")
                open_tiles[level] = _OpenTile(full, stored.levels())
            level += 1
        return cls(size, open_tiles)

    def root(self) -> bytes:
        hashes = []
        for n in merkle.range_nodes(0, self.size):
            level, index, r, pos = tiles.node_location(n)
            tile = self.open_tiles.get(level)
            if tile is None or tile.index != index or pos >= len(tile.levels[r]):
                raise LogIntegrityError(f"edge node {n} is not in the open tiles")
            hashes.append(tile.levels[r][pos])
        return merkle.fold(hashes)

    def extend(self, leaf_hashes: Sequence[bytes]) -> tuple[TreeBuilder, list[TileRow]]:
        """A new builder with the leaves added, and the tile rows to write for them."""
        open_tiles = {level: t.copy() for level, t in self.open_tiles.items()}
        touched: dict[TileKey, _OpenTile] = {}
        incoming = list(leaf_hashes)
        level = 0
        while incoming:
            # `incoming` are new nodes of height 8·level; full tiles send their roots up.
            promoted: list[bytes] = []
            next_pos = self.size >> (tiles.TILE_HEIGHT * level)
            tile = open_tiles.pop(level, None)
            i = 0
            while i < len(incoming):
                if tile is None:
                    tile = _OpenTile((next_pos + i) // tiles.TILE_WIDTH)
                chunk = incoming[i : i + tiles.TILE_WIDTH - len(tile.levels[0])]
                tile.grow(chunk)
                i += len(chunk)
                touched[(level, tile.index)] = tile
                if len(tile.levels[0]) == tiles.TILE_WIDTH:
                    promoted.append(tile.root())
                    tile = None  # full tiles never change again: keep only unfinished ones
            if tile is not None:
                open_tiles[level] = tile
            incoming = promoted
            level += 1
        rows = [
            TileRow(level, tidx, len(tile.levels[0]), tiles.pack_tile(tile.levels))
            for (level, tidx), tile in touched.items()
        ]
        return TreeBuilder(self.size + len(leaf_hashes), open_tiles), rows


# Tiles are written many rows to a statement (lunan.storage.bulk); a partial tile is
# rewritten as it grows. The SQL (ON CONFLICT included) is the same for SQLite and PostgreSQL.
_TILE_COLUMNS = ("log_id", "level", "idx", "width", "nodes")
_TILE_UPSERT = (
    "ON CONFLICT (log_id, level, idx) DO UPDATE SET width = excluded.width, nodes = excluded.nodes"
)
_CHECKPOINT_COLUMNS = ("log_id", "size", "note", "signed_at")


def write_batch(
    conn: Connection,
    log_id: int,
    start: int,
    entries: tiles.EntryRun,
    tile_rows: list[TileRow],
    checkpoints: Sequence[tuple[int, str, str]],
) -> None:
    """Store entries, upsert tiles and add signed checkpoints (size, note, signed_at), inside
    the caller's transaction, in as few statements as their tables allow.

    A second writer that raced us fails here (lunan.log.bundles.StaleAppend, or the primary
    key of a bundle or checkpoint), before anything inconsistent could be signed.
    """
    bundles.write(conn, log_id, start, entries)
    rows = [(log_id, *r) for r in tile_rows]  # one row per tile: keys are unique
    insert_rows(conn, "log_tiles", _TILE_COLUMNS, rows, _TILE_UPSERT)
    insert_rows(conn, "log_checkpoints", _CHECKPOINT_COLUMNS, [(log_id, *c) for c in checkpoints])
