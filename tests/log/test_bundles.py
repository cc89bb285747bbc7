"""Entries stored as tlog-tiles entry bundles, 256 to a bundle (lunan.log.bundles), on every
database backend: full bundles one row each, the last partial bundle possibly in pieces (a row
per append that continued it without filling it), joined into one row by the append that fills
it. What is appended reads back exactly, over any range; a write that does not start where the
stored entries end is refused (StaleAppend); a damaged store is named, never read past."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from factories import entries, entry, make_node
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, Engine, delete, insert, select, text, update
from typer.testing import CliRunner

from lunan.cli import app
from lunan.log import Log, bundles, open_log, tiles, verify
from lunan.storage import db
from lunan.storage.schema import log_bundles, logs, metadata

# Appends of these sizes cross every kind of bundle boundary: one entry, up to one short of
# a full bundle, exactly to its end, one past it, several bundles at once; the last one leaves
# the last bundle in pieces.
BATCHES = [1, 255, 256, 257, 700, 2, 253, 512, 1]

Layout = list[tuple[int, int, int]]  # (idx, first, width) of a log's rows, in key order


@pytest.fixture
def engine(tmp_path: Path, database_url: str) -> Iterator[Engine]:
    """The node's tables on the backend, without a node: for bundles.* called directly."""
    engine = db.open_engine(db.resolve_url(database_url, tmp_path))
    metadata.create_all(engine)
    yield engine
    engine.dispose()


def new_log(engine: Engine) -> int:
    """A log id of its own in `engine`, holding no entries yet."""
    with engine.begin() as conn:
        top = conn.execute(select(logs.c.id).order_by(logs.c.id.desc()).limit(1)).scalar()
        log_id = (top or 0) + 1
        conn.execute(insert(logs).values(id=log_id, origin=f"test/{log_id}", vkey="-"))
    return log_id


def varied(i: int) -> bytes:
    """Entry `i` of a log whose entries differ in size: some empty, some of the largest size."""
    if i % 13 == 0:
        return b""
    if i % 251 == 7:
        return bytes([i % 256]) * tiles.MAX_ENTRY_SIZE
    return entry(i, (i * 37) % 500)


def write_batches(engine: Engine, log_id: int, sizes: Sequence[int]) -> list[bytes]:
    """Each batch written in a transaction of its own, as appends write them; all entries."""
    written: list[bytes] = []
    for n in sizes:
        new = [varied(i) for i in range(len(written), len(written) + n)]
        with engine.begin() as conn:
            bundles.write(conn, log_id, len(written), tiles.EntryRun.of(new))
        written += new
    return written


def stored_rows(engine: Engine, log_id: int) -> list[tuple[int, int, int, bytes]]:
    """(idx, first, width, data) of every stored row of the log, in key order."""
    c = log_bundles.c
    q = select(c.idx, c.first, c.width, c.data).where(c.log_id == log_id).order_by(c.idx, c.first)
    with engine.connect() as conn:
        return [(r.idx, r.first, r.width, bytes(r.data)) for r in conn.execute(q)]


def layout(engine: Engine, log_id: int) -> Layout:
    return [(idx, first, width) for idx, first, width, _ in stored_rows(engine, log_id)]


def expected_layout(sizes: Sequence[int]) -> Layout:
    """The rows appends of these sizes leave, one after another on an empty log: an append
    that continues the partial bundle without filling it adds a piece (first = where it starts
    in the bundle); one that fills it leaves one row for the whole bundle (first 0, width 256);
    every bundle an append begins is a row with first 0."""
    rows: dict[int, list[tuple[int, int]]] = {}
    end = 0
    for n in sizes:
        held, idx = end % 256, end // 256
        if held:
            k = min(n, 256 - held)
            rows[idx] = [(0, 256)] if held + k == 256 else [*rows[idx], (held, k)]
            end, n = end + k, n - k
        while n:
            k = min(n, 256)
            rows[end // 256] = [(0, k)]
            end, n = end + k, n - k
    return [(idx, first, width) for idx in sorted(rows) for first, width in rows[idx]]


def assert_rows_hold(engine: Engine, log_id: int, written: Sequence[bytes]) -> None:
    """Each row holds exactly the entries its key and width say, in their entry-bundle
    encoding, and the rows together hold every entry once, in order."""
    covered = 0
    for idx, first, width, data in stored_rows(engine, log_id):
        begin = idx * 256 + first
        assert begin == covered, (idx, first)
        assert data == tiles.bundle_entries(written[begin : begin + width]), (idx, first)
        covered += width
    assert covered == len(written)


def appended_log(directory: Path, database_url: str) -> tuple[Log, list[bytes]]:
    """A node's log appended to in every batch size of BATCHES; every entry it holds."""
    make_node(directory, database_url)
    log = open_log(directory)
    expected = log.store.entries(0, 1)  # the genesis entry
    for n in BATCHES:
        new = entries(len(expected), n)
        assert log.append(new) == len(expected)
        expected += new
    return log, expected


# --- what is appended is stored, and reads back ------------------------------------------------


def test_appends_of_any_sizes_store_full_bundles_as_one_row_and_the_last_in_pieces(
    tmp_path: Path, database_url: str
) -> None:
    log, expected = appended_log(tmp_path, database_url)
    with log:
        size = len(expected)  # 2238: bundles 0–7 full, bundle 8 holds 190 entries
        assert log.size() == size
        rows = layout(log.engine, log.store.log_id)
        assert rows == [*((i, 0, 256) for i in range(8)), (8, 0, 189), (8, 189, 1)]
        assert rows == expected_layout([1, *BATCHES])  # the genesis entry, then BATCHES
        assert_rows_hold(log.engine, log.store.log_id, expected)
        assert log.store.last_index() == size - 1
        assert log.store.entries(0, size) == expected
        with log.engine.connect() as conn:
            pieces = list(bundles.pieces(conn, log.store.log_id, 1, 600))
            assert pieces == [expected[1:256], expected[256:512], expected[512:600]]
            last = list(bundles.pieces(conn, log.store.log_id, 2000, size))
            assert last == [expected[2000:2048], expected[2048:size]]  # pieces joined


@pytest.mark.parametrize(
    ("sizes", "rows"),
    [
        pytest.param([1, 2, 3], [(0, 0, 1), (0, 1, 2), (0, 3, 3)], id="each-a-piece"),
        pytest.param(
            [100, 100, 50, 5],
            [(0, 0, 100), (0, 100, 100), (0, 200, 50), (0, 250, 5)],
            id="up-to-one-short",
        ),
        pytest.param([10, 246], [(0, 0, 256)], id="filled-by-the-second"),
        pytest.param([10, 5, 1, 240], [(0, 0, 256)], id="filled-after-pieces"),
        pytest.param([255, 1], [(0, 0, 256)], id="filled-by-one-entry"),
        pytest.param([255, 2], [(0, 0, 256), (1, 0, 1)], id="filled-and-one-more"),
        pytest.param([100, 100, 100], [(0, 0, 256), (1, 0, 44)], id="filled-and-a-new-bundle"),
        pytest.param([10, 5, 600], [(0, 0, 256), (1, 0, 256), (2, 0, 103)], id="filled-and-more"),
        pytest.param([256], [(0, 0, 256)], id="one-full-bundle"),
        pytest.param([512], [(0, 0, 256), (1, 0, 256)], id="two-full-bundles"),
        pytest.param([700], [(0, 0, 256), (1, 0, 256), (2, 0, 188)], id="big-append"),
        pytest.param([256, 1, 1], [(0, 0, 256), (1, 0, 1), (1, 1, 1)], id="pieces-of-bundle-1"),
        pytest.param(
            [700, 2, 3, 320],
            [(0, 0, 256), (1, 0, 256), (2, 0, 256), (3, 0, 256), (4, 0, 1)],
            id="big-append-fills-pieces",
        ),
    ],
)
def test_each_append_leaves_pieces_of_a_partial_bundle_and_one_row_per_full_bundle(
    engine: Engine, sizes: list[int], rows: Layout
) -> None:
    log_id = new_log(engine)
    written = write_batches(engine, log_id, sizes)
    assert layout(engine, log_id) == rows
    assert rows == expected_layout(sizes)  # the model the property test checks against
    assert_rows_hold(engine, log_id, written)
    total = len(written)
    with engine.connect() as conn:
        assert bundles.last_index(conn, log_id) == total - 1
        assert bundles.entries(conn, log_id, 0, total) == written
        assert bundles.encoded(conn, log_id, 0, total) == tiles.bundle_entries(written)


def test_reading_bundles_joins_the_pieces_of_a_bundle_into_one(engine: Engine) -> None:
    log_id = new_log(engine)
    written = write_batches(engine, log_id, [300, 5, 7, 1])
    assert layout(engine, log_id) == [(0, 0, 256), (1, 0, 44), (1, 44, 5), (1, 49, 7), (1, 56, 1)]
    whole = [
        bundles.Bundle(0, 256, tiles.bundle_entries(written[:256])),
        bundles.Bundle(1, 57, tiles.bundle_entries(written[256:])),
    ]
    with engine.connect() as conn:
        assert list(bundles.read(conn, log_id, 0, 313)) == whole
        assert list(bundles.read(conn, log_id, 255, 257)) == whole
        assert list(bundles.read(conn, log_id, 0, 256)) == whole[:1]
        for begin, end in [(256, 257), (305, 306), (312, 313), (300, 1000)]:
            assert list(bundles.read(conn, log_id, begin, end)) == whole[1:], (begin, end)
        assert list(bundles.read(conn, log_id, 313, 600)) == whole[1:]  # the bundle of entry 313
        assert list(bundles.read(conn, log_id, 512, 600)) == []
        assert list(bundles.read(conn, log_id, 5, 5)) == []
        assert bundles.last_index(conn, log_id) == 312  # 256·1 + 56 + 1 − 1


def test_any_range_of_the_log_reads_back_as_appended_and_as_its_entry_bundle(
    tmp_path: Path, database_url: str
) -> None:
    log, expected = appended_log(tmp_path, database_url)
    size = len(expected)
    boundaries = {0, 1, 2, 255, 256, 257, 511, 512, 513, 1000, 1024, 2047, 2048, 2049}
    points = sorted(boundaries | {2236, 2237, size - 1, size})  # 2237: the last piece's start
    with log:
        for begin in points:
            for end in points:
                if begin > end:
                    continue
                assert log.store.entries(begin, end) == expected[begin:end], (begin, end)
                encoded = log.store.encoded_entries(begin, end)
                assert encoded == tiles.bundle_entries(expected[begin:end]), (begin, end)


def test_empty_entries_and_entries_of_the_largest_size_round_trip(engine: Engine) -> None:
    log_id = new_log(engine)
    largest = tiles.MAX_ENTRY_SIZE
    written = [b"", b"\xff" * largest, b"", *entries(0, 250), b"\x00" * largest, b"", b"z"]
    written += [b"", b"\x01" * largest]
    for lo, hi in [(0, 100), (100, 101), (101, 103), (103, 257), (257, 258)]:
        with engine.begin() as conn:
            bundles.write(conn, log_id, lo, tiles.EntryRun.of(written[lo:hi]))
    assert layout(engine, log_id) == [(0, 0, 256), (1, 0, 1), (1, 1, 1)]  # the last a piece
    with engine.connect() as conn:
        assert bundles.entries(conn, log_id, 0, len(written)) == written
        assert bundles.encoded(conn, log_id, 250, len(written)) == tiles.bundle_entries(
            written[250:]
        )
        assert bundles.last_index(conn, log_id) == len(written) - 1


def test_a_log_without_entries_has_no_last_index_and_reads_empty_ranges(engine: Engine) -> None:
    log_id = new_log(engine)
    with engine.connect() as conn:
        assert bundles.last_index(conn, log_id) is None
        assert bundles.entries(conn, log_id, 0, 0) == []
        assert bundles.encoded(conn, log_id, 0, 0) == b""
        with engine.begin() as w:
            bundles.write(w, log_id, 0, tiles.EntryRun.of([]))  # nothing to write: nothing stored
        assert bundles.last_index(conn, log_id) is None
    assert stored_rows(engine, log_id) == []


def test_an_empty_write_onto_pieces_stores_nothing(engine: Engine) -> None:
    log_id = new_log(engine)
    write_batches(engine, log_id, [10, 5])
    before = stored_rows(engine, log_id)
    with engine.begin() as conn:
        bundles.write(conn, log_id, 15, tiles.EntryRun.of([]))
    assert stored_rows(engine, log_id) == before


# Few and many entries per append: small ones leave pieces, large ones cross bundles.
BATCH_SIZES = st.one_of(st.integers(1, 20), st.integers(1, 600))


@settings(max_examples=20, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sizes=st.lists(BATCH_SIZES, min_size=1, max_size=8), data=st.data())
def test_any_batches_read_back_as_written_over_any_range(
    engine: Engine, sizes: list[int], data: st.DataObject
) -> None:
    log_id = new_log(engine)  # each example a log of its own in the same database
    written = write_batches(engine, log_id, sizes)
    total = len(written)
    rows = layout(engine, log_id)
    assert rows == expected_layout(sizes)
    last = (total - 1) // 256
    assert [r for r in rows if r[0] < last] == [(i, 0, 256) for i in range(last)]
    assert_rows_hold(engine, log_id, written)
    with engine.connect() as conn:
        assert bundles.last_index(conn, log_id) == total - 1
        assert list(bundles.read(conn, log_id, 0, total)) == [
            bundles.Bundle(i, len(held), tiles.bundle_entries(held))
            for i, held in enumerate(written[lo : lo + 256] for lo in range(0, total, 256))
        ]
        for _ in range(3):
            begin = data.draw(st.integers(0, total), label="begin")
            end = data.draw(st.integers(begin, total), label="end")
            assert bundles.entries(conn, log_id, begin, end) == written[begin:end]
            assert bundles.encoded(conn, log_id, begin, end) == tiles.bundle_entries(
                written[begin:end]
            )
            pieces = list(bundles.pieces(conn, log_id, begin, end))
            cuts = sorted({begin, end, *range((begin // 256 + 1) * 256, end, 256)})
            assert pieces == [written[lo:hi] for lo, hi in pairwise(cuts)]


# --- entries and their encoding, kept together (tiles.EntryRun) ------------------------------

ENTRY_LISTS = st.lists(st.binary(max_size=300), max_size=40)


@given(ENTRY_LISTS)
def test_an_entry_run_of_entries_holds_their_entry_bundle_which_parses_back_to_them(
    es: list[bytes],
) -> None:
    run = tiles.EntryRun.of(es)
    assert run.entries == es
    assert run.data == tiles.bundle_entries(es)
    assert len(run) == len(es)
    parsed = tiles.EntryRun.parse(run.data)
    assert parsed.entries == es
    assert parsed.data == run.data
    assert parsed == run


@given(ENTRY_LISTS, st.data())
def test_an_entry_run_split_anywhere_is_the_runs_of_its_pieces_and_joins_back(
    es: list[bytes], data: st.DataObject
) -> None:
    k = data.draw(st.integers(0, len(es) + 2), label="k")  # past the end: all, then none
    run = tiles.EntryRun.parse(tiles.bundle_entries(es))
    head, rest = run.split(k)
    assert head == tiles.EntryRun.of(es[:k])
    assert rest == tiles.EntryRun.of(es[k:])
    assert tiles.EntryRun.join([head, rest]) == run


@given(ENTRY_LISTS, st.integers(1, 12))
def test_an_entry_run_in_chunks_is_the_runs_of_each_width_of_entries_and_joins_back(
    es: list[bytes], width: int
) -> None:
    run = tiles.EntryRun.parse(tiles.bundle_entries(es))
    chunks = run.chunks(width)
    assert chunks == [tiles.EntryRun.of(es[i : i + width]) for i in range(0, len(es), width)]
    assert tiles.EntryRun.join(chunks) == run


@given(st.lists(ENTRY_LISTS, max_size=6))
def test_entry_runs_joined_are_the_run_of_all_their_entries(parts: list[list[bytes]]) -> None:
    joined = tiles.EntryRun.join([tiles.EntryRun.of(p) for p in parts])
    assert joined == tiles.EntryRun.of([e for p in parts for e in p])


@given(st.lists(st.binary(max_size=300), min_size=1, max_size=40), st.data())
def test_an_entry_bundle_cut_inside_an_entry_does_not_parse_and_cut_between_entries_does(
    es: list[bytes], data: st.DataObject
) -> None:
    encoded = tiles.bundle_entries(es)
    starts = [len(tiles.bundle_entries(es[:j])) for j in range(len(es) + 1)]  # increasing
    j = data.draw(st.integers(0, len(es) - 1), label="entry cut")
    inside = data.draw(st.integers(0, starts[j + 1] - starts[j] - 1), label="bytes of it kept")
    cut = encoded[: starts[j] + inside]
    if inside == 0:  # cut where entry j begins: the entries before it
        assert tiles.EntryRun.parse(cut) == tiles.EntryRun.of(es[:j])
    elif inside == 1:
        with pytest.raises(ValueError, match=r"^entry bundle ends inside a length prefix$"):
            tiles.EntryRun.parse(cut)
    else:
        with pytest.raises(ValueError, match=r"^entry bundle ends inside an entry$"):
            tiles.EntryRun.parse(cut)


# --- what a write stores ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "rows"),
    [
        pytest.param(30, [(0, 0, 200), (0, 200, 30)], id="a-piece"),
        pytest.param(400, [(0, 0, 256), (1, 0, 256), (2, 0, 88)], id="filled-and-more"),
    ],
)
def test_a_write_from_received_bytes_stores_those_bytes_as_given(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, count: int, rows: Layout
) -> None:
    """A follower's write: the entry bundle it received becomes an EntryRun, and the rows
    are cut from the received bytes, not encoded again from the entries."""
    log_id = new_log(engine)
    held = write_batches(engine, log_id, [200])  # a partial bundle the write continues
    new = [varied(i) for i in range(200, 200 + count)]  # two of the largest size among 400
    received = tiles.bundle_entries(new)
    run = tiles.EntryRun.parse(received)

    def encode_again(_: object) -> bytes:
        raise AssertionError("the write encoded the entries again")

    with monkeypatch.context() as m, engine.begin() as conn:
        m.setattr(tiles, "bundle_entries", encode_again)
        bundles.write(conn, log_id, 200, run)
    stored = stored_rows(engine, log_id)
    assert [(idx, first, width) for idx, first, width, _ in stored] == rows
    assert b"".join(data for *_, data in stored) == tiles.bundle_entries(held) + received
    with engine.connect() as conn:
        assert bundles.entries(conn, log_id, 200, 200 + count) == new
        assert bundles.encoded(conn, log_id, 200, 200 + count) == received


# --- two writers ------------------------------------------------------------------------------


def stale(end: int | None, start: int) -> str:
    """The whole message of the StaleAppend of a write at `start` onto entries ending at
    `end`, as a pattern."""
    held = "no entries" if end is None else f"entries up to {end}"
    message = f"the log holds {held}, but an append starts at {start}"
    return f"^{re.escape(message)}$"


@pytest.mark.parametrize(
    ("sizes", "start"),
    [
        # Entries 0–9, the bundle in pieces (0, 6) and (6, 4): behind, inside, ahead of them.
        *(([6, 4], start) for start in [0, 1, 5, 6, 9, 11, 255, 256, 266]),
        # One full bundle: a start inside it, or one that would leave a gap.
        *(([256], start) for start in [0, 200, 255, 257, 512]),
        # Entries 0–301, bundle 1 in pieces (0, 44) and (44, 2).
        *(([300, 2], start) for start in [0, 256, 300, 301, 303, 512]),
    ],
)
def test_a_write_that_does_not_start_where_the_stored_entries_end_raises_stale_append(
    engine: Engine, sizes: list[int], start: int
) -> None:
    log_id = new_log(engine)
    written = write_batches(engine, log_id, sizes)
    end = len(written)
    before = stored_rows(engine, log_id)
    for count in (1, 300):  # entries that would make a piece; that would fill a bundle and more
        late = tiles.EntryRun.of(entries(5000, count))
        with (
            pytest.raises(bundles.StaleAppend, match=stale(end - 1, start)),
            engine.begin() as conn,
        ):
            bundles.write(conn, log_id, start, late)
        assert stored_rows(engine, log_id) == before
    with engine.begin() as conn:  # from where the entries really end, the write goes in
        bundles.write(conn, log_id, end, tiles.EntryRun.of([b"on time"]))
    assert layout(engine, log_id) == expected_layout([*sizes, 1])
    with engine.connect() as conn:
        assert bundles.entries(conn, log_id, 0, end + 1) == [*written, b"on time"]


@pytest.mark.parametrize("start", [1, 255, 256, 300])
def test_a_write_into_an_empty_log_not_at_entry_0_raises_stale_append(
    engine: Engine, start: int
) -> None:
    log_id = new_log(engine)
    with pytest.raises(bundles.StaleAppend, match=stale(None, start)), engine.begin() as conn:
        bundles.write(conn, log_id, start, tiles.EntryRun.of([b"ahead"]))
    assert stored_rows(engine, log_id) == []


def backend_pid(conn: Connection) -> int:
    return int(conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())


def waits_for(watch: Connection, waiting: list[int], holder: int) -> bool:
    """Whether the PostgreSQL backend in `waiting` (once there) waits for a lock `holder`
    holds."""
    if not waiting:
        return False
    q = text("SELECT pg_blocking_pids(:pid)")
    blockers = watch.execute(q, {"pid": waiting[0]}).scalar_one()
    watch.rollback()
    return holder in blockers


@pytest.mark.parametrize(
    ("their_start", "goes_in"),
    [
        pytest.param(10, False, id="from-the-same-start"),
        pytest.param(15, True, id="from-where-ours-end"),
    ],
)
def test_a_write_racing_another_waits_for_the_log_row_then_sees_where_the_entries_end(
    engine: Engine, their_start: int, goes_in: bool
) -> None:
    """Two writes at once, as two processes run them: the second waits at the log's row until
    the first commits, then checks where the entries end. From the start the first one took it
    is stale; from where the first one's entries end, it goes in (and fills the bundle the
    first one left in pieces)."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite runs one writer at a time: no two writes overlap")
    log_id = new_log(engine)
    written = write_batches(engine, log_id, [10])
    ours = [varied(i) for i in range(10, 15)]  # a piece of bundle 0
    theirs = entries(1000, 300)  # enough to fill bundle 0 and begin bundle 1
    raised: list[BaseException] = []
    waiting: list[int] = []

    def their_write() -> None:
        try:
            with engine.begin() as conn:
                waiting.append(backend_pid(conn))
                bundles.write(conn, log_id, their_start, tiles.EntryRun.of(theirs))
        except Exception as e:
            raised.append(e)

    other = threading.Thread(target=their_write)
    with engine.begin() as conn:
        holder = backend_pid(conn)
        bundles.write(conn, log_id, 10, tiles.EntryRun.of(ours))
        other.start()
        deadline = time.monotonic() + 120  # a hang guard, not a measure
        with engine.connect() as watch:
            while not waits_for(watch, waiting, holder):
                assert other.is_alive(), f"their write did not wait for ours: {raised}"
                assert time.monotonic() < deadline, "their write never started waiting"
                time.sleep(0.01)
    other.join()
    if goes_in:
        assert raised == []
        stored = [*written, *ours, *theirs]
        assert layout(engine, log_id) == [(0, 0, 256), (1, 0, 59)]
    else:
        assert len(raised) == 1 and isinstance(raised[0], bundles.StaleAppend), raised
        assert re.match(stale(14, 10), str(raised[0]))
        stored = [*written, *ours]
        assert layout(engine, log_id) == [(0, 0, 10), (0, 10, 5)]
    assert_rows_hold(engine, log_id, stored)
    with engine.connect() as conn:
        assert bundles.entries(conn, log_id, 0, len(stored)) == stored
        assert bundles.last_index(conn, log_id) == len(stored) - 1


def _spy_on_writes(monkeypatch: pytest.MonkeyPatch) -> list[type[BaseException]]:
    """The errors bundles.write raises from now on, in order."""
    write = bundles.write
    raised: list[type[BaseException]] = []

    def spy(*args: Any, **kwargs: Any) -> None:
        try:
            write(*args, **kwargs)
        except Exception as e:
            raised.append(type(e))
            raise

    monkeypatch.setattr(bundles, "write", spy)
    return raised


def _verifies(directory: Path, log: Log) -> None:
    url = log.engine.url.render_as_string(hide_password=False)
    source = verify.DatabaseSource(url, log.store.log_id)
    assert verify.verify_log(source, log.verifier(), workers=1).size == log.size()
    result = CliRunner().invoke(app, ["verify", "--dir", str(directory), "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"OK lunan/371300: size {log.size()},")


@pytest.mark.parametrize(
    ("first", "behind"),
    [
        (5, 1),  # both leave pieces of the first bundle
        (10, 20),
        (10, 600),  # the other log filled the first bundle and two more
        (255, 10),  # ours would begin the bundle the other log began
        (2, 250),  # ours fills the bundle the other log left in pieces
    ],
)
def test_a_log_appended_to_behind_its_back_retries_and_both_appends_are_stored_in_order(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch, first: int, behind: int
) -> None:
    make_node(tmp_path, database_url)
    with open_log(tmp_path) as log, open_log(tmp_path) as other:
        assert log.append(entries(0, first)) == 1  # `log` now knows the tree at 1 + first
        assert other.append(entries(1000, behind)) == 1 + first
        raised = _spy_on_writes(monkeypatch)
        assert log.append(entries(5000, 3)) == 1 + first + behind
        assert raised == [bundles.StaleAppend]  # the first attempt was caught; the retry went in
        size = 1 + first + behind + 3
        assert log.size() == other.size() == size
        assert log.store.entries(1, size) == [
            *entries(0, first),
            *entries(1000, behind),
            *entries(5000, 3),
        ]
        assert log.store.last_index() == size - 1
        # Both can go on appending: `other` is now the one behind.
        assert other.append([entry(9000)]) == size
        assert raised == [bundles.StaleAppend, bundles.StaleAppend]
        assert log.append([entry(9001)]) == size + 1
        assert layout(log.engine, log.store.log_id) == expected_layout(
            [1, first, behind, 3, 1, 1]  # the genesis entry, then every append that went in
        )
        _verifies(tmp_path, log)


def test_an_append_raced_on_both_attempts_fails_and_stores_nothing_of_its_own(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_node(tmp_path, database_url)
    with open_log(tmp_path) as log, open_log(tmp_path) as other:
        log.append(entries(0, 10))
        write = bundles.write
        races = [entries(1000, 5), entries(2000, 7)]  # one per attempt of `log`
        inside = [False]

        def racing_write(conn: Connection, log_id: int, *args: Any, **kwargs: Any) -> None:
            if races and not inside[0]:
                inside[0] = True
                try:
                    other.append(races.pop(0))  # commits before this write begins
                finally:
                    inside[0] = False
            write(conn, log_id, *args, **kwargs)

        monkeypatch.setattr(bundles, "write", racing_write)
        with pytest.raises(bundles.StaleAppend, match=stale(22, 16)):
            log.append(entries(5000, 3))
        assert races == []  # it tried twice, then gave up
        monkeypatch.setattr(bundles, "write", write)
        size = 1 + 10 + 5 + 7
        assert log.size() == size
        assert log.store.entries(1, size) == [*entries(0, 10), *entries(1000, 5), *entries(2000, 7)]
        assert layout(log.engine, log.store.log_id) == expected_layout([1, 10, 5, 7])
        assert log.append(entries(5000, 3)) == size  # it reloads, then appends
        _verifies(tmp_path, log)


# --- a damaged store is named -----------------------------------------------------------------


def _cut_out_bundle(engine: Engine, log_id: int, idx: int) -> None:
    with engine.begin() as conn:
        conn.execute(
            delete(log_bundles).where(log_bundles.c.log_id == log_id, log_bundles.c.idx == idx)
        )


def _change_bundle(engine: Engine, log_id: int, idx: int, **values: Any) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(log_bundles)
            .where(log_bundles.c.log_id == log_id, log_bundles.c.idx == idx)
            .values(**values)
        )


def _pieces(conn: Connection, log_id: int, begin: int, end: int) -> list[list[bytes]]:
    return list(bundles.pieces(conn, log_id, begin, end))


READS_PLAIN: list[Callable[[Connection, int, int, int], object]] = [
    bundles.entries,
    _pieces,
    bundles.encoded,
]
READS = [
    pytest.param(read, id=id_)
    for read, id_ in zip(READS_PLAIN, ["entries", "pieces", "encoded"], strict=True)
]


def missing(index: int) -> str:
    """The whole message of a BundleError for an entry no bundle holds, as a pattern."""
    return f"^entry {index} is missing$"


@pytest.mark.parametrize("read", READS)
@pytest.mark.parametrize(
    ("begin", "end", "first_missing"),
    [
        (0, 701, 700),  # one past the end
        (700, 701, 700),
        (690, 800, 700),
        (1000, 1100, 1000),  # past the end, beyond the last bundle
    ],
)
def test_reading_past_the_stored_entries_names_the_first_missing_one(
    engine: Engine, read: Callable[..., object], begin: int, end: int, first_missing: int
) -> None:
    log_id = new_log(engine)
    write_batches(engine, log_id, [700])
    with engine.connect() as conn, pytest.raises(bundles.BundleError, match=missing(first_missing)):
        read(conn, log_id, begin, end)


# A log of 556 entries: its last bundle, 2, holding entries 512–555 in one row or in pieces.
LAST_BUNDLE = [
    pytest.param([556], id="one-row"),
    pytest.param([520, 30, 6], id="in-pieces"),
]


@pytest.mark.parametrize("sizes", LAST_BUNDLE)
@pytest.mark.parametrize("read", READS)
@pytest.mark.parametrize(
    ("begin", "end", "first_missing"),
    [(600, 650, 600), (556, 557, 556), (555, 600, 556), (512, 650, 556)],
)
def test_reading_past_the_end_inside_the_last_bundle_names_the_first_missing_entry(
    engine: Engine,
    sizes: list[int],
    read: Callable[..., object],
    begin: int,
    end: int,
    first_missing: int,
) -> None:
    log_id = new_log(engine)
    write_batches(engine, log_id, sizes)
    with engine.connect() as conn, pytest.raises(bundles.BundleError, match=missing(first_missing)):
        read(conn, log_id, begin, end)


@pytest.mark.parametrize("sizes", LAST_BUNDLE)
@pytest.mark.parametrize(
    ("begin", "end", "before_the_error", "first_missing"),
    [
        (600, 650, [], 600),
        (500, 650, [(500, 512), (512, 556)], 556),
        (1, 600, [(1, 256), (256, 512), (512, 556)], 556),
    ],
)
def test_bundles_pieces_yields_a_bundles_entries_at_a_time_then_names_the_first_missing_one(
    engine: Engine,
    sizes: list[int],
    begin: int,
    end: int,
    before_the_error: list[tuple[int, int]],
    first_missing: int,
) -> None:
    log_id = new_log(engine)
    written = write_batches(engine, log_id, sizes)
    yielded: list[list[bytes]] = []
    with (
        engine.connect() as conn,
        pytest.raises(bundles.BundleError, match=missing(first_missing)),
    ):
        for piece in bundles.pieces(conn, log_id, begin, end):
            yielded.append(piece)
    assert yielded == [written[lo:hi] for lo, hi in before_the_error]


@pytest.mark.parametrize("read", READS)
def test_a_bundle_missing_between_others_names_its_first_entry(
    engine: Engine, read: Callable[..., object]
) -> None:
    log_id = new_log(engine)
    written = write_batches(engine, log_id, [700])
    _cut_out_bundle(engine, log_id, 1)
    with engine.connect() as conn:
        for begin, end, first_missing in [(0, 700, 256), (300, 400, 300), (255, 257, 256)]:
            with pytest.raises(bundles.BundleError, match=missing(first_missing)):
                read(conn, log_id, begin, end)
        assert bundles.entries(conn, log_id, 0, 256) == written[:256]
        assert bundles.entries(conn, log_id, 512, 700) == written[512:]
        assert bundles.last_index(conn, log_id) == 699


@pytest.mark.parametrize("read", READS)
def test_an_entry_removed_from_its_bundle_leaves_the_bundle_short_where_reads_stop(
    engine: Engine, read: Callable[..., object]
) -> None:
    log_id = new_log(engine)
    written = write_batches(engine, log_id, [700])
    held = written[256:512]
    del held[100]
    _change_bundle(engine, log_id, 1, width=255, data=tiles.bundle_entries(held))
    with engine.connect() as conn:
        with pytest.raises(bundles.BundleError, match=missing(511)):
            read(conn, log_id, 0, 700)
        assert bundles.entries(conn, log_id, 256, 511) == held  # consistent with its row


# Damage to bundle `idx` of a log of 700 entries, and the whole message that names it.
def _cut_short(engine: Engine, log_id: int, idx: int) -> str:
    [data] = [d for i, _, _, d in stored_rows(engine, log_id) if i == idx]
    _change_bundle(engine, log_id, idx, data=data[:-1])
    return f"entry bundle {idx} is malformed: entry bundle ends inside an entry"


def _a_byte_more(engine: Engine, log_id: int, idx: int) -> str:
    [data] = [d for i, _, _, d in stored_rows(engine, log_id) if i == idx]
    _change_bundle(engine, log_id, idx, data=data + b"\x00")
    return f"entry bundle {idx} is malformed: entry bundle ends inside a length prefix"


def _an_entry_more(engine: Engine, log_id: int, idx: int) -> str:
    [data] = [d for i, _, _, d in stored_rows(engine, log_id) if i == idx]
    _change_bundle(engine, log_id, idx, data=data + b"\x00\x00")
    return f"entry bundle {idx} holds 257 entries where its row says 256"


def _too_narrow(engine: Engine, log_id: int, idx: int) -> str:
    _change_bundle(engine, log_id, idx, width=200)
    return f"entry bundle {idx} holds 256 entries where its row says 200"


def _too_wide(engine: Engine, log_id: int, idx: int) -> str:
    _change_bundle(engine, log_id, idx, width=300)
    return f"entry bundle {idx}: its row says 300 entries, more than a bundle holds (256)"


def _too_wide_and_as_many(engine: Engine, log_id: int, idx: int) -> str:
    [data] = [d for i, _, _, d in stored_rows(engine, log_id) if i == idx]
    _change_bundle(engine, log_id, idx, width=300, data=data + b"\x00\x00" * 44)
    return f"entry bundle {idx}: its row says 300 entries, more than a bundle holds (256)"


DAMAGE = [
    pytest.param(_cut_short, id="data-cut-short"),
    pytest.param(_a_byte_more, id="data-a-byte-more"),
    pytest.param(_an_entry_more, id="data-an-entry-more"),
    pytest.param(_too_narrow, id="row-width-200"),
    pytest.param(_too_wide, id="row-width-300"),
    pytest.param(_too_wide_and_as_many, id="row-width-300-and-300-entries"),
]


@pytest.mark.parametrize("damage", DAMAGE)
@pytest.mark.parametrize("idx", [0, 1])
def test_a_damaged_bundle_is_named_by_every_read_of_its_entries(
    engine: Engine, damage: Callable[[Engine, int, int], str], idx: int
) -> None:
    log_id = new_log(engine)
    written = write_batches(engine, log_id, [700])
    base = idx * 256
    named = damage(engine, log_id, idx)
    with engine.connect() as conn:
        for read in READS_PLAIN:
            for begin, end in [(0, 200), (0, 256), (199, 201), (100, 700)]:  # from its start
                with pytest.raises(bundles.BundleError, match=f"^{re.escape(named)}$"):
                    read(conn, log_id, base + begin, min(700, base + end))
        others = [(lo, hi) for lo, hi in [(0, 256), (256, 512), (512, 700)] if lo != base]
        for lo, hi in others:
            assert bundles.entries(conn, log_id, lo, hi) == written[lo:hi]
            assert bundles.encoded(conn, log_id, lo, hi) == tiles.bundle_entries(written[lo:hi])


@pytest.mark.parametrize("read", READS)
def test_a_bundle_narrower_in_its_row_than_in_its_bytes_is_named_past_its_rows_width(
    engine: Engine, read: Callable[..., object]
) -> None:
    log_id = new_log(engine)
    write_batches(engine, log_id, [700])
    named = _too_narrow(engine, log_id, 0)
    with (
        engine.connect() as conn,
        pytest.raises(bundles.BundleError, match=f"^{re.escape(named)}$"),
    ):
        read(conn, log_id, 250, 256)


def test_unpack_checks_a_bundle_against_its_row() -> None:
    data = tiles.bundle_entries(entries(0, 3))
    assert bundles.unpack(bundles.Bundle(7, 3, data)) == entries(0, 3)
    with pytest.raises(bundles.BundleError, match="entry bundle 7 holds 3 entries where its row"):
        bundles.unpack(bundles.Bundle(7, 4, data))
    with pytest.raises(bundles.BundleError, match="entry bundle 7 is malformed"):
        bundles.unpack(bundles.Bundle(7, 3, data[:-1]))
    with pytest.raises(bundles.BundleError, match="entry bundle 7 is malformed"):
        bundles.unpack(bundles.Bundle(7, 3, data + b"\x00"))
    full = tiles.bundle_entries([b""] * 257)
    with pytest.raises(
        bundles.BundleError, match=r"its row says 257 entries, more than .* \(256\)"
    ):
        bundles.unpack(bundles.Bundle(7, 257, full))


# --- damaged pieces of a bundle are named ------------------------------------------------------

# A log of 312 entries written as these appends: bundle 0 full, bundle 1 in the pieces
# (1, 0, 44), (1, 44, 5), (1, 49, 3), (1, 52, 4).
IN_PIECES = [300, 5, 3, 4]


def _delete_piece(engine: Engine, log_id: int, idx: int, first: int) -> None:
    c = log_bundles.c
    with engine.begin() as conn:
        conn.execute(delete(log_bundles).where(c.log_id == log_id, c.idx == idx, c.first == first))


def _change_piece(engine: Engine, log_id: int, idx: int, at: int, **values: Any) -> None:
    """Change the row of the piece of bundle `idx` that starts at entry `at` of it."""
    c = log_bundles.c
    with engine.begin() as conn:
        conn.execute(
            update(log_bundles)
            .where(c.log_id == log_id, c.idx == idx, c.first == at)
            .values(**values)
        )


def piece_at(engine: Engine, log_id: int, idx: int, first: int) -> bytes:
    [data] = [d for i, f, _, d in stored_rows(engine, log_id) if (i, f) == (idx, first)]
    return data


# Damage to the pieces of bundle 1 that leaves them not following each other, and the whole
# message that names it.
PIECE_ORDER_DAMAGE = [
    pytest.param(
        lambda e, i: _delete_piece(e, i, 1, 44),
        "entry bundle 1: a piece starts at entry 49 of it, after 44 entries",
        id="a-gap-between-pieces",
    ),
    pytest.param(
        lambda e, i: _delete_piece(e, i, 1, 0),
        "entry bundle 1: a piece starts at entry 44 of it, after 0 entries",
        id="the-first-piece-missing",
    ),
    pytest.param(
        lambda e, i: _change_piece(e, i, 1, 49, first=46),
        "entry bundle 1: a piece starts at entry 46 of it, after 49 entries",
        id="overlapping-pieces",
    ),
    pytest.param(
        lambda e, i: _change_piece(e, i, 1, 52, first=50),
        "entry bundle 1: a piece starts at entry 50 of it, after 52 entries",
        id="the-last-piece-overlapping",
    ),
    pytest.param(
        lambda e, i: _change_piece(e, i, 1, 44, width=4),
        "entry bundle 1: a piece starts at entry 49 of it, after 48 entries",
        id="a-piece-narrower-in-its-row",
    ),
    pytest.param(
        lambda e, i: _change_piece(e, i, 1, 0, first=1),
        "entry bundle 1: a piece starts at entry 1 of it, after 0 entries",
        id="the-first-piece-not-at-0",
    ),
]


def _through_verify(conn: Connection, log_id: int, begin: int, end: int) -> object:
    """The entries as `lunan verify` reads them (VerifyError where a read has BundleError)."""
    url = conn.engine.url.render_as_string(hide_password=False)
    return list(verify.DatabaseSource(url, log_id).entries(begin, end))


READS_AND_BUNDLES = [
    *READS,
    pytest.param(lambda c, i, b, e: list(bundles.read(c, i, b, e)), id="read"),
    pytest.param(_through_verify, id="verify"),
]


@pytest.mark.parametrize(("damage", "named"), PIECE_ORDER_DAMAGE)
@pytest.mark.parametrize("read", READS_AND_BUNDLES)
def test_pieces_of_a_bundle_that_do_not_follow_each_other_are_named_by_every_read(
    engine: Engine,
    damage: Callable[[Engine, int], None],
    named: str,
    read: Callable[..., object],
) -> None:
    log_id = new_log(engine)
    written = write_batches(engine, log_id, IN_PIECES)
    assert layout(engine, log_id) == [(0, 0, 256), (1, 0, 44), (1, 44, 5), (1, 49, 3), (1, 52, 4)]
    damage(engine, log_id)
    with engine.connect() as conn:
        for begin, end in [(0, 312), (256, 257), (255, 257), (300, 301), (311, 312)]:
            with pytest.raises((bundles.BundleError, verify.VerifyError)) as raised:
                read(conn, log_id, begin, end)
            assert str(raised.value) == named, (begin, end)
        assert bundles.entries(conn, log_id, 0, 256) == written[:256]  # bundle 0 is unharmed
        assert list(bundles.read(conn, log_id, 0, 256)) == [
            bundles.Bundle(0, 256, tiles.bundle_entries(written[:256]))
        ]


def _last_piece_cut_short(engine: Engine, log_id: int) -> str:
    _change_piece(engine, log_id, 1, 52, data=piece_at(engine, log_id, 1, 52)[:-1])
    return "entry bundle 1 is malformed: entry bundle ends inside an entry"


def _a_piece_with_an_entry_more(engine: Engine, log_id: int) -> str:
    _change_piece(engine, log_id, 1, 44, data=piece_at(engine, log_id, 1, 44) + b"\x00\x00")
    return "entry bundle 1 holds 57 entries where its row says 56"


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(_last_piece_cut_short, id="last-piece-cut-short"),
        pytest.param(_a_piece_with_an_entry_more, id="a-piece-with-an-entry-more"),
    ],
)
@pytest.mark.parametrize("read", READS)
def test_a_piece_whose_bytes_are_damaged_is_named_as_its_bundle(
    engine: Engine, damage: Callable[[Engine, int], str], read: Callable[..., object]
) -> None:
    log_id = new_log(engine)
    written = write_batches(engine, log_id, IN_PIECES)
    named = damage(engine, log_id)
    with engine.connect() as conn:
        for begin, end in [(0, 312), (256, 257), (300, 301), (311, 312)]:
            with pytest.raises(bundles.BundleError, match=f"^{re.escape(named)}$"):
                read(conn, log_id, begin, end)
        assert bundles.entries(conn, log_id, 0, 256) == written[:256]


def test_an_append_filling_a_bundle_whose_pieces_have_a_gap_names_it_and_stores_nothing(
    engine: Engine,
) -> None:
    log_id = new_log(engine)
    write_batches(engine, log_id, IN_PIECES)
    _delete_piece(engine, log_id, 1, 44)  # the log still ends at entry 311
    before = stored_rows(engine, log_id)
    named = "entry bundle 1: a piece starts at entry 49 of it, after 44 entries"
    with (
        pytest.raises(bundles.BundleError, match=f"^{re.escape(named)}$"),
        engine.begin() as conn,
    ):
        bundles.write(conn, log_id, 312, tiles.EntryRun.of(entries(0, 200)))
    assert stored_rows(engine, log_id) == before
