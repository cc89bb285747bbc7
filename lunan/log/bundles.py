"""A log's entries as stored: tlog-tiles entry bundles of 256 entries, one row each.

Bundle N holds entries [256·N, 256·N + width) in the entry-bundle encoding (each entry after
its big-endian uint16 length), the bytes `tile/entries/N` serves. One row per bundle rather
than per entry makes storing a long catch-up and serving a range a few hundred row operations
per 100,000 entries instead of 100,000 (docs/adr/0009-entries-stored-as-bundles.md). Only the
last bundle of a log is partial; an append that adds to it rewrites it, and does so only if
it is still as wide as the appender read it, so two writers that race are caught.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import accumulate, pairwise
from typing import NamedTuple

from sqlalchemy import Connection, bindparam, select

from lunan.log import tiles
from lunan.storage.bulk import driver_sql, insert_rows
from lunan.storage.schema import log_bundles

WIDTH = tiles.TILE_WIDTH


class BundleError(RuntimeError):
    """A stored bundle that is missing, malformed or not as wide as its row says."""


class StaleBundle(RuntimeError):
    """The partial bundle changed since it was read: another writer appended."""


class Bundle(NamedTuple):
    idx: int
    width: int
    data: bytes


_RANGE = (
    select(log_bundles.c.idx, log_bundles.c.width, log_bundles.c.data)
    .where(
        log_bundles.c.log_id == bindparam("log_id"),
        log_bundles.c.idx >= bindparam("first"),
        log_bundles.c.idx <= bindparam("last"),
    )
    .order_by(log_bundles.c.idx)
)
_LAST = (
    select(log_bundles.c.idx, log_bundles.c.width)
    .where(log_bundles.c.log_id == bindparam("log_id"))
    .order_by(log_bundles.c.idx.desc())
    .limit(1)
)
_UPDATE = "UPDATE log_bundles SET width = ?, data = ? WHERE log_id = ? AND idx = ? AND width = ?"


def read(conn: Connection, log_id: int, begin: int, end: int) -> Iterator[Bundle]:
    """The stored bundles that hold entries [begin, end), in order (absent ones left out)."""
    if begin >= end:
        return iter(())
    params = {"log_id": log_id, "first": begin // WIDTH, "last": (end - 1) // WIDTH}
    return (Bundle(r.idx, r.width, bytes(r.data)) for r in conn.execute(_RANGE, params))


def pieces(conn: Connection, log_id: int, begin: int, end: int) -> Iterator[list[bytes]]:
    """Entries [begin, end) in index order, a bundle's worth at a time; BundleError at the
    first one that is not stored, or in a bundle that is malformed."""
    for bundle, lo, hi in _spans(conn, log_id, begin, end):
        yield unpack(bundle)[lo:hi]


def entries(conn: Connection, log_id: int, begin: int, end: int) -> list[bytes]:
    """Entries [begin, end) in index order; BundleError if any is not stored."""
    out: list[bytes] = []
    for piece in pieces(conn, log_id, begin, end):
        out += piece
    return out


def encoded(conn: Connection, log_id: int, begin: int, end: int) -> bytes:
    """Entries [begin, end) in the entry-bundle encoding, cut from the stored bytes (each
    bundle checked whole first); BundleError as for `pieces`."""
    parts: list[bytes] = []
    for bundle, lo, hi in _spans(conn, log_id, begin, end):
        ends = _ends(bundle)
        whole = lo == 0 and hi == bundle.width
        parts.append(bundle.data if whole else bundle.data[ends[lo] : ends[hi]])
    return b"".join(parts)


def _spans(
    conn: Connection, log_id: int, begin: int, end: int
) -> Iterator[tuple[Bundle, int, int]]:
    """(bundle, lo, hi): entries [lo, hi) of each stored bundle, which together are entries
    [begin, end); BundleError naming the first of those that no bundle holds."""
    expected = begin
    for bundle in read(conn, log_id, begin, end):
        first = bundle.idx * WIDTH
        stop = first + min(bundle.width, WIDTH)
        if first > expected:
            break
        if stop <= expected:
            unpack(bundle)  # a damaged bundle is named, not reported as missing entries
            break
        hi = min(end, stop)
        yield bundle, expected - first, hi - first
        expected = hi
        if hi < end and bundle.width < WIDTH:
            break
    if expected < end:
        raise BundleError(f"entry {expected} is missing")


def last_index(conn: Connection, log_id: int) -> int | None:
    """The highest stored entry index: one primary-key seek."""
    row = conn.execute(_LAST, {"log_id": log_id}).first()
    return None if row is None else row.idx * WIDTH + row.width - 1


def write(conn: Connection, log_id: int, start: int, run: tiles.EntryRun) -> None:
    """Store entries [start, start + len(run)) inside the caller's transaction: the partial
    bundle they continue is rewritten (StaleBundle if it is no longer as wide as `start`
    says), the bundles they begin are inserted (the primary key refuses a racing writer's).
    The stored bytes are cut from `run.data`, as received or encoded once."""
    if not run.entries:
        return
    held, first = start % WIDTH, start // WIDTH
    if held:
        head, run = run.split(WIDTH - held)
        prefix = _partial(conn, log_id, first, held)
        done = conn.exec_driver_sql(
            driver_sql(conn, _UPDATE), (held + len(head), prefix + head.data, log_id, first, held)
        )
        if done.rowcount != 1:  # rewritten since we read it (PostgreSQL, read committed)
            raise StaleBundle(f"entry bundle {first} changed while this append wrote it")
        first += 1
    ends = list(accumulate(map(len, run.entries)))  # entry k ends at ends[k] + 2·(k + 1)
    cuts = [*range(0, len(run), WIDTH), len(run)]
    rows = [
        (log_id, first + i, hi - lo, run.data[_end(ends, lo) : _end(ends, hi)])
        for i, (lo, hi) in enumerate(pairwise(cuts))
    ]
    if rows:
        insert_rows(conn, "log_bundles", ("log_id", "idx", "width", "data"), rows)


def _end(ends: list[int], k: int) -> int:
    """Byte offset where the first k entries end in their encoding."""
    return ends[k - 1] + 2 * k if k else 0


def unpack(bundle: Bundle) -> list[bytes]:
    """A stored bundle's entries, checked against the width its row gives."""
    try:
        out = tiles.unbundle_entries(bundle.data)
    except ValueError as e:
        raise BundleError(f"entry bundle {bundle.idx} is malformed: {e}") from e
    if len(out) != bundle.width or bundle.width > WIDTH:
        raise BundleError(
            f"entry bundle {bundle.idx} holds {len(out)} entries where its row says {bundle.width}"
        )
    return out


def _ends(bundle: Bundle) -> list[int]:
    """Where each entry of a stored bundle starts, and where the last ends (width + 1
    offsets); BundleError if the bytes do not hold exactly `width` entries."""
    data, n = bundle.data, len(bundle.data)
    out = [0]
    i = 0
    while i + 2 <= n and len(out) <= WIDTH:
        i += 2 + (data[i] << 8 | data[i + 1])
        out.append(i)
    if i != n or len(out) != bundle.width + 1:
        unpack(bundle)  # names what is wrong
        raise BundleError(f"entry bundle {bundle.idx} is malformed")
    return out


def _partial(conn: Connection, log_id: int, idx: int, width: int) -> bytes:
    """The stored partial bundle an append continues, which must hold `width` entries."""
    for bundle in read(conn, log_id, idx * WIDTH, idx * WIDTH + 1):
        if bundle.width == width:
            return bundle.data
        raise StaleBundle(f"entry bundle {idx} holds {bundle.width} entries, expected {width}")
    raise BundleError(f"entry bundle {idx}, which entries {idx * WIDTH}… continue, is missing")
