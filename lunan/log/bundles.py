"""A log's entries as stored: tlog-tiles entry bundles of 256 entries, one row each.

Bundle N holds entries [256·N, 256·N + width) in the entry-bundle encoding (each entry after
its big-endian uint16 length), the bytes `tile/entries/N` serves. One row per bundle rather
than per entry makes storing a long catch-up and serving a range a few hundred row operations
per 100,000 entries instead of 100,000 (docs/adr/0009-entries-stored-as-bundles.md).

Only the last bundle of a log is partial, and it may be stored in pieces: an append of a few
entries adds a row (`first` = where in the bundle it starts) instead of rewriting the bundle,
and the append that completes the bundle joins its pieces into one row. Readers join pieces
back into bundles. An append first writes the log's row in `logs` (a no-op UPDATE: SQLite
then holds its one write lock, PostgreSQL a lock of that row, until commit) and checks that
the stored entries end where it starts (StaleAppend otherwise), so two writers that race
cannot both store entries at one index; a primary key alone would not stop that with pieces.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple

from sqlalchemy import Connection, bindparam, select

from lunan.log import tiles
from lunan.storage.bulk import driver_sql, insert_rows
from lunan.storage.schema import log_bundles

WIDTH = tiles.TILE_WIDTH


class BundleError(RuntimeError):
    """A stored bundle that is missing, malformed or not as wide as its row says."""


class StaleAppend(RuntimeError):
    """The log's stored entries do not end where an append starts: another writer appended."""


class Bundle(NamedTuple):
    idx: int
    width: int
    data: bytes


_RANGE = (
    select(log_bundles.c.idx, log_bundles.c.first, log_bundles.c.width, log_bundles.c.data)
    .where(
        log_bundles.c.log_id == bindparam("log_id"),
        log_bundles.c.idx >= bindparam("first"),
        log_bundles.c.idx <= bindparam("last"),
    )
    .order_by(log_bundles.c.idx, log_bundles.c.first)
)
_LAST = (
    select(log_bundles.c.idx, log_bundles.c.first, log_bundles.c.width)
    .where(log_bundles.c.log_id == bindparam("log_id"))
    .order_by(log_bundles.c.idx.desc(), log_bundles.c.first.desc())
    .limit(1)
)
_COLUMNS = ("log_id", "idx", "first", "width", "data")
# Held until commit: one appender a log at a time. Where the entries end is read by a
# statement of its own, after it: on PostgreSQL a statement that waited for the lock still
# reads as of when it began (a RETURNING subquery here would miss the other writer's rows).
_LOCK = "UPDATE logs SET vkey = vkey WHERE id = ?"
_DROP_PIECES = "DELETE FROM log_bundles WHERE log_id = ? AND idx = ?"


def read(conn: Connection, log_id: int, begin: int, end: int) -> Iterator[Bundle]:
    """The stored bundles that hold entries [begin, end), in order (absent ones left out), a
    bundle stored in pieces joined; BundleError if its pieces do not follow each other."""
    if begin >= end:
        return
    params = {"log_id": log_id, "first": begin // WIDTH, "last": (end - 1) // WIDTH}
    joining: list[Any] = []
    for row in conn.execute(_RANGE, params):
        if joining and row.idx != joining[0].idx:
            yield _joined(joining)
            joining = []
        joining.append(row)
    if joining:
        yield _joined(joining)


def _joined(rows: list[Any]) -> Bundle:
    """One bundle from its stored pieces (usually one row)."""
    if len(rows) == 1 and rows[0].first == 0:
        return Bundle(rows[0].idx, rows[0].width, bytes(rows[0].data))
    width = 0
    for row in rows:
        if row.first != width:
            raise BundleError(
                f"entry bundle {row.idx}: a piece starts at entry {row.first} of it, "
                f"after {width} entries"
            )
        width += row.width
    return Bundle(rows[0].idx, width, b"".join(bytes(row.data) for row in rows))


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
    parts: list[tiles.Encoded] = []
    for bundle, lo, hi in _spans(conn, log_id, begin, end):
        if hi - lo == bundle.width:  # the whole bundle: check it, copy nothing out
            _check_width(bundle, _counted(bundle))
            parts.append(bundle.data)
            continue
        run = _run(bundle)
        if hi < len(run):
            run = run.split(hi)[0]
        parts.append(run.split(lo)[1].data if lo else run.data)
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
    return None if row is None else row.idx * WIDTH + row.first + row.width - 1


def write(conn: Connection, log_id: int, start: int, run: tiles.EntryRun) -> None:
    """Store entries [start, start + len(run)) inside the caller's transaction, cut from
    `run.data` (as received, or encoded once). Entries that continue a partial bundle without
    filling it are stored as a piece of it; the append that fills it joins its pieces."""
    if not run.entries:
        return
    conn.exec_driver_sql(driver_sql(conn, _LOCK), (log_id,))
    top = last_index(conn, log_id)
    if (-1 if top is None else top) != start - 1:
        held_now = "no entries" if top is None else f"entries up to {top}"
        raise StaleAppend(f"the log holds {held_now}, but an append starts at {start}")
    held, idx = start % WIDTH, start // WIDTH
    rows: list[tuple[int, int, int, int, tiles.Encoded]] = []
    if held:
        head, run = run.split(WIDTH - held)
        if held + len(head) < WIDTH:
            rows.append((log_id, idx, held, len(head), head.data))
        else:
            rows.append((log_id, idx, 0, WIDTH, _take_pieces(conn, log_id, idx, held) + head.data))
        idx += 1
    rows += [
        (log_id, idx + i, 0, len(chunk), chunk.data) for i, chunk in enumerate(run.chunks(WIDTH))
    ]
    insert_rows(conn, "log_bundles", _COLUMNS, rows)  # a racing writer's rows collide here


def _take_pieces(conn: Connection, log_id: int, idx: int, held: int) -> bytes:
    """The stored pieces of partial bundle `idx` (its first `held` entries: the caller checked
    where the log ends), joined, and removed: the caller stores the whole bundle instead."""
    [partial] = read(conn, log_id, idx * WIDTH, idx * WIDTH + 1)
    if partial.width != held:
        raise BundleError(f"entry bundle {idx} holds {partial.width} entries, not {held}")
    conn.exec_driver_sql(driver_sql(conn, _DROP_PIECES), (log_id, idx))
    return partial.data


def unpack(bundle: Bundle) -> list[bytes]:
    """A stored bundle's entries, checked against the width its row gives."""
    return _run(bundle).entries


def _run(bundle: Bundle) -> tiles.EntryRun:
    try:
        run = tiles.EntryRun.parse(bundle.data)
    except ValueError as e:
        raise _malformed(bundle, e) from e
    _check_width(bundle, len(run))
    return run


def _counted(bundle: Bundle) -> int:
    try:
        return tiles.count_entries(bundle.data)
    except ValueError as e:
        raise _malformed(bundle, e) from e


def _malformed(bundle: Bundle, e: ValueError) -> BundleError:
    return BundleError(f"entry bundle {bundle.idx} is malformed: {e}")


def _check_width(bundle: Bundle, count: int) -> None:
    if bundle.width > WIDTH:
        raise BundleError(
            f"entry bundle {bundle.idx}: its row says {bundle.width} entries, "
            f"more than a bundle holds ({WIDTH})"
        )
    if count != bundle.width:
        raise BundleError(
            f"entry bundle {bundle.idx} holds {count} entries where its row says {bundle.width}"
        )
