"""The log over HTTP: tlog-tiles and the JSON proof API, and their errors."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
from factories import filled_log
from fastapi.testclient import TestClient

from lunan.log import Log, merkle, open_log, tiles
from lunan.log import checkpoint as cp
from lunan.web.app import create_app

SIZE = 600  # genesis + 599: two full level-0 tiles and a partial one


@pytest.fixture
def served(tmp_path: Path, database_url: str) -> Iterator[tuple[TestClient, Log]]:
    log = filled_log(tmp_path, SIZE - 1, database_url)
    with TestClient(create_app(tmp_path, log)) as client:
        yield client, log


def _b64(s: str) -> bytes:
    return base64.b64decode(s)


def test_the_checkpoint_is_the_latest_signed_note(served: tuple[TestClient, Log]) -> None:
    client, log = served
    r = client.get("/log/v1/checkpoint")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    assert r.headers["cache-control"] == "no-cache"
    assert cp.open_signed(r.text, log.verifier()).size == SIZE


def test_tiles_rebuild_the_signed_root(served: tuple[TestClient, Log]) -> None:
    client, log = served
    root = cp.open_signed(client.get("/log/v1/checkpoint").text, log.verifier()).root
    leaf_hashes: list[bytes] = []
    for ref in (tiles.TileRef(0, 0, 256), tiles.TileRef(0, 1, 256), tiles.TileRef(0, 2, 88)):
        r = client.get("/log/v1/" + tiles.tile_path(ref))
        assert r.status_code == 200
        assert len(r.content) == 32 * ref.width
        leaf_hashes += [r.content[i : i + 32] for i in range(0, len(r.content), 32)]
    assert merkle.root(leaf_hashes) == root
    level1 = client.get("/log/v1/tile/1/000.p/2").content
    assert level1 == merkle.root(leaf_hashes[:256]) + merkle.root(leaf_hashes[256:512])


def test_entry_bundles_hold_the_entries_that_hash_to_the_leaves(
    served: tuple[TestClient, Log],
) -> None:
    client, _ = served
    bundle = client.get("/log/v1/tile/entries/001").content
    entries = list(tiles.unbundle_entries(bundle))
    hashes = client.get("/log/v1/tile/0/001").content
    assert [merkle.leaf_hash(e) for e in entries] == [
        hashes[i : i + 32] for i in range(0, 8192, 32)
    ]
    partial = client.get("/log/v1/tile/entries/002.p/88")
    assert len(list(tiles.unbundle_entries(partial.content))) == 88


def test_an_entry_range_is_the_same_bytes_as_the_bundles_it_spans(
    served: tuple[TestClient, Log],
) -> None:
    client, log = served
    r = client.get("/api/v1/log/entries?begin=200&end=600")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/octet-stream"
    assert "immutable" in r.headers["cache-control"]
    assert list(tiles.unbundle_entries(r.content)) == log.store.entries(200, 600)
    whole = client.get("/log/v1/tile/entries/001").content
    assert client.get("/api/v1/log/entries?begin=256&end=512").content == whole


def test_full_tiles_are_immutable_and_partial_ones_short_lived(
    served: tuple[TestClient, Log],
) -> None:
    client, _ = served
    assert "immutable" in client.get("/log/v1/tile/0/000").headers["cache-control"]
    assert "immutable" in client.get("/log/v1/tile/entries/000").headers["cache-control"]
    assert "immutable" not in client.get("/log/v1/tile/0/002.p/88").headers["cache-control"]


def test_a_smaller_partial_tile_is_a_prefix_and_a_larger_one_does_not_exist(
    served: tuple[TestClient, Log],
) -> None:
    client, _ = served
    full = client.get("/log/v1/tile/0/002.p/88").content
    assert client.get("/log/v1/tile/0/002.p/10").content == full[: 32 * 10]
    for path in ("tile/0/002.p/89", "tile/0/002", "tile/0/003", "tile/entries/002", "tile/2/000"):
        r = client.get("/log/v1/" + path)
        assert r.status_code == 404, path
        assert r.headers["content-type"] == "application/problem+json"


def test_inclusion_proofs_verify_against_the_checkpoint(served: tuple[TestClient, Log]) -> None:
    client, log = served
    checkpoint = cp.open_signed(client.get("/log/v1/checkpoint").text, log.verifier())
    for index in (0, 255, 256, 599):
        body = client.get(f"/api/v1/log/proof/inclusion?index={index}&size={SIZE}").json()
        assert (body["index"], body["size"]) == (index, SIZE)
        entry = client.get(f"/api/v1/log/entries/{index}").json()
        assert _b64(entry["leaf_hash"]) == merkle.leaf_hash(_b64(entry["entry"]))
        assert entry["leaf_hash"] == body["leaf_hash"]
        proof = [_b64(p) for p in body["proof"]]
        merkle.verify_inclusion(index, SIZE, _b64(body["leaf_hash"]), proof, checkpoint.root)


def test_consistency_proofs_link_old_trees_to_the_checkpoint(
    served: tuple[TestClient, Log],
) -> None:
    client, log = served
    checkpoint = cp.open_signed(client.get("/log/v1/checkpoint").text, log.verifier())
    for old in (1, 7, 256, 511, SIZE):
        body = client.get(f"/api/v1/log/proof/consistency?old={old}&new={SIZE}").json()
        proof = [_b64(p) for p in body["proof"]]
        merkle.verify_consistency(old, SIZE, proof, log.store.root(old), checkpoint.root)


def test_the_log_summary_names_origin_size_and_key(served: tuple[TestClient, Log]) -> None:
    client, log = served
    body = client.get("/api/v1/log").json()
    assert body["origin"] == "lunan/371300"
    assert body["size"] == SIZE
    assert body["vkey"] == log.signer.vkey()
    assert client.get("/healthz").json()["status"] == "ok"


@pytest.mark.parametrize(
    ("path", "status", "slug"),
    [
        ("/api/v1/log/proof/inclusion?index=abc", 400, "invalid-parameters"),
        ("/api/v1/log/proof/inclusion", 400, "invalid-parameters"),
        ("/api/v1/log/proof/inclusion?index=-1", 400, "invalid-parameters"),
        ("/api/v1/log/proof/inclusion?index=600&size=600", 400, "index-out-of-range"),
        ("/api/v1/log/proof/inclusion?index=1&size=601", 404, "beyond-log-size"),
        (
            "/api/v1/log/proof/inclusion?index=1&size=99999999999999999999",
            400,
            "invalid-parameters",
        ),
        ("/api/v1/log/proof/consistency?old=0&new=5", 400, "bad-sizes"),
        ("/api/v1/log/proof/consistency?old=6&new=5", 400, "bad-sizes"),
        ("/api/v1/log/proof/consistency?old=1&new=601", 404, "beyond-log-size"),
        ("/api/v1/log/entries/600", 404, "beyond-log-size"),
        ("/api/v1/log/entries/x", 400, "invalid-parameters"),
        ("/api/v1/log/entries?begin=5&end=5", 400, "bad-range"),
        ("/api/v1/log/entries?begin=0&end=4097", 400, "bad-range"),
        ("/api/v1/log/entries?begin=10", 400, "invalid-parameters"),
        ("/api/v1/log/entries?begin=590&end=601", 404, "beyond-log-size"),
        ("/log/v1/tile/0/1", 400, "bad-tile-path"),
        ("/log/v1/tile/0/000.p/300", 400, "bad-tile-path"),
        ("/no/such/page", 404, "not-found"),
    ],
)
def test_bad_requests_get_a_problem_document_never_a_500(
    served: tuple[TestClient, Log], path: str, status: int, slug: str
) -> None:
    client, log = served
    r = client.get(path)
    assert r.status_code == status
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["type"] == f"urn:lunan:problem:{slug}"
    assert body["status"] == status
    assert body["detail"]
    assert log.size() == SIZE


def test_appends_by_another_process_show_up_without_a_restart(
    served: tuple[TestClient, Log], tmp_path: Path
) -> None:
    client, _ = served
    with open_log(tmp_path) as other:
        other.append([b"appended elsewhere"])
    assert client.get("/api/v1/log").json()["size"] == SIZE + 1
    r = client.get(f"/api/v1/log/entries/{SIZE}")
    assert base64.b64decode(r.json()["entry"]) == b"appended elsewhere"


def test_an_absurd_tile_index_is_a_bad_request(served: tuple[TestClient, Log]) -> None:
    client, _ = served
    r = client.get("/log/v1/tile/0/" + "x999/" * 8 + "999")
    assert r.status_code == 400
    assert r.json()["type"] == "urn:lunan:problem:bad-tile-path"
