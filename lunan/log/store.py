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

from sqlalchemy import Connection, Engine, bindparam, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite

from lunan.log import merkle, tiles
from lunan.log.merkle import Node
from lunan.storage.schema import log_checkpoints, log_entries, log_tiles

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

    def count_checkpoints(self) -> int:
        q = select(func.count()).where(log_checkpoints.c.log_id == self.log_id)
        with self.engine.connect() as c:
            return int(c.execute(q).scalar_one())

    # --- entries ---------------------------------------------------------------------------

    def entries(self, begin: int, end: int) -> list[bytes]:
        q = (
            select(log_entries.c.data)
            .where(log_entries.c.log_id == self.log_id)
            .where(log_entries.c.idx >= begin, log_entries.c.idx < end)
            .order_by(log_entries.c.idx)
        )
        with self.engine.connect() as c:
            return [bytes(r[0]) for r in c.execute(q)]

    def last_index(self, conn: Connection | None = None) -> int | None:
        """The highest stored entry index: a primary-key seek, cheap at any size."""
        q = select(func.max(log_entries.c.idx)).where(log_entries.c.log_id == self.log_id)
        with self._conn(conn) as c:
            top = c.execute(q).scalar_one()
        return None if top is None else int(top)

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


@dataclass
class _OpenTile:
    index: int
    levels: list[list[bytes]] = field(default_factory=lambda: [[] for _ in range(8)])


class TreeBuilder:
    """The growing right edge of a stored tree: its compact range and its unfinished tiles.

    `extend` returns a new builder so that a failed transaction leaves this one as it was;
    the caller keeps the new one only after commit.
    """

    def __init__(self, edge: merkle.CompactRange, open_tiles: dict[int, _OpenTile]) -> None:
        self.edge = edge
        self.open_tiles = open_tiles

    @classmethod
    def load(cls, store: TreeStore, size: int, conn: Connection | None = None) -> TreeBuilder:
        edge_nodes = merkle.range_nodes(0, size)
        found = store.nodes(edge_nodes, conn)
        edge = merkle.CompactRange(size, [found[n] for n in edge_nodes])
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
        return cls(edge, open_tiles)

    def extend(self, leaf_hashes: Sequence[bytes]) -> tuple[TreeBuilder, list[dict[str, object]]]:
        """A new builder with the leaves added, and the tile rows to write for them."""
        edge = self.edge.copy()
        open_tiles = {
            lv: _OpenTile(t.index, [list(x) for x in t.levels]) for lv, t in self.open_tiles.items()
        }
        touched: dict[TileKey, _OpenTile] = {}

        def completed(height: int, index: int, value: bytes) -> None:
            level, tidx, r, pos = tiles.node_location((height, index))
            tile = open_tiles.get(level)
            if tile is None or tile.index != tidx:
                tile = open_tiles[level] = _OpenTile(tidx)
            if len(tile.levels[r]) != pos:
                raise LogIntegrityError(f"node {(height, index)} out of order in its tile")
            tile.levels[r].append(value)
            touched[(level, tidx)] = tile

        for h in leaf_hashes:
            edge.append(h, completed)
        rows: list[dict[str, object]] = [
            {
                "level": level,
                "idx": tidx,
                "width": len(tile.levels[0]),
                "nodes": tiles.pack_tile(tile.levels),
            }
            for (level, tidx), tile in touched.items()
        ]
        # Full tiles never change again: keep only unfinished ones in memory.
        open_tiles = {lv: t for lv, t in open_tiles.items() if len(t.levels[0]) < tiles.TILE_WIDTH}
        return TreeBuilder(edge, open_tiles), rows


def write_batch(
    conn: Connection,
    log_id: int,
    start: int,
    entries: Sequence[bytes],
    tile_rows: list[dict[str, object]],
    checkpoint: tuple[int, str, str] | None,
) -> None:
    """Insert entries, upsert tiles and add a checkpoint, inside the caller's transaction.

    The entries' primary key makes a second writer that raced us fail here, before anything
    inconsistent could be signed.
    """
    if entries:
        conn.execute(
            insert(log_entries),
            [{"log_id": log_id, "idx": start + i, "data": e} for i, e in enumerate(entries)],
        )
    if tile_rows:
        upsert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
        stmt = upsert(log_tiles)
        stmt = stmt.on_conflict_do_update(
            index_elements=["log_id", "level", "idx"],
            set_={"width": stmt.excluded.width, "nodes": stmt.excluded.nodes},
        )
        conn.execute(stmt, [{"log_id": log_id, **row} for row in tile_rows])
    if checkpoint:
        size, note, signed_at = checkpoint
        conn.execute(
            insert(log_checkpoints).values(log_id=log_id, size=size, note=note, signed_at=signed_at)
        )
