"""The events API: outcomes, content with a checked inclusion proof, and the state hash."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from factories import actor, make_node
from fastapi.testclient import TestClient

from lunan.events.registry import Rejected
from lunan.web.app import create_app

TERM = {"to": "370400", "term_start": "2022-05-13", "term_end": "2023-05-12"}


@pytest.fixture
def client(tmp_path: Path, database_url: str) -> Iterator[TestClient]:
    app = create_app(make_node(tmp_path, database_url))
    with TestClient(app) as c:
        writer = app.state.parts.writer
        writer.append("alliance.chair.handover", "handover/371300/1", TERM, actor("371300"))
        with pytest.raises(Rejected):
            writer.append("alliance.chair.handover", "handover/371300/2", TERM, actor("371300"))
        yield c


def test_events_list_shows_applied_and_rejected_events(client: TestClient) -> None:
    events = client.get("/api/v1/events").json()["events"]
    assert [(e["index"], e["status"]) for e in sorted(events, key=lambda e: e["index"])] == [
        (0, "applied"),
        (1, "applied"),
        (2, "rejected"),
    ]
    rejected = client.get("/api/v1/events", params={"status": "rejected"}).json()["events"]
    assert [(e["index"], e["reason"]) for e in rejected] == [(2, "not-chair")]
    assert rejected[0]["actor"] == actor("371300")


def test_an_event_comes_with_its_content_and_a_verified_proof(client: TestClient) -> None:
    doc = client.get("/api/v1/events/371300/1").json()
    assert doc["event"]["type"] == "alliance.chair.handover"
    assert json.loads(base64.b64decode(doc["entry"])) == doc["event"]
    assert doc["outcome"]["status"] == "applied"
    proof = doc["proof"]
    assert proof["verified"] is True and proof["problem"] is None
    assert proof["size"] == 3 and proof["log"] == "lunan/371300"
    assert proof["checkpoint"].startswith("lunan/371300\n3\n")


def test_an_unknown_event_is_a_problem_document(client: TestClient) -> None:
    for path in ("/api/v1/events/371300/99", "/api/v1/events/370800/0"):
        r = client.get(path)
        assert r.status_code == 404
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["type"] == "urn:lunan:problem:no-such-event"


def test_state_names_the_positions_its_hash_covers(client: TestClient) -> None:
    state = client.get("/api/v1/state").json()
    assert state["positions"] == {"371300": 3}
    assert len(state["hash"]) == 64 and state["waiting"] == {}
