"""After a run of exchanges between two member nodes (real processes), no resident ID, name or
answer appears in any log entry, checkpoint, the replicated state, or the nodes' log files
(DESIGN §6, invariant 2)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from factories import exchange_body, free_ports, residents_csv, stored_entries

from lunan import demo, node
from lunan.apps.tourism import residents
from lunan.auth import tokens
from lunan.auth.roles import Role
from lunan.events.envelope import decode
from lunan.net.signatures import sign_request
from lunan.sample.accounts import account
from lunan.sample.sharing import TOURISM_PURPOSE, TOURISM_SCENARIO, resident_check
from lunan.services import open_node
from lunan.storage.schema import log_checkpoints

LINYI, ZAOZHUANG = demo.City("371300", "临沂"), demo.City("370400", "枣庄")
ENTRY = f"{LINYI.code}-01-0001"
SCRIPT = Path(__file__).parent / "node_process.py"
pytestmark = pytest.mark.slow


def _wait(condition: Callable[[], object], what: str, timeout: float = 90) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = condition()
        if found:
            return found
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


class Node:
    def __init__(self, city: demo.City, directory: Path, url: str, base: Path) -> None:
        self.city, self.directory, self.url = city, directory, url
        self.log_file = base / f"{city.code}.log"
        engine = node.open_database(directory, node.load_config(directory))
        token = tokens.create_token(engine, account(city.code, Role.COORDINATOR))
        engine.dispose()
        with self.log_file.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, str(SCRIPT), str(directory)], stdout=out, stderr=subprocess.STDOUT
            )
        self.api = httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        )

    def up(self) -> bool:
        assert self.process.poll() is None, self.log_file.read_text()
        try:
            return httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def ok(self, method: str, path: str, **kwargs: Any) -> Any:
        r = self.api.request(method, path, **kwargs)
        assert r.status_code < 300, f"{method} {path}: {r.status_code} {r.text}"
        return r.json()

    def found(self, path: str) -> Any:
        r = self.api.get(path)
        return r.json() if r.status_code == 200 else None

    def stop(self) -> None:
        self.api.close()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def nodes(tmp_path: Path) -> Iterator[tuple[Node, Node]]:
    prepared = demo.prepare(tmp_path, (LINYI, ZAOZHUANG), free_ports(2))
    demo.write_alliance(prepared)
    started = [Node(city, directory, url, tmp_path) for city, directory, url in prepared]
    try:
        for n in started:
            _wait(n.up, f"{n.city.name} did not start")
        yield started[0], started[1]
    finally:
        for n in started:
            n.stop()


def _agreement(linyi: Node, zaozhuang: Node, dataset: str) -> str:
    _wait(lambda: zaozhuang.found(f"/api/v1/sharing/catalog/by-code/{ENTRY}"), "no entry")
    request = {
        "dataset": dataset,
        "fields": ["身份证号"],
        "purpose": TOURISM_PURPOSE,
        "scenario": TOURISM_SCENARIO,
        "period": {"start": "2026-01-01", "end": "2099-12-31"},
        "legal_basis": "鲁南旅游联盟旅游同城化（示例数据）",
        "volume": 100,
        "quota": 1000,
    }
    request_id = zaozhuang.ok("POST", "/api/v1/sharing/requests", json=request)["id"]
    path = request_id.replace("data-request/", "/api/v1/sharing/requests/")
    _wait(lambda: linyi.found(path), "no request")
    terms = {"reason": "同意（示例数据）"}
    agreement: str = linyi.ok("POST", f"{path}/approve", json=terms)["id"]
    agreement_path = agreement.replace("data-agreement/", "/api/v1/sharing/agreements/")
    _wait(lambda: zaozhuang.found(agreement_path), "no agreement")
    return agreement


def _exchanges(linyi: Node, zaozhuang: Node, agreement: str, asked: list[str]) -> list[str]:
    """Answers of every kind, refusals of every kind; returns the answers seen."""
    answers = []
    for number in asked:
        body = {"agreement": agreement, "params": {"身份证号": number}}
        answers.append(zaozhuang.ok("POST", "/api/v1/exchange/call", json=body)["answer"])
    refusals = [
        {"purpose": "别的用途"},
        {"fields": ["姓名"]},
        {"params": {"户籍地区划代码": "371302"}},
        {"params": {asked[0]: asked[1]}},  # an ID as a field name
    ]
    for change in refusals:
        body = {"agreement": agreement, "params": {"身份证号": asked[0]}, **change}
        assert zaozhuang.ok("POST", "/api/v1/exchange/call", json=body)["status"] == 403
    # Requests made by hand, signed with 枣庄's key: malformed in ways that carry an ID.
    url = f"{linyi.url}/exchange/v1/resident-check"
    with open_node(zaozhuang.directory) as parts:
        signer = parts.log.signer
    for claimed, changes in (
        (asked[2], {}),
        (agreement, {"request_id": asked[3]}),
        (agreement, {"user": asked[4]}),
    ):
        raw = exchange_body(claimed, {"身份证号": asked[5]}, **changes)
        headers = sign_request("POST", url, {}, raw, signer.name, signer.private_key)
        assert httpx.post(url, content=raw, headers=headers).status_code == 422
    return answers


def _scan_database(directory: Path, needles: list[str], answers: tuple[str, ...]) -> int:
    """Every log entry (own and replicated), every checkpoint and the replicated state."""
    scanned = 0
    with open_node(directory) as parts:
        parts.projector.catch_up()
        with parts.log.engine.connect() as conn:
            for data in stored_entries(parts.log.engine):
                text = data.decode()
                scanned += 1
                for needle in needles:
                    assert needle not in text, f"a resident's data in a log entry: {text[:200]}"
                if '"type":"exchange.' in text:
                    event = decode(data)
                    assert not set(str(event.body)) & set("".join(answers)), event.body
            for (note,) in conn.execute(
                log_checkpoints.select().with_only_columns(log_checkpoints.c.note)
            ):
                assert not any(n in note for n in needles)
        state = parts.projector.dump().decode()
        assert not any(n in state for n in needles), "a resident's data in the state"
    return scanned


def test_no_resident_id_name_or_answer_is_logged_anywhere(nodes: tuple[Node, Node]) -> None:
    linyi, zaozhuang = nodes
    dataset = linyi.ok("POST", "/api/v1/sharing/catalog", json=resident_check(LINYI.code))["id"]
    data, ids = residents_csv(LINYI.code, 40, "scan")
    people = residents.parse_csv(data, LINYI.code)
    bad = data + f"{ids[0][:17]}0,坏行,371302\n".encode()  # a refused file reports by position
    r = linyi.api.post(
        "/api/v1/data/import", params={"entry": ENTRY}, files={"file": ("r.csv", bad)}
    )
    assert r.status_code == 422
    files = {"file": ("r.csv", data, "text/csv")}
    assert (
        linyi.ok("POST", "/api/v1/data/import", params={"entry": ENTRY}, files=files)["rows"] == 40
    )
    agreement = _agreement(linyi, zaozhuang, dataset)
    _, strangers = residents_csv(ZAOZHUANG.code, 20, "scan strangers")
    asked = ids[:20] + strangers
    answers = _exchanges(linyi, zaozhuang, agreement, asked)
    assert answers == ["是"] * 20 + ["否"] * 20
    _wait(lambda: demo.settled([_running(n) for n in nodes]), "the nodes did not settle")
    for n in nodes:
        n.stop()
    needles = [*ids, *strangers, *(i[:17] for i in asked), *(p.name for p in people)]
    needles = [n for n in needles if len(n) >= 2]
    entries = sum(_scan_database(n.directory, needles, ("是", "否")) for n in nodes)
    assert entries > 2 * 45  # both logs, replicated both ways: every exchange's records
    access = {linyi: "POST /exchange/v1/resident-check", zaozhuang: "POST /api/v1/exchange/call"}
    for n, line in access.items():
        text = n.log_file.read_text(encoding="utf-8")
        assert line in text  # the access log was on
        for needle in [*needles, "是", "否"]:
            assert needle not in text, f"{needle!r} in {n.log_file.name}"


def _running(n: Node) -> demo.RunningNode:
    return demo.RunningNode(n.city, n.url, n.directory, n.process)
