"""RFC 9162 §2.1 Merkle tree hashing, proofs and their verification.

Pure functions over bytes. Proof *generation* is split in two so that storage stays out of
this module: a "plan" names the perfect subtrees (nodes) each proof hash is made of, and the
caller fetches those node hashes from wherever it keeps them and folds them with `fold`.

A node is `(height, index)`: the perfect subtree over leaves `[index << height,
(index + 1) << height)`. Every hash in an RFC 9162 proof is the tree hash of a range that
splits into such nodes, largest first (the binary decomposition of the range's length).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"

Node = tuple[int, int]
Plan = list[list[Node]]


class ProofError(ValueError):
    """A proof does not verify, or a proof was asked for that cannot exist."""


def leaf_hash(entry: bytes) -> bytes:
    return hashlib.sha256(LEAF_PREFIX + entry).digest()


def leaf_hashes(entries: Iterable[bytes]) -> list[bytes]:
    """`leaf_hash` of each entry: one list comprehension, the fast way to hash many."""
    sha = hashlib.sha256
    return [sha(LEAF_PREFIX + e).digest() for e in entries]


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def parents(children: Sequence[bytes], first: int = 0) -> list[bytes]:
    """Hashes of the complete parents of a level of nodes, from parent index `first` on.

    A list comprehension over the level, the fast way to hash many nodes in Python.
    """
    sha = hashlib.sha256
    return [
        sha(NODE_PREFIX + children[2 * p] + children[2 * p + 1]).digest()
        for p in range(first, len(children) // 2)
    ]


def split_point(n: int) -> int:
    """The largest power of two strictly below n (n ≥ 2): where RFC 9162 splits a tree."""
    return 1 << ((n - 1).bit_length() - 1)


def range_nodes(begin: int, end: int) -> list[Node]:
    """The perfect subtrees that make up the range [begin, end), left to right.

    Valid for the ranges RFC 9162's recursion produces, whose start is aligned to every
    piece, as is any range starting at 0.
    """
    nodes: list[Node] = []
    while begin < end:
        height = (end - begin).bit_length() - 1
        nodes.append((height, begin >> height))
        begin += 1 << height
    return nodes


def fold(hashes: Sequence[bytes]) -> bytes:
    """The tree hash of consecutive perfect subtrees given left to right, largest first."""
    if not hashes:
        return EMPTY_ROOT
    acc = hashes[-1]
    for h in reversed(hashes[:-1]):
        acc = node_hash(h, acc)
    return acc


def root(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH of a whole list of leaf hashes (used for small trees and tests)."""
    level = list(leaf_hashes)
    if not level:
        return EMPTY_ROOT
    # Pair up left to right; an odd node at the end is promoted, never duplicated.
    while len(level) > 1:
        nxt = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]


def inclusion_plan(index: int, size: int) -> Plan:
    """RFC 9162 §2.1.3.1 PATH(index, D[0:size]) as node lists, leaf to root."""
    if not 0 <= index < size:
        raise ProofError(f"index {index} is outside a tree of size {size}")
    plan: Plan = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = split_point(hi - lo)
        if index < lo + k:
            plan.append(range_nodes(lo + k, hi))
            hi = lo + k
        else:
            plan.append(range_nodes(lo, lo + k))
            lo += k
    plan.reverse()
    return plan


def consistency_plan(old: int, new: int) -> Plan:
    """RFC 9162 §2.1.4.1 PROOF(old, D[0:new]) as node lists, in proof order."""
    if not 0 < old <= new:
        raise ProofError(f"no consistency proof from size {old} to size {new}")
    plan: Plan = []
    lo, hi, complete = 0, new, True
    while old != hi:
        k = split_point(hi - lo)
        if old - lo <= k:
            plan.append(range_nodes(lo + k, hi))
            hi = lo + k
        else:
            plan.append(range_nodes(lo, lo + k))
            lo += k
            complete = False
    if not complete:
        plan.append(range_nodes(lo, hi))
    plan.reverse()
    return plan


def build_proof(plan: Plan, node: Callable[[Node], bytes]) -> list[bytes]:
    """Turn a plan into proof hashes, given a lookup of stored node hashes."""
    return [fold([node(n) for n in nodes]) for nodes in plan]


def _shift_to_odd(fn: int, sn: int) -> tuple[int, int]:
    while fn and not fn & 1:
        fn >>= 1
        sn >>= 1
    return fn, sn


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], expected_root: bytes
) -> None:
    """RFC 9162 §2.1.3.2. Raises ProofError unless `leaf` is at `index` of the tree."""
    if not 0 <= index < size:
        raise ProofError(f"index {index} is outside a tree of size {size}")
    if len(leaf) != HASH_SIZE:
        raise ProofError(f"leaf hash has {len(leaf)} bytes, want {HASH_SIZE}")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise ProofError("inclusion proof is too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            fn, sn = _shift_to_odd(fn, sn)
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("inclusion proof is too short")
    if r != expected_root:
        raise ProofError("inclusion proof does not lead to the root")


def verify_consistency(
    old: int, new: int, proof: Sequence[bytes], old_root: bytes, new_root: bytes
) -> None:
    """RFC 9162 §2.1.4.2. Raises ProofError unless the tree of size `new` extends `old`.

    Strict like transparency-dev: a proof from the empty tree is an error (the witness
    protocol's `old 0` is handled by its caller, where there is nothing to prove).
    """
    if old > new:
        raise ProofError(f"old size {old} is larger than new size {new}")
    if old == 0:
        raise ProofError("no consistency proof exists from the empty tree")
    if old == new:
        if proof:
            raise ProofError("sizes are equal but the proof is not empty")
        if old_root != new_root:
            raise ProofError("sizes are equal but the roots differ")
        return
    if not proof:
        raise ProofError("consistency proof is empty")
    path = list(proof)
    if old & (old - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("consistency proof is too long")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            fn, sn = _shift_to_odd(fn, sn)
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("consistency proof is too short")
    if fr != old_root:
        raise ProofError("consistency proof does not lead to the old root")
    if sr != new_root:
        raise ProofError("consistency proof does not lead to the new root")


class CompactRange:
    """The right edge of a growing tree: one hash per set bit of its size.

    Appending a leaf merges equal-height subtrees, reporting each completed node so a store
    can persist it; the root is the fold of the edge. Memory is O(log n).
    """

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        if len(hashes) != size.bit_count():
            raise ValueError(f"a tree of size {size} has {size.bit_count()} edge hashes")
        self.size = size
        self.hashes = list(hashes)

    def append(self, leaf: bytes, completed: Callable[[int, int, bytes], None] | None) -> None:
        """Add a leaf hash; call `completed(height, index, hash)` for every new node."""
        index = self.size
        self.hashes.append(leaf)
        if completed:
            completed(0, index, leaf)
        height = 0
        # Each trailing 1 bit of the old size is a subtree the new leaf completes.
        while index & 1:
            right = self.hashes.pop()
            merged = node_hash(self.hashes.pop(), right)
            self.hashes.append(merged)
            index >>= 1
            height += 1
            if completed:
                completed(height, index, merged)
        self.size += 1

    def root(self) -> bytes:
        return fold(self.hashes)
