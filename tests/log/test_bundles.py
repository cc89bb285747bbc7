"""Entries stored as tlog-tiles entry bundles, 256 to a row (lunan.log.bundles), on every
database backend: what is appended reads back exactly, over any range, and a store that is
damaged or written to behind a writer's back is named, never read past."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from factories import entries, entry, make_node
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from typer.testing import CliRunner

from lunan.cli import app
from lunan.log import Log, bundles, open_log, tiles, verify
from lunan.storage import db
from lunan.storage.schema import log_bundles, logs, metadata

# Appends of these sizes cross every kind of bundle boundary: one entry, up to one short of
# a full bundle, exactly to its end, one past it, several bundles at once.
BATCHES = [1, 255, 256, 257, 700, 2, 253, 512, 1]


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


def stored_rows(engine: Engine, log_id: int) -> list[tuple[int, int, bytes]]:
    """(idx, width, data) of every stored bundle of the log, in order."""
    q = (
        select(log_bundles.c.idx, log_bundles.c.width, log_bundles.c.data)
        .where(log_bundles.c.log_id == log_id)
        .order_by(log_bundles.c.idx)
    )
    with engine.connect() as conn:
        return [(r.idx, r.width, bytes(r.data)) for r in conn.execute(q)]


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


# --- what is appended reads back --------------------------------------------------------------


def test_appends_of_any_sizes_store_the_entries_in_bundles_of_256(
    tmp_path: Path, database_url: str
) -> None:
    log, expected = appended_log(tmp_path, database_url)
    with log:
        size = len(expected)
        assert log.size() == size
        rows = stored_rows(log.engine, log.store.log_id)
        assert [idx for idx, _, _ in rows] == list(range(len(rows)))
        for idx, width, data in rows:
            held = expected[idx * 256 : idx * 256 + 256]
            assert width == len(held)
            assert data == tiles.bundle_entries(held)
        # Only the last bundle is partial.
        assert [w for _, w, _ in rows[:-1]] == [256] * (len(rows) - 1)
        assert 0 < rows[-1][1] < 256
        assert log.store.last_index() == size - 1
        assert log.store.entries(0, size) == expected
        with log.engine.connect() as conn:
            pieces = list(bundles.pieces(conn, log.store.log_id, 1, 600))
        assert pieces == [expected[1:256], expected[256:512], expected[512:600]]


def test_any_range_of_the_log_reads_back_as_appended_and_as_its_entry_bundle(
    tmp_path: Path, database_url: str
) -> None:
    log, expected = appended_log(tmp_path, database_url)
    size = len(expected)
    points = sorted({0, 1, 2, 255, 256, 257, 511, 512, 513, 1000, 1024, size - 1, size})
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
    with engine.begin() as conn:
        bundles.write(conn, log_id, 0, tiles.EntryRun.of(written[:100]))
    with engine.begin() as conn:
        bundles.write(conn, log_id, 100, tiles.EntryRun.of(written[100:]))
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


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sizes=st.lists(st.integers(1, 600), min_size=1, max_size=6), data=st.data())
def test_any_batches_read_back_as_written_over_any_range(
    engine: Engine, sizes: list[int], data: st.DataObject
) -> None:
    log_id = new_log(engine)  # each example a log of its own in the same database
    written = write_batches(engine, log_id, sizes)
    total = len(written)
    rows = stored_rows(engine, log_id)
    assert [w for _, w, _ in rows] == [min(256, total - 256 * i) for i in range(len(rows))]
    with engine.connect() as conn:
        assert bundles.last_index(conn, log_id) == total - 1
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


def test_a_write_from_received_bytes_stores_those_bytes_as_given(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A follower's write: the entry bundle it received becomes an EntryRun, and the rows
    are cut from the received bytes, not encoded again from the entries."""
    log_id = new_log(engine)
    held = write_batches(engine, log_id, [200])  # a partial bundle the write continues
    new = [varied(i) for i in range(200, 600)]  # two of the largest size among them
    received = tiles.bundle_entries(new)
    run = tiles.EntryRun.parse(received)

    def encode_again(_: object) -> bytes:
        raise AssertionError("the write encoded the entries again")

    with monkeypatch.context() as m, engine.begin() as conn:
        m.setattr(tiles, "bundle_entries", encode_again)
        bundles.write(conn, log_id, 200, run)
    rows = stored_rows(engine, log_id)
    assert [(idx, width) for idx, width, _ in rows] == [(0, 256), (1, 256), (2, 600 - 512)]
    assert b"".join(data for _, _, data in rows) == tiles.bundle_entries(held) + received
    with engine.connect() as conn:
        assert bundles.entries(conn, log_id, 200, 600) == new
        assert bundles.encoded(conn, log_id, 200, 600) == received


# --- two writers ------------------------------------------------------------------------------


@pytest.mark.parametrize("stale_start", [0, 1, 5, 9, 11])
def test_a_write_from_a_start_the_partial_bundle_no_longer_ends_at_raises_stale_bundle(
    engine: Engine, stale_start: int
) -> None:
    log_id = new_log(engine)
    written = write_batches(engine, log_id, [10])
    before = stored_rows(engine, log_id)
    if stale_start == 0:
        # A start at a bundle's beginning inserts it: the primary key refuses the row.
        with pytest.raises(IntegrityError), engine.begin() as conn:
            bundles.write(conn, log_id, 0, tiles.EntryRun.of([b"late"]))
    else:
        with pytest.raises(bundles.StaleBundle, match="entry bundle 0"), engine.begin() as conn:
            bundles.write(conn, log_id, stale_start, tiles.EntryRun.of([b"late"]))
    assert stored_rows(engine, log_id) == before
    with engine.begin() as conn:  # from where the bundle really ends, the write goes in
        bundles.write(conn, log_id, 10, tiles.EntryRun.of([b"on time"]))
    with engine.connect() as conn:
        assert bundles.entries(conn, log_id, 0, 11) == [*written, b"on time"]


def test_a_write_continuing_a_bundle_that_is_not_stored_is_a_bundle_error(engine: Engine) -> None:
    log_id = new_log(engine)
    write_batches(engine, log_id, [10])
    before = stored_rows(engine, log_id)
    missing = r"entry bundle 1, which entries 256… continue, is missing"
    with pytest.raises(bundles.BundleError, match=missing), engine.begin() as conn:
        bundles.write(conn, log_id, 256 + 10, tiles.EntryRun.of([b"far ahead"]))
    assert stored_rows(engine, log_id) == before


def test_a_bundle_rewritten_between_its_read_and_its_update_raises_stale_bundle(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race the width condition of the UPDATE catches: another writer commits its
    append after this one read the partial bundle and before it rewrites it."""
    log_id = new_log(engine)
    write_batches(engine, log_id, [10])
    read_partial = bundles._partial
    raced: list[bool] = []

    def partial_then_race(conn: Connection, log_id: int, idx: int, width: int) -> bytes:
        data = read_partial(conn, log_id, idx, width)
        if not raced:
            raced.append(True)
            with engine.begin() as other:
                bundles.write(other, log_id, 10, tiles.EntryRun.of([b"the other writer's"]))
        return data

    monkeypatch.setattr(bundles, "_partial", partial_then_race)
    with pytest.raises(bundles.StaleBundle, match="entry bundle 0"), engine.begin() as conn:
        bundles.write(conn, log_id, 10, tiles.EntryRun.of([b"ours"]))
    assert raced
    with engine.connect() as conn:
        assert bundles.entries(conn, log_id, 10, 11) == [b"the other writer's"]
        assert bundles.last_index(conn, log_id) == 10


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
    ("first", "behind", "caught_by"),
    [
        (10, 20, bundles.StaleBundle),  # both in the first bundle
        (10, 600, bundles.StaleBundle),  # the other writer filled it and two more
        (255, 10, IntegrityError),  # ours would begin the bundle the other writer began
    ],
)
def test_a_log_appended_to_behind_its_back_retries_and_both_appends_are_stored_in_order(
    tmp_path: Path,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    first: int,
    behind: int,
    caught_by: type[Exception],
) -> None:
    make_node(tmp_path, database_url)
    with open_log(tmp_path) as log, open_log(tmp_path) as other:
        assert log.append(entries(0, first)) == 1  # `log` now knows the tree at 1 + first
        assert other.append(entries(1000, behind)) == 1 + first
        raised = _spy_on_writes(monkeypatch)
        assert log.append(entries(5000, 3)) == 1 + first + behind
        assert raised == [caught_by]  # the first attempt was caught; the retry went in
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
        assert log.append([entry(9001)]) == size + 1
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
        with pytest.raises(bundles.StaleBundle):
            log.append(entries(5000, 3))
        assert races == []  # it tried twice, then gave up
        monkeypatch.setattr(bundles, "write", write)
        size = 1 + 10 + 5 + 7
        assert log.size() == size
        assert log.store.entries(1, size) == [*entries(0, 10), *entries(1000, 5), *entries(2000, 7)]
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


READS = [
    pytest.param(bundles.entries, id="entries"),
    pytest.param(lambda c, i, b, e: list(bundles.pieces(c, i, b, e)), id="pieces"),
    pytest.param(bundles.encoded, id="encoded"),
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


@pytest.mark.parametrize("read", READS)
@pytest.mark.parametrize(
    ("begin", "end", "first_missing"),
    [(600, 650, 600), (556, 557, 556), (555, 600, 556), (512, 650, 556)],
)
def test_reading_past_the_end_inside_the_last_bundle_names_the_first_missing_entry(
    engine: Engine, read: Callable[..., object], begin: int, end: int, first_missing: int
) -> None:
    log_id = new_log(engine)
    write_batches(engine, log_id, [556])  # the last bundle, 2, holds entries 512..555
    with engine.connect() as conn, pytest.raises(bundles.BundleError, match=missing(first_missing)):
        read(conn, log_id, begin, end)


@pytest.mark.parametrize(
    ("begin", "end", "before_the_error", "first_missing"),
    [
        (600, 650, [], 600),
        (500, 650, [(500, 512), (512, 556)], 556),
        (1, 600, [(1, 256), (256, 512), (512, 556)], 556),
    ],
)
def test_pieces_yields_each_stored_piece_then_names_the_first_missing_entry(
    engine: Engine,
    begin: int,
    end: int,
    before_the_error: list[tuple[int, int]],
    first_missing: int,
) -> None:
    log_id = new_log(engine)
    written = write_batches(engine, log_id, [556])
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
    [data] = [d for i, _, d in stored_rows(engine, log_id) if i == idx]
    _change_bundle(engine, log_id, idx, data=data[:-1])
    return f"entry bundle {idx} is malformed: entry bundle ends inside an entry"


def _a_byte_more(engine: Engine, log_id: int, idx: int) -> str:
    [data] = [d for i, _, d in stored_rows(engine, log_id) if i == idx]
    _change_bundle(engine, log_id, idx, data=data + b"\x00")
    return f"entry bundle {idx} is malformed: entry bundle ends inside a length prefix"


def _an_entry_more(engine: Engine, log_id: int, idx: int) -> str:
    [data] = [d for i, _, d in stored_rows(engine, log_id) if i == idx]
    _change_bundle(engine, log_id, idx, data=data + b"\x00\x00")
    return f"entry bundle {idx} holds 257 entries where its row says 256"


def _too_narrow(engine: Engine, log_id: int, idx: int) -> str:
    _change_bundle(engine, log_id, idx, width=200)
    return f"entry bundle {idx} holds 256 entries where its row says 200"


def _too_wide(engine: Engine, log_id: int, idx: int) -> str:
    _change_bundle(engine, log_id, idx, width=300)
    return f"entry bundle {idx} holds 256 entries where its row says 300"


DAMAGE = [
    pytest.param(_cut_short, id="data-cut-short"),
    pytest.param(_a_byte_more, id="data-a-byte-more"),
    pytest.param(_an_entry_more, id="data-an-entry-more"),
    pytest.param(_too_narrow, id="row-width-200"),
    pytest.param(_too_wide, id="row-width-300"),
]


@pytest.mark.parametrize("damage", DAMAGE)
@pytest.mark.parametrize("read", READS)
@pytest.mark.parametrize("idx", [0, 1])
@pytest.mark.parametrize(
    ("begin", "end"),
    [(0, 200), (0, 256), (199, 201), (100, 700)],  # from bundle idx's first entry
)
def test_a_damaged_bundle_is_named_by_every_read_of_its_entries(
    engine: Engine,
    damage: Callable[[Engine, int, int], str],
    read: Callable[..., object],
    idx: int,
    begin: int,
    end: int,
) -> None:
    log_id = new_log(engine)
    written = write_batches(engine, log_id, [700])
    base = idx * 256
    begin, end = base + begin, min(700, base + end)
    named = damage(engine, log_id, idx)
    with engine.connect() as conn:
        with pytest.raises(bundles.BundleError, match=f"^{re.escape(named)}$"):
            read(conn, log_id, begin, end)
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
    with pytest.raises(bundles.BundleError, match="entry bundle 7 holds 257"):
        bundles.unpack(bundles.Bundle(7, 257, full))
