"""C2SP tlog-tiles: tile coordinates, paths, entry bundles, and where a node lives in a tile.

A tile at level L, index N holds up to 256 consecutive node hashes of height 8·L. We store
each tile together with its internal levels (heights 8·L+1 … 8·L+7), so any node of the
tree is one row lookup away; the served tile is just the first level.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import accumulate

from lunan.log.merkle import HASH_SIZE, Node

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT
MAX_ENTRY_SIZE = 0xFFFF  # entry bundles prefix each entry with a uint16 length
MAX_TILE_INDEX = 1 << 56  # 2^64 leaves / 256 per tile: no log is bigger


class TilePathError(ValueError):
    """A tile path that tlog-tiles does not allow."""


@dataclass(frozen=True)
class TileRef:
    level: int  # tile level; the special "entries" tiles use level -1
    index: int
    width: int  # 1..256; 256 is a full tile

    @property
    def full(self) -> bool:
        return self.width == TILE_WIDTH


def format_index(n: int) -> str:
    """1234067 → x001/x234/067 (three-digit groups, x on all but the last)."""
    groups = []
    while True:
        groups.append(f"{n % 1000:03d}")
        n //= 1000
        if n == 0:
            break
    groups.reverse()
    return "/".join(["x" + g for g in groups[:-1]] + [groups[-1]])


def tile_path(ref: TileRef) -> str:
    level = "entries" if ref.level < 0 else str(ref.level)
    path = f"tile/{level}/{format_index(ref.index)}"
    return path if ref.full else f"{path}.p/{ref.width}"


_PATH = re.compile(r"^(?P<level>entries|\d{1,2})/(?P<index>(?:x\d{3}/)*\d{3})(?:\.p/(?P<w>\d+))?$")


def parse_tile_path(path: str) -> TileRef:
    """Parse the part after `tile/`, e.g. `0/x001/234.p/17` or `entries/000`."""
    m = _PATH.match(path)
    if not m:
        raise TilePathError(f"not a tile path: {path!r}")
    level = -1 if m["level"] == "entries" else int(m["level"])
    if level > 63 or (len(m["level"]) > 1 and m["level"][0] == "0"):
        raise TilePathError(f"bad tile level in {path!r}")
    index = int(m["index"].replace("x", "").replace("/", ""))
    if index >= MAX_TILE_INDEX:
        raise TilePathError(f"tile index {index} is beyond any log: {path!r}")
    width = TILE_WIDTH
    if m["w"] is not None:
        width = int(m["w"])
        if not 1 <= width < TILE_WIDTH or str(width) != m["w"]:
            raise TilePathError(f"partial tile width must be 1..255 in {path!r}")
    if format_index(index) != m["index"]:
        raise TilePathError(f"non-canonical tile index in {path!r}")
    return TileRef(level, index, width)


def tiles_for_size(level: int, size: int) -> tuple[int, int]:
    """For a tree of `size` leaves: (number of full tiles, width of the partial one) at `level`."""
    nodes = size >> (TILE_HEIGHT * level)
    return nodes // TILE_WIDTH, nodes % TILE_WIDTH


def tile_width_at(ref_level: int, index: int, size: int) -> int:
    """How many hashes tile (level, index) holds in a tree of `size` leaves (0 if none)."""
    nodes = size >> (TILE_HEIGHT * ref_level)
    return max(0, min(TILE_WIDTH, nodes - index * TILE_WIDTH))


# --- where nodes live inside a stored tile -------------------------------------------------


def node_location(node: Node) -> tuple[int, int, int, int]:
    """(tile level, tile index, height within the tile 0..7, position at that height)."""
    height, index = node
    level, r = divmod(height, TILE_HEIGHT)
    per_tile = TILE_WIDTH >> r  # nodes of height r in one tile
    return level, index // per_tile, r, index % per_tile


def level_offset(width: int, r: int) -> int:
    """Byte offset of height r inside a stored tile whose first level has `width` hashes."""
    return HASH_SIZE * sum(width >> j for j in range(r))


def node_in_tile(blob: bytes, width: int, r: int, pos: int) -> bytes:
    if pos >= width >> r:
        raise KeyError(f"node at height {r}, position {pos} is not complete in this tile")
    start = level_offset(width, r) + pos * HASH_SIZE
    return blob[start : start + HASH_SIZE]


def pack_tile(levels: Sequence[Sequence[bytes]]) -> bytes:
    """Stored form: the 8 levels of a tile concatenated, level 0 first."""
    return b"".join(b"".join(level) for level in levels)


def first_level(blob: bytes, width: int) -> bytes:
    """The served tile: the level-0 hashes only."""
    return blob[: width * HASH_SIZE]


def bundle_entries(entries: Sequence[bytes]) -> bytes:
    """tlog-tiles entry bundle: each entry prefixed by its big-endian uint16 length."""
    return b"".join(len(e).to_bytes(2, "big") + e for e in entries)


# The most entries `GET /api/v1/log/entries?begin=&end=` serves in one bundle (16 tiles' worth).
MAX_RANGE = 16 * TILE_WIDTH


def count_entries(data: bytes) -> int:
    """How many entries a tlog-tiles entry bundle holds, walking its length prefixes without
    copying the entries out (half the work of `unbundle_entries`); ValueError as there."""
    count, i, n = 0, 0, len(data)
    while i < n:
        if i + 2 > n:
            raise ValueError("entry bundle ends inside a length prefix")
        i += 2 + (data[i] << 8 | data[i + 1])
        count += 1
    if i > n:
        raise ValueError("entry bundle ends inside an entry")
    return count


def unbundle_entries(data: bytes) -> list[bytes]:
    """The entries of a tlog-tiles entry bundle; ValueError if it is cut short."""
    out: list[bytes] = []
    append = out.append
    i, n = 0, len(data)
    while i < n:
        if i + 2 > n:
            raise ValueError("entry bundle ends inside a length prefix")
        j = i + 2 + (data[i] << 8 | data[i + 1])
        if j > n:
            raise ValueError("entry bundle ends inside an entry")
        append(data[i + 2 : j])
        i = j
    return out


Encoded = bytes | memoryview  # entries in the entry-bundle encoding


@dataclass(frozen=True)
class EntryRun:
    """Consecutive entries together with their entry-bundle encoding. Made from one of the two
    (`parse`, `of`) and cut or joined only here, so the two always agree: a follower stores the
    bytes it received and hashes the entries cut from them."""

    entries: list[bytes]
    data: Encoded  # a cut is a view of the bytes it was cut from, not a copy

    @classmethod
    def parse(cls, data: bytes) -> EntryRun:
        return cls(unbundle_entries(data), data)

    @classmethod
    def of(cls, entries: Sequence[bytes]) -> EntryRun:
        return cls(list(entries), bundle_entries(entries))

    def split(self, k: int) -> tuple[EntryRun, EntryRun]:
        """The first k entries, and the rest (the whole run and an empty one if k ≥ its length:
        an append that does not fill the bundle it continues)."""
        cut = sum(map(len, self.entries[:k])) + 2 * k
        view = memoryview(self.data)
        return (
            EntryRun(self.entries[:k], view[:cut]),
            EntryRun(self.entries[k:], view[cut:]),
        )

    def chunks(self, width: int) -> list[EntryRun]:
        """Consecutive runs of `width` entries (the last may be shorter), each cut once."""
        lengths = [0, *accumulate(map(len, self.entries))]  # bytes of the first k entries
        n = len(self.entries)
        bounds = [(lo, min(lo + width, n)) for lo in range(0, n, width)]
        view = memoryview(self.data)
        return [
            EntryRun(self.entries[lo:hi], view[lengths[lo] + 2 * lo : lengths[hi] + 2 * hi])
            for lo, hi in bounds
        ]

    @staticmethod
    def join(runs: Sequence[EntryRun]) -> EntryRun:
        if len(runs) == 1:
            return runs[0]
        entries: list[bytes] = []
        for r in runs:
            entries += r.entries  # list extension: no per-entry bytecode
        return EntryRun(entries, b"".join(r.data for r in runs))

    def __len__(self) -> int:
        return len(self.entries)


def fetch_entries(
    get: Callable[[str], bytes],
    begin: int,
    end: int,
    fetch_all: Callable[[Callable[[str], bytes], list[str]], Iterable[bytes]] = map,
) -> Iterator[list[bytes]]:
    """Entries [begin, end) of a served log, one bundle at a time, in order; `get(path)`
    fetches a path such as `tile/entries/000.p/7`, and `fetch_all` maps it over the paths
    (give a thread pool's `map` to have several bundles in flight). A bundle that is
    malformed or short raises ValueError."""
    first = begin // TILE_WIDTH
    refs = [
        TileRef(-1, n, min(TILE_WIDTH, end - n * TILE_WIDTH))
        for n in range(first, (end - 1) // TILE_WIDTH + 1)
    ]
    for ref, data in zip(refs, fetch_all(get, [tile_path(r) for r in refs]), strict=True):
        try:
            bundle = unbundle_entries(data)
        except ValueError as e:
            raise ValueError(f"entry bundle {ref.index}: {e}") from e
        if len(bundle) != ref.width:
            raise ValueError(
                f"entry bundle {ref.index} holds {len(bundle)} entries, want {ref.width}"
            )
        yield bundle[max(0, begin - ref.index * TILE_WIDTH) :]
