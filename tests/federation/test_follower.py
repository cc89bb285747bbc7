"""The follower against a member that misbehaves: nothing unverified is stored, a failed fetch
is a retry, and only a proof that fails is a fork."""

from __future__ import annotations

import base64
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from factories import entries, make_node

from lunan import node
from lunan.federation import follower as following
from lunan.federation.follower import FORK, Follower, ForkDetected, open_alert
from lunan.federation.peer import Peer, PeerError
from lunan.log import Log, open_log, tiles
from lunan.log import checkpoint as cp
from lunan.storage.schema import logs


class StorePeer(Peer):
    """A member answering from its database, with faults switched on by the test."""

    def __init__(self, log: Log) -> None:
        super().__init__("http://member.invalid")
        self.log = log
        self.corrupt_entries = False
        self.corrupt_from: int | None = None  # entries from this index on are altered
        self.proof_down = False

    def get(self, path: str) -> bytes:
        store = self.log.store
        if path == "/log/v1/checkpoint":
            return self.log.checkpoint().encode()
        if path.startswith("/api/v1/log/checkpoints?after="):
            after = int(path.split("=", 1)[1].split("&", 1)[0])
            rows = store.checkpoints_after(after, 1000)
            return json.dumps({"checkpoints": [{"size": s, "note": n} for s, n in rows]}).encode()
        query = dict(p.split("=") for p in path.split("?", 1)[1].split("&"))
        if path.startswith("/api/v1/log/proof/consistency"):
            if self.proof_down:
                raise PeerError("connection reset")
            proof = store.consistency_proof(int(query["old"]), int(query["new"]))
            return json.dumps({"proof": [base64.b64encode(p).decode() for p in proof]}).encode()
        assert path.startswith("/api/v1/log/entries?")
        begin = int(query["begin"])
        data = store.entries(begin, int(query["end"]))
        if self.corrupt_entries:
            data = [e + b" " for e in data]
        if self.corrupt_from is not None:
            data = [e + b" " if begin + i >= self.corrupt_from else e for i, e in enumerate(data)]
        return tiles.bundle_entries(data)


@pytest.fixture
def member(tmp_path: Path) -> Iterator[Log]:
    with open_log(make_node(tmp_path / "member")) as log:
        yield log


@pytest.fixture
def follower(
    tmp_path: Path, member: Log, database_url: str
) -> Iterator[tuple[Follower, StorePeer]]:
    here = make_node(
        tmp_path / "here", database_url, city="370400", name="枣庄", origin="lunan/370400"
    )
    engine = node.open_database(here, node.load_config(here))
    with engine.begin() as conn:
        conn.execute(logs.insert().values(id=2, origin="lunan/371300", vkey=member.signer.vkey()))
    peer = StorePeer(member)
    yield Follower(engine, 2, member.verifier(), peer), peer
    engine.dispose()


def test_the_follower_stores_the_member_log_once_every_root_checks_out(
    follower: tuple[Follower, StorePeer], member: Log
) -> None:
    f, _ = follower
    member.append(entries(0, 700))
    assert f.sync() == 701
    assert f.store.root(701) == member.store.root(701)


def test_a_long_catch_up_keeps_every_segment_verified_before_bad_entries_and_resumes_there(
    follower: tuple[Follower, StorePeer], member: Log, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(following, "SEGMENT", 300)  # several segments in a small log
    f, peer = follower
    for start in range(0, 2000, 100):  # twenty signed commits of 100
        member.append(entries(start, 100))
    peer.corrupt_from = 1500
    with pytest.raises(PeerError, match="do not match"):
        f.sync()
    # A segment ends at the last checkpoint within 300 entries: 201, 501, 801, 1101, 1401,
    # then 1701, whose checkpoint 1501 the altered entry 1500 breaks.
    assert f.store.size() == 1401
    assert f.store.root(1401) == member.store.root(1401)
    with pytest.raises(PeerError, match="do not match"):
        f.sync()
    assert f.store.size() == 1401
    peer.corrupt_from = None
    assert f.sync() == 600
    assert f.store.size() == 2001
    assert f.store.root(2001) == member.store.root(2001)


def test_entries_that_do_not_match_the_checkpoint_are_not_stored_and_not_a_fork(
    follower: tuple[Follower, StorePeer], member: Log
) -> None:
    f, peer = follower
    f.sync()
    member.append(entries(0, 300))
    peer.corrupt_entries = True
    with pytest.raises(PeerError, match="do not match"):
        f.sync()
    peer.proof_down = True
    with pytest.raises(PeerError):
        f.sync()
    assert f.store.size() == 1
    assert not open_alert(f.engine, f.origin, FORK)
    peer.corrupt_entries = peer.proof_down = False
    assert f.sync() == 300


@pytest.mark.parametrize(
    "listed",
    [
        b"not json",
        b"[]",
        b'{"other": []}',
        b'{"checkpoints": {"note": "x"}}',
        b'{"checkpoints": [3]}',
    ],
)
def test_a_garbled_list_of_checkpoints_is_a_retry_naming_the_member_and_the_path(
    follower: tuple[Follower, StorePeer], member: Log, listed: bytes
) -> None:
    f, peer = follower
    member.append(entries(0, 10))
    answer = peer.get

    def garbled(path: str) -> bytes:
        return listed if path.startswith("/api/v1/log/checkpoints?") else answer(path)

    peer.get = garbled  # type: ignore[method-assign]
    pattern = r"^lunan/371300: /api/v1/log/checkpoints\?after=0&limit=1000 is not a list of signed"
    with pytest.raises(PeerError, match=pattern):
        f.sync()
    assert f.store.size() == 0
    peer.get = answer  # type: ignore[method-assign]
    assert f.sync() == 11


def test_a_checkpoint_not_signed_by_the_member_key_is_refused_and_not_a_fork(
    follower: tuple[Follower, StorePeer], member: Log, tmp_path: Path
) -> None:
    f, peer = follower
    member.append(entries(0, 10))
    f.sync()
    with open_log(make_node(tmp_path / "impostor")) as impostor:  # same origin, another key
        peer.log = impostor
        with pytest.raises(PeerError, match="signature"):
            f.sync()
    assert f.store.size() == 11
    assert not open_alert(f.engine, f.origin, FORK)


def test_two_signed_trees_of_one_size_are_a_fork(
    follower: tuple[Follower, StorePeer], member: Log
) -> None:
    f, _ = follower
    f.sync()
    # The member signs a different tree of size 1 with its own key.
    other = cp.sign(cp.Checkpoint("lunan/371300", 1, b"\x07" * 32), member.signer)

    class Liar(StorePeer):
        def get(self, path: str) -> bytes:
            if path == "/log/v1/checkpoint":
                return other.encode()
            return super().get(path)

    f.peer = Liar(member)
    with pytest.raises(ForkDetected):
        f.sync()
    assert open_alert(f.engine, f.origin, FORK)
    assert f.sync() == 0  # following stopped


def test_threads_switch_often_only_while_a_catch_up_of_several_segments_runs(
    follower: tuple[Follower, StorePeer], member: Log, monkeypatch: pytest.MonkeyPatch
) -> None:
    f, _ = follower
    monkeypatch.setattr(following, "SEGMENT", 300)
    usual = sys.getswitchinterval()
    seen: list[float] = []
    commit = following._Writer._commit

    def recording(writer: following._Writer, segment: object) -> None:
        seen.append(sys.getswitchinterval())
        commit(writer, segment)  # type: ignore[arg-type]

    monkeypatch.setattr(following._Writer, "_commit", recording)
    member.append(entries(0, 200))
    assert f.sync() == 201  # one segment: nothing to overlap with its write
    member.append(entries(200, 700))
    assert f.sync() == 700
    assert seen[0] == usual and set(seen[1:]) == {following.SWITCH_INTERVAL}
    assert sys.getswitchinterval() == usual


def test_a_member_showing_a_size_no_log_can_hold_is_refused_before_anything_is_fetched(
    follower: tuple[Follower, StorePeer], member: Log
) -> None:
    f, peer = follower
    huge = cp.sign(cp.Checkpoint(member.signer.name, (1 << 63) + 5, b"\x01" * 32), member.signer)
    asked: list[str] = []
    answer = peer.get

    def claiming(path: str) -> bytes:
        asked.append(path)
        return huge.encode() if path == "/log/v1/checkpoint" else answer(path)

    peer.get = claiming  # type: ignore[method-assign]
    with pytest.raises(PeerError, match="beyond what a log can hold"):
        f.sync()
    assert asked == ["/log/v1/checkpoint"] and f.store.size() == 0
