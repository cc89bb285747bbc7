"""RFC 9162 hashing and proofs against public vectors, plus properties on random trees."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lunan.log import merkle

VECTORS = Path(__file__).parent.parent / "vectors"
PROBES = VECTORS / "transparency-dev-merkle" / "testdata"
CT_TREE: dict[str, Any] = json.loads((VECTORS / "rfc6962_8leaf_tree.json").read_text())


def _probes(kind: str) -> list[Any]:
    files = sorted((PROBES / kind).rglob("*.json"))
    assert len(files) >= 98
    return [pytest.param(json.loads(f.read_text()), id=str(f.relative_to(PROBES))) for f in files]


def _b64(values: list[str] | None) -> list[bytes]:
    return [base64.b64decode(v) for v in values or []]


@pytest.mark.parametrize("probe", _probes("inclusion"))
def test_inclusion_probe_is_accepted_or_rejected_as_transparency_dev_says(probe: Any) -> None:
    def check() -> None:
        merkle.verify_inclusion(
            probe["leafIdx"],
            probe["treeSize"],
            base64.b64decode(probe["leafHash"]),
            _b64(probe["proof"]),
            base64.b64decode(probe["root"]),
        )

    if probe["wantErr"]:
        with pytest.raises(merkle.ProofError):
            check()
    else:
        check()


@pytest.mark.parametrize("probe", _probes("consistency"))
def test_consistency_probe_is_accepted_or_rejected_as_transparency_dev_says(probe: Any) -> None:
    def check() -> None:
        merkle.verify_consistency(
            probe["size1"],
            probe["size2"],
            _b64(probe["proof"]),
            base64.b64decode(probe["root1"]),
            base64.b64decode(probe["root2"]),
        )

    if probe["wantErr"]:
        with pytest.raises(merkle.ProofError):
            check()
    else:
        check()


LEAVES = [bytes.fromhex(h) for h in CT_TREE["leaf_inputs_hex"]]
LEAF_HASHES = [merkle.leaf_hash(x) for x in LEAVES]


def _node_lookup(n: merkle.Node) -> bytes:
    height, index = n
    return merkle.root(LEAF_HASHES[index << height : (index + 1) << height])


def test_hasher_vectors_match() -> None:
    for v in CT_TREE["hasher_vectors"]:
        if v["op"] == "empty_root":
            assert merkle.EMPTY_ROOT.hex() == v["expected"]
        elif v["op"] == "leaf":
            assert merkle.leaf_hash(bytes.fromhex(v["input_hex"])).hex() == v["expected"]
        else:
            left, right = bytes.fromhex(v["left_hex"]), bytes.fromhex(v["right_hex"])
            assert merkle.node_hash(left, right).hex() == v["expected"]


def test_roots_of_the_8_leaf_tree_match_for_every_size() -> None:
    for size, want in CT_TREE["root_by_tree_size"].items():
        hashes = LEAF_HASHES[: int(size)]
        assert merkle.root(hashes).hex() == want
        edge = merkle.CompactRange()
        for h in hashes:
            edge.append(h, None)
        assert edge.root().hex() == want


def test_generated_inclusion_proofs_equal_the_published_ones() -> None:
    for v in CT_TREE["inclusion_proofs"]:
        plan = merkle.inclusion_plan(v["leaf_index"], v["tree_size"])
        proof = merkle.build_proof(plan, _node_lookup)
        assert [p.hex() for p in proof] == v["proof"]
        merkle.verify_inclusion(
            v["leaf_index"],
            v["tree_size"],
            bytes.fromhex(v["leaf_hash"]),
            proof,
            bytes.fromhex(v["root"]),
        )


def test_generated_consistency_proofs_equal_the_published_ones() -> None:
    for v in CT_TREE["consistency_proofs"]:
        plan = merkle.consistency_plan(v["size1"], v["size2"])
        proof = merkle.build_proof(plan, _node_lookup)
        assert [p.hex() for p in proof] == v["proof"]
        merkle.verify_consistency(
            v["size1"],
            v["size2"],
            proof,
            bytes.fromhex(v["root1"]),
            bytes.fromhex(v["root2"]),
        )


def test_proof_plans_refuse_impossible_ranges() -> None:
    with pytest.raises(merkle.ProofError):
        merkle.inclusion_plan(5, 5)
    with pytest.raises(merkle.ProofError):
        merkle.consistency_plan(0, 3)
    with pytest.raises(merkle.ProofError):
        merkle.consistency_plan(4, 3)


def _tree(n: int) -> tuple[list[bytes], merkle.CompactRange, dict[merkle.Node, bytes]]:
    leaves = [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(n)]
    nodes: dict[merkle.Node, bytes] = {}
    edge = merkle.CompactRange()
    for h in leaves:
        edge.append(h, lambda height, index, value: nodes.__setitem__((height, index), value))
    return leaves, edge, nodes


def _flip(proof: list[bytes], which: int, bit: int) -> list[bytes]:
    out = list(proof)
    p = bytearray(out[which])
    p[bit // 8] ^= 1 << (bit % 8)
    out[which] = bytes(p)
    return out


@given(st.data(), st.integers(min_value=1, max_value=300))
def test_every_inclusion_proof_verifies_and_any_change_fails(data: st.DataObject, n: int) -> None:
    leaves, edge, nodes = _tree(n)
    assert edge.root() == merkle.root(leaves)
    index = data.draw(st.integers(0, n - 1))
    proof = merkle.build_proof(merkle.inclusion_plan(index, n), nodes.__getitem__)
    merkle.verify_inclusion(index, n, leaves[index], proof, edge.root())
    if proof:
        which = data.draw(st.integers(0, len(proof) - 1))
        bit = data.draw(st.integers(0, 255))
        with pytest.raises(merkle.ProofError):
            merkle.verify_inclusion(index, n, leaves[index], _flip(proof, which, bit), edge.root())
    other = data.draw(st.integers(0, n).filter(lambda i: i != index))
    if other < n and leaves[other] != leaves[index]:
        with pytest.raises(merkle.ProofError):
            merkle.verify_inclusion(other, n, leaves[index], proof, edge.root())
    with pytest.raises(merkle.ProofError):
        merkle.verify_inclusion(index, n, leaves[index], [*proof, leaves[0]], edge.root())


@given(st.data(), st.integers(min_value=1, max_value=300))
def test_every_consistency_proof_verifies_and_any_change_fails(data: st.DataObject, n: int) -> None:
    leaves, edge, nodes = _tree(n)
    old = data.draw(st.integers(1, n))
    old_root = merkle.root(leaves[:old])
    proof = merkle.build_proof(merkle.consistency_plan(old, n), nodes.__getitem__)
    merkle.verify_consistency(old, n, proof, old_root, edge.root())
    if proof:
        which = data.draw(st.integers(0, len(proof) - 1))
        bit = data.draw(st.integers(0, 255))
        with pytest.raises(merkle.ProofError):
            merkle.verify_consistency(old, n, _flip(proof, which, bit), old_root, edge.root())
    wrong_old = data.draw(st.integers(1, n).filter(lambda m: m != old))
    if merkle.root(leaves[:wrong_old]) != old_root:
        with pytest.raises(merkle.ProofError):
            merkle.verify_consistency(wrong_old, n, proof, old_root, edge.root())
