"""tlog-tiles paths, entry bundles and the stored tile layout."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lunan.log import tiles
from lunan.log.tiles import TileRef


@pytest.mark.parametrize(
    ("ref", "path"),
    [
        (TileRef(0, 1234067, 256), "tile/0/x001/x234/067"),
        (TileRef(1, 0, 256), "tile/1/000"),
        (TileRef(0, 5, 17), "tile/0/005.p/17"),
        (TileRef(-1, 1000, 256), "tile/entries/x001/000"),
        (TileRef(-1, 0, 1), "tile/entries/000.p/1"),
    ],
)
def test_tile_paths_follow_tlog_tiles(ref: TileRef, path: str) -> None:
    assert tiles.tile_path(ref) == path
    assert tiles.parse_tile_path(path.removeprefix("tile/")) == ref


@pytest.mark.parametrize(
    "path",
    [
        "0/1",
        "0/0001",
        "0/x000/001/002",
        "0/001.p/0",
        "0/001.p/256",
        "0/001.p/017",
        "a/001",
        "07/001",
        "0/x01/000",
        "",
    ],
)
def test_malformed_tile_paths_are_refused(path: str) -> None:
    with pytest.raises(tiles.TilePathError):
        tiles.parse_tile_path(path)


@given(st.integers(0, 10**12), st.integers(0, 40), st.integers(1, 256))
def test_tile_paths_round_trip(index: int, level: int, width: int) -> None:
    ref = TileRef(level, index, width)
    assert tiles.parse_tile_path(tiles.tile_path(ref).removeprefix("tile/")) == ref


@given(st.lists(st.binary(max_size=300), max_size=40))
def test_entry_bundles_round_trip(entries: list[bytes]) -> None:
    assert list(tiles.unbundle_entries(tiles.bundle_entries(entries))) == entries


@given(st.lists(st.binary(max_size=300), max_size=40))
def test_counting_a_bundle_agrees_with_unbundling_it(entries: list[bytes]) -> None:
    assert tiles.count_entries(tiles.bundle_entries(entries)) == len(entries)


@given(st.lists(st.binary(max_size=300), min_size=1, max_size=40), st.data())
def test_counting_refuses_every_truncated_bundle_that_unbundling_refuses(
    entries: list[bytes], data: st.DataObject
) -> None:
    bundle = tiles.bundle_entries(entries)
    cut = bundle[: data.draw(st.integers(0, len(bundle) - 1))]
    try:
        expected: str | int = len(tiles.unbundle_entries(cut))
    except ValueError as e:
        expected = str(e)
    try:
        counted: str | int = tiles.count_entries(cut)
    except ValueError as e:
        counted = str(e)
    assert counted == expected


def test_truncated_entry_bundles_are_refused() -> None:
    data = tiles.bundle_entries([b"hello", b"world"])
    for cut in (1, 3, len(data) - 1):
        for read in (tiles.unbundle_entries, tiles.count_entries):
            with pytest.raises(ValueError, match="ends inside"):
                read(data[:cut])


def test_nodes_map_to_the_tile_that_holds_them() -> None:
    assert tiles.node_location((0, 300)) == (0, 1, 0, 44)
    assert tiles.node_location((3, 100)) == (0, 3, 3, 4)
    assert tiles.node_location((8, 5)) == (1, 0, 0, 5)
    assert tiles.node_location((17, 3)) == (2, 0, 1, 3)


def test_a_tile_width_counts_the_complete_nodes_at_its_level() -> None:
    assert tiles.tile_width_at(0, 0, 300) == 256
    assert tiles.tile_width_at(0, 1, 300) == 44
    assert tiles.tile_width_at(0, 2, 300) == 0
    assert tiles.tile_width_at(1, 0, 300) == 1
    assert tiles.tiles_for_size(0, 300) == (1, 44)
