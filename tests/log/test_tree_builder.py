"""The tile builder behind appends: any split into batches gives the same tiles and root."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from lunan.log import merkle, tiles
from lunan.log.store import TreeBuilder


def _leaves(n: int) -> list[bytes]:
    return [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(n)]


def _build(
    leaves: list[bytes], cuts: list[int]
) -> tuple[TreeBuilder, dict[tuple[int, int], bytes]]:
    builder = TreeBuilder(0, {})
    written: dict[tuple[int, int], bytes] = {}
    bounds = [0, *sorted(set(cuts)), len(leaves)]
    for a, b in itertools.pairwise(bounds):
        builder, rows = builder.extend(leaves[a:b])
        for row in rows:
            written[(row.level, row.idx)] = row.nodes
    return builder, written


@settings(max_examples=60)
@given(st.integers(1, 70000), st.lists(st.integers(0, 70000), max_size=6))
def test_batches_of_any_size_build_the_same_tiles_and_root(n: int, cuts: list[int]) -> None:
    leaves = _leaves(n)
    one, tiles_one = _build(leaves, [])
    many, tiles_many = _build(leaves, [c for c in cuts if c < n])
    assert tiles_one == tiles_many
    assert one.size == many.size == n
    assert one.root() == many.root() == merkle.root(leaves)


def test_a_stored_tile_holds_its_internal_levels() -> None:
    leaves = _leaves(300)
    _, written = _build(leaves, [100])
    first = written[(0, 0)]
    assert tiles.first_level(first, 256) == b"".join(leaves[:256])
    assert tiles.node_in_tile(first, 256, 7, 1) == merkle.root(leaves[128:256])
    assert written[(1, 0)][:32] == merkle.root(leaves[:256])
    assert tiles.node_in_tile(written[(0, 1)], 44, 2, 10) == merkle.root(leaves[296:300])
