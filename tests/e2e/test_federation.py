"""Four member nodes as real processes on loopback: replicate, witness, catch up, refuse
forged requests, detect a forked log."""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from factories import free_ports, make_node

from lunan import demo, node
from lunan.alliance import config as ac
from lunan.federation import cosigned
from lunan.federation.runtime import load_alliance, member_log_ids
from lunan.log import Log, open_log
from lunan.log import checkpoint as cp
from lunan.log.verify import DatabaseSource, verify_log
from lunan.log.witness import format_request
from lunan.net import signatures
from lunan.storage.schema import log_bundles, log_checkpoints, log_tiles

Network = tuple[Path, list[demo.RunningNode]]


def _alliance(base: Path) -> list[tuple[demo.City, Path, str]]:
    """Four node directories on free ports, with the alliance file all four signed."""
    prepared = demo.prepare(base, demo.CITIES, free_ports(len(demo.CITIES)))
    demo.write_alliance(prepared)
    return prepared


def _start(base: Path) -> Network:
    nodes = demo.start(_alliance(base), base)
    try:
        demo.wait_healthy(nodes)
        demo.wait_final(nodes)
    except BaseException:
        demo.stop(nodes)
        raise
    return base, nodes


@pytest.fixture
def network(tmp_path: Path) -> Iterator[Network]:
    base, nodes = _start(tmp_path)
    yield base, nodes
    demo.stop(nodes)


def _status(n: demo.RunningNode) -> dict[str, Any]:
    doc: dict[str, Any] = httpx.get(f"{n.url}/api/v1/status", timeout=10).json()
    return doc


def _restart(n: demo.RunningNode, base: Path) -> demo.RunningNode:
    [fresh] = demo.start([(n.city, n.directory, n.url)], base)
    demo.wait_healthy([fresh])
    return fresh


def test_four_nodes_replicate_each_other_and_their_checkpoints_are_final(network: Network) -> None:
    _, nodes = network
    alliance = ac.load(nodes[0].directory / "alliance.json").alliance
    witnesses = [m.witness_verifier() for m in alliance.members]
    for n in nodes:
        served = httpx.get(f"{n.url}/log/v1/checkpoint", timeout=10).text
        body = served.split("\n\n", 1)[0] + "\n"
        lines, _ = cosigned.verified(body, served, witnesses)
        assert len(lines) >= alliance.quorum_size()
        own = _status(n)
        assert own["node"]["final_size"] == own["node"]["size"] == 1
        assert {m["city"] for m in own["members"]} == {c.code for c in demo.CITIES} - {n.city.code}
        assert all(m["replicated_size"] == 1 and m["final_size"] == 1 for m in own["members"])
        assert own["alerts"] == []


def test_a_stopped_node_catches_up_with_what_the_others_appended(network: Network) -> None:
    base, nodes = network
    linyi, heze = nodes[0], nodes[3]
    demo.stop([heze])
    with open_log(linyi.directory) as log:
        for i in range(5):
            log.append([f'{{"demo-entry":{i * 500 + j}}}'.encode() for j in range(500)])
    caught_up = subprocess.run(
        demo_cli("sync", "--dir", str(heze.directory)), capture_output=True, text=True, timeout=120
    )
    assert caught_up.returncode == 0, caught_up.stderr
    assert "临沂 371300: 2501 entries stored" in caught_up.stdout
    nodes[3] = heze = _restart(heze, base)
    statuses = demo.wait_final(nodes)
    for s in statuses:
        sizes = {m["city"]: m["replicated_size"] for m in s["members"]}
        if s["node"]["city"] != "371300":
            assert sizes["371300"] == 2501
    # What 菏泽 stored of 临沂's log verifies from scratch against 临沂's key.
    config = node.load_config(heze.directory)
    engine = node.open_database(heze.directory, config)
    members = [m for m in ac.load(heze.directory / "alliance.json").alliance.members]
    linyi_member = next(m for m in members if m.city == "371300")
    log_id = member_log_ids(engine, [linyi_member])["371300"]
    url = engine.url.render_as_string(hide_password=False)
    engine.dispose()
    report = verify_log(DatabaseSource(url, log_id), linyi_member.log_verifier(), workers=1)
    assert report.size == 2501 and report.tiles_checked


def test_requests_with_unknown_keys_or_replayed_are_refused_and_recorded(network: Network) -> None:
    _, nodes = network
    target, sender = nodes[0], nodes[1]
    url = f"{target.url}/witness/v1/add-checkpoint"
    with open_log(sender.directory) as log:
        body = format_request(0, [], log.checkpoint())
        key = node.load_key(sender.directory)
        origin = log.signer.name

    def post(headers: dict[str, str]) -> httpx.Response:
        return httpx.post(url, content=body, headers=headers, timeout=10)

    unsigned = post({})
    assert unsigned.status_code == 401
    assert unsigned.headers["content-type"] == "application/problem+json"
    stranger = signatures.sign_request("POST", url, {}, body, origin, Ed25519PrivateKey.generate())
    assert post(stranger).status_code == 403
    unknown = signatures.sign_request("POST", url, {}, body, "lunan/999999", key)
    assert post(unknown).json()["type"] == "urn:lunan:problem:request-unknown-key"
    good = signatures.sign_request("POST", url, {}, body, origin, key)
    first = post(good)
    assert first.status_code in (200, 409)  # 409: the witness already cosigned a bigger size
    again = post(good)
    assert again.status_code == 403 and again.json()["type"] == "urn:lunan:problem:request-replayed"
    # A public page needs no signature, but a signed request is checked wherever it goes.
    public = f"{target.url}/log/v1/checkpoint"
    assert httpx.get(public, timeout=10).status_code == 200
    forged = signatures.sign_request("GET", public, {}, b"", origin, Ed25519PrivateKey.generate())
    assert httpx.get(public, headers=forged, timeout=10).status_code == 403
    status = _status(target)
    refused = status["refused_requests"]
    assert refused["missing-signature"] >= 1 and refused["unknown-key"] >= 1
    assert refused["bad-signature"] >= 2 and refused["replayed"] >= 1
    # Refusals in a member's name are alerts; anonymous noise is only counted.
    kinds = [a["kind"] for a in status["alerts"]]
    assert kinds.count("refused-request") == 1  # the replay: its signature had verified


def test_a_log_rewritten_behind_the_alliance_is_detected_as_a_fork(network: Network) -> None:
    base, nodes = network
    zaozhuang = nodes[1]
    demo.stop([zaozhuang])
    _rewrite_history(zaozhuang.directory)
    nodes[1] = _restart(zaozhuang, base)
    deadline = time.monotonic() + 60
    while True:
        alerts = [a for a in _status(nodes[0])["alerts"] if a["kind"] == "fork"]
        if alerts:
            break
        assert time.monotonic() < deadline, "no fork alert"
        time.sleep(0.2)
    assert alerts[0]["origin"] == "lunan/370400"
    member = next(m for m in _status(nodes[0])["members"] if m["city"] == "370400")
    assert member["following"] is False


def _rewrite_history(directory: Path) -> None:
    """The same key signs a different tree of the same size: what a fork looks like."""
    config = node.load_config(directory)
    engine = node.open_database(directory, config)
    with engine.begin() as conn:
        for table in (log_bundles, log_tiles, log_checkpoints):
            conn.execute(table.delete().where(table.c.log_id == node.OWN_LOG_ID))
    log = Log(engine, node.OWN_LOG_ID, node.signer(config, node.load_key(directory)))
    log.append([b'{"rewritten":true}'])
    signed = cp.open_signed(log.checkpoint(), log.verifier())
    assert signed.size == 1
    log.close()


def demo_cli(*args: str) -> list[str]:
    import sys

    return [sys.executable, "-m", "lunan", *args]


def test_a_node_refuses_to_start_with_a_bad_alliance_file_and_says_why(tmp_path: Path) -> None:
    linyi = _alliance(tmp_path)[0][1]
    good = (linyi / "alliance.json").read_text()

    def serve_error() -> str:
        r = subprocess.run(
            demo_cli("serve", "--dir", str(linyi)), capture_output=True, text=True, timeout=60
        )
        assert r.returncode != 0
        return r.stderr

    (linyi / "alliance.json").write_text(good.replace("127.0.0.1", "127.0.0.2", 1))
    assert "tampered" in serve_error()
    unsigned = ac.SignedAlliance(ac.loads(good.encode()).alliance, ())
    ac.save(linyi / "alliance.json", unsigned)
    assert "unsigned" in serve_error()
    stranger = tmp_path / "stranger"
    make_node(stranger, city="370000", name="示例市", origin="lunan/370000")
    (stranger / "alliance.json").write_text(good)
    r = subprocess.run(
        demo_cli("serve", "--dir", str(stranger)), capture_output=True, text=True, timeout=60
    )
    assert r.returncode != 0 and "does not list this node 370000" in r.stderr


class _Garbage(http.server.BaseHTTPRequestHandler):
    """A member gone wrong: its real signed checkpoint and checkpoint list, so followers
    get as far as fetching entries, but random or truncated bytes for everything else."""

    checkpoint = b""  # set by the test: the member's genuine signed checkpoint
    listing = b""

    def do_GET(self) -> None:
        if self.path == "/log/v1/checkpoint":
            self._answer(self.checkpoint)
        elif self.path.startswith("/api/v1/log/checkpoints"):
            self._answer(self.listing)
        else:
            body = os.urandom(300)
            self.send_response(200)
            self.send_header("Content-Length", str(len(body) + 100))  # promises more than it sends
            self.end_headers()
            self.wfile.write(body)

    do_POST = do_GET

    def _answer(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_a_member_serving_garbage_costs_retries_not_the_alliance(tmp_path: Path) -> None:
    prepared = _alliance(tmp_path)
    port = int(prepared[3][2].rsplit(":", 1)[1])
    with open_log(prepared[3][1]) as heze_log:
        heze_log.append([b'{"never":"served whole"}'])  # a genuine checkpoint of size 2
        _Garbage.checkpoint = heze_log.checkpoint().encode()
        rows = heze_log.store.checkpoints_after(-1, 1000)
    _Garbage.listing = json.dumps(
        {"checkpoints": [{"size": n, "note": t} for n, t in rows]}
    ).encode()
    garbage = http.server.ThreadingHTTPServer(("127.0.0.1", port), _Garbage)
    threading.Thread(target=garbage.serve_forever, daemon=True).start()
    nodes = demo.start(prepared[:3], tmp_path)
    try:
        demo.wait_healthy(nodes)
        deadline = time.monotonic() + 60
        while True:
            statuses = [_status(n) for n in nodes]
            healthy = all(
                s["node"]["final_size"] == 1
                and all(m["replicated_size"] == 1 for m in s["members"] if m["city"] != "371700")
                for s in statuses
            )
            broken = all(
                next(m for m in s["members"] if m["city"] == "371700")["last_error"]
                for s in statuses
            )
            if healthy and broken:
                break
            assert all(n.process.poll() is None for n in nodes), "a node crashed"
            assert time.monotonic() < deadline, statuses
            time.sleep(0.2)
        for status in statuses:
            heze = next(m for m in status["members"] if m["city"] == "371700")
            assert heze["served_size"] == 2  # its genuine checkpoint was read and verified …
            assert heze["replicated_size"] == 0  # … but none of its garbage entries were stored
            assert heze["following"] and not status["alerts"]  # bad data is not a fork
    finally:
        demo.stop(nodes)
        garbage.shutdown()
        garbage.server_close()


def test_a_node_runs_on_a_later_alliance_version_kept_with_its_history(tmp_path: Path) -> None:
    prepared = _alliance(tmp_path)
    linyi = prepared[0][1]
    v1 = ac.load(linyi / "alliance.json")
    v2 = ac.next_version(v1, name="鲁南经济圈（第二版，示例数据）")
    for city, directory, _ in prepared[:2]:  # a quorum (2) of version 1's members signs
        config = node.load_config(directory)
        v2 = ac.sign(v2, city.code, node.signer(config, node.load_key(directory)), previous=v1)
    ac.save(linyi / "alliance.json", v2)
    config = node.load_config(linyi)
    vkey = node.signer(config, node.load_key(linyi)).vkey()
    with pytest.raises(node.NodeError, match="every earlier version"):
        load_alliance(linyi, config, vkey)
    ac.save(linyi / "alliance-v1.json", v1)
    assert load_alliance(linyi, config, vkey).version == 2
