"""Two member nodes talking over real HTTP on loopback (each a uvicorn server in a thread with
its alliance file, replicating the other's log): the security tests of issue 5. Every refusal
is checked for its status and problem type, for nothing having been served, and for its record:
an `exchange.denied` event when the request was signed by a member, a counter otherwise."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from factories import (
    exchange_body,
    free_ports,
    residents_csv,
    serve_in_thread,
    sharing_request,
    user_of,
)
from fastapi import FastAPI
from sqlalchemy import func, select

from lunan import demo
from lunan.auth import tokens
from lunan.auth.roles import Role
from lunan.exchange import actions, client
from lunan.exchange.tables import p_exchange_denied, p_exchange_received, p_exchange_served
from lunan.net.signatures import sign_request
from lunan.sample.accounts import account
from lunan.sample.sharing import TOURISM_PURPOSE, resident_check
from lunan.services import NodeParts
from lunan.sharing import actions as sharing_actions
from lunan.sharing import queries as sharing
from lunan.sharing.models import ApprovalTerms, DatasetFields
from lunan.web.federation import MAX_SIGNED_BODY

LINYI, ZAOZHUANG = demo.City("371300", "临沂"), demo.City("370400", "枣庄")
SERVICE = "resident-check"
Clock = Callable[[dt.date], None]


@dataclasses.dataclass
class Running:
    url: str
    app: FastAPI
    server: uvicorn.Server
    thread: threading.Thread

    @property
    def parts(self) -> NodeParts:
        parts: NodeParts = self.app.state.parts
        return parts

    def status(self) -> dict[str, Any]:
        doc: dict[str, Any] = httpx.get(f"{self.url}/api/v1/status", timeout=10).json()
        return doc

    def count(self, table: Any) -> int:
        self.parts.projector.catch_up()  # exchange records are folded off the request path
        with self.parts.projector.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(table)).scalar() or 0)


def _serve(directory: Path) -> Running:
    app, server, thread = serve_in_thread(directory)
    return Running(app.state.parts.config.url, app, server, thread)


def _wait(condition: Callable[[], object], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


@dataclasses.dataclass
class Pair:
    linyi: Running  # the provider
    zaozhuang: Running  # the requester
    ids: list[str]  # 临沂's residents
    agreements: dict[str, str]  # what each is for -> its id
    token: str  # a coordinator of 枣庄, for 枣庄's API


def _agreements(provider: Running, requester: Running, today: dt.date) -> dict[str, str]:
    """Requests filed on 枣庄's node, approved on 临沂's once replicated, each as noted."""
    entry = sharing.dataset_by_service(provider.parts.projector.engine, LINYI.code, SERVICE)
    assert entry is not None
    _wait(
        lambda: sharing.dataset(requester.parts.projector.engine, entry.id),
        "枣庄 did not replicate the entry",
    )
    terms: dict[str, dict[str, Any]] = {
        "main": {},
        "quota": {"quota": 1},
        "suspend": {},
        "revoke": {},
        "expire": {"period": {"start": str(today), "end": str(today + dt.timedelta(days=1))}},
        "future": {"period": {"start": str(today + dt.timedelta(days=30)), "end": "2099-12-31"}},
    }
    period = {"start": str(today), "end": "2099-12-31"}
    requests = {
        name: sharing_actions.file_request(
            requester.parts,
            user_of(ZAOZHUANG.code),
            sharing_request(entry.id, period=t.get("period", period)),
        )
        for name, t in terms.items()
    }
    p_engine = provider.parts.projector.engine
    _wait(lambda: all(sharing.request(p_engine, r) for r in requests.values()), "no requests")
    agreements = {
        name: sharing_actions.approve_request(
            provider.parts,
            user_of(LINYI.code),
            requests[name],
            ApprovalTerms.model_validate({"reason": "同意（示例数据）", **terms[name]}),
        )
        for name in terms
    }
    r_engine = requester.parts.projector.engine
    _wait(lambda: all(sharing.agreement(r_engine, a) for a in agreements.values()), "no grants")
    return agreements


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    base = tmp_path_factory.mktemp("pair")
    prepared = demo.prepare(base, (LINYI, ZAOZHUANG), free_ports(2))
    demo.write_alliance(prepared)
    linyi, zaozhuang = (_serve(directory) for _, directory, _ in prepared)
    try:
        fields = DatasetFields.model_validate(resident_check(LINYI.code))
        sharing_actions.publish_dataset(linyi.parts, user_of(LINYI.code), fields)
        data, ids = residents_csv(LINYI.code, 30, "two nodes")
        actions.import_data(linyi.parts, None, f"{LINYI.code}-01-0001", data)
        agreements = _agreements(linyi, zaozhuang, sharing.today_shanghai())
        engine = zaozhuang.parts.log.engine
        token = tokens.create_token(engine, account(ZAOZHUANG.code, Role.COORDINATOR))
        yield Pair(linyi, zaozhuang, ids, agreements, token)
    finally:
        for n in (zaozhuang, linyi):
            n.server.should_exit = True
            n.thread.join(timeout=15)


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """Real days here (the nodes were set up on today's); `clock(day)` moves "today"."""

    def set_day(day: dt.date) -> None:
        monkeypatch.setattr("lunan.sharing.queries.today_shanghai", lambda: day)

    return set_day


def call(pair: Pair, name: str, number: str | None = None, **kwargs: Any) -> client.ExchangeResult:
    params = kwargs.pop("params", {"身份证号": number or pair.ids[0]})
    purpose = kwargs.pop("purpose", TOURISM_PURPOSE)
    return client.call(
        pair.zaozhuang.parts, "gate-01", pair.agreements[name], params, purpose, **kwargs
    )


def test_a_call_is_answered_and_both_logs_hold_it_with_proofs(pair: Pair) -> None:
    _, strangers = residents_csv(ZAOZHUANG.code, 1, "stranger")
    yes = call(pair, "main")
    no = call(pair, "main", strangers[0])
    assert (yes.status, yes.answer, no.status, no.answer) == (200, "是", 200, "否")
    api = httpx.Client(
        base_url=pair.zaozhuang.url, headers={"Authorization": f"Bearer {pair.token}"}
    )
    body = {"agreement": pair.agreements["main"], "params": {"身份证号": pair.ids[1]}}
    r = api.post("/api/v1/exchange/call", json=body)
    assert r.status_code == 200 and r.json()["answer"] == "是", r.text
    # Each side's record reaches the other side: both hold both.
    for n in (pair.linyi, pair.zaozhuang):
        _wait(
            lambda n=n: {r.kind for r in _records(n, yes.request_id)} == {"served", "received"},
            "the records were not replicated",
        )
    records = api.get(f"/api/v1/exchange/records/{yes.request_id}").json()["records"]
    assert [(x["kind"], x["city"]) for x in records] == [
        ("served", LINYI.code),
        ("received", ZAOZHUANG.code),
    ]
    assert records[0]["response_digest"] == records[1]["response_digest"]
    for x in records:
        event = api.get(x["event"]).json()
        assert event["proof"]["verified"] and event["event"]["type"].startswith("exchange.")
        assert pair.ids[0] not in str(event)
    api.close()


def _records(n: Running, request_id: str) -> list[Any]:
    from lunan.exchange import queries

    return queries.records(n.parts.projector.engine, request_id)


def _post(pair: Pair, body: bytes | Iterator[bytes], headers: dict[str, str]) -> httpx.Response:
    url = f"{pair.linyi.url}/exchange/v1/{SERVICE}"
    return httpx.post(url, content=body, headers={"Content-Type": "application/json", **headers})


def _signed(
    pair: Pair,
    body: bytes,
    key: Ed25519PrivateKey | None = None,
    key_id: str = "",
    created: int | None = None,
) -> dict[str, str]:
    url = f"{pair.linyi.url}/exchange/v1/{SERVICE}"
    signer = pair.zaozhuang.parts.log.signer
    key_id, key = key_id or signer.name, key or signer.private_key
    return sign_request("POST", url, {}, body, key_id, key, created=created)


def test_unsigned_wrong_key_replayed_and_tampered_requests_are_refused(pair: Pair) -> None:
    served = pair.linyi.count(p_exchange_served)
    denied = pair.linyi.count(p_exchange_denied)
    before = pair.linyi.status()["refused_requests"]
    body = exchange_body(pair.agreements["main"], {"身份证号": pair.ids[2]})
    other_id = pair.ids[3].encode()
    tampered = body.replace(pair.ids[2].encode(), other_id)
    cases = [
        ("unsigned", body, {}, 401, "request-missing-signature"),
        (
            "wrong key",
            body,
            _signed(pair, body, Ed25519PrivateKey.generate()),
            403,
            "request-bad-signature",
        ),
        (
            "unknown key",
            body,
            _signed(pair, body, key_id="lunan/379999"),
            403,
            "request-unknown-key",
        ),
        ("tampered body", tampered, _signed(pair, body), 403, "request-bad-digest"),
        (
            "stale",
            body,
            _signed(pair, body, created=int(time.time()) - 3600),
            403,
            "request-expired",
        ),
    ]
    for what, sent, headers, status, slug in cases:
        r = _post(pair, sent, headers)
        assert r.status_code == status, what
        assert r.headers["content-type"] == "application/problem+json", what
        assert r.json()["type"] == f"urn:lunan:problem:{slug}", what
    good = _signed(pair, body)
    assert _post(pair, body, good).status_code == 200
    replay = _post(pair, body, good)
    assert replay.status_code == 403
    assert replay.json()["type"] == "urn:lunan:problem:request-replayed"
    assert pair.linyi.count(p_exchange_served) == served + 1  # the one good request
    assert pair.linyi.count(p_exchange_denied) == denied  # counted, not logged as events
    after = pair.linyi.status()["refused_requests"]
    reasons = ("missing-signature", "bad-signature", "unknown-key", "bad-digest", "expired")
    for reason in (*reasons, "replayed"):
        assert after.get(reason, 0) == before.get(reason, 0) + 1, reason


@pytest.mark.parametrize(
    ("name", "change", "status", "slug"),
    [
        ("main", {"fields": ["姓名"]}, 403, "exchange-field-not-agreed"),
        ("main", {"purpose": "商业营销"}, 403, "exchange-purpose"),
        ("main", {"params": {"户籍地区划代码": "371302"}}, 403, "exchange-row-filter"),
        ("suspend", {}, 403, "exchange-agreement-suspended"),
        ("revoke", {}, 403, "exchange-agreement-revoked"),
        ("expire", {}, 403, "exchange-agreement-expired"),
        ("future", {}, 403, "exchange-agreement-not-yet-valid"),
        ("quota", {}, 429, "exchange-over-quota"),
    ],
)
def test_each_agreement_violation_is_refused_and_the_denial_logged(
    pair: Pair, clock: Clock, name: str, change: dict[str, Any], status: int, slug: str
) -> None:
    linyi = pair.linyi.parts
    agreement = pair.agreements[name]
    if name == "suspend":
        sharing_actions.suspend_agreement(linyi, user_of(LINYI.code), agreement, "核查（示例数据）")
    elif name == "revoke":
        sharing_actions.revoke_agreement(linyi, user_of(LINYI.code), agreement, "终止（示例数据）")
    elif name == "expire":
        clock(sharing.today_shanghai() + dt.timedelta(days=2))
    elif name == "quota":
        assert call(pair, name).status == 200  # the day's one call
    served = pair.linyi.count(p_exchange_served)
    result = call(pair, name, **change)
    assert result.status == status and result.answer is None and result.rows is None
    assert result.problem is not None and result.problem["type"] == f"urn:lunan:problem:{slug}"
    assert pair.linyi.count(p_exchange_served) == served
    pair.zaozhuang.parts.projector.catch_up()
    with linyi.projector.engine.connect() as conn:
        q = select(p_exchange_denied).where(p_exchange_denied.c.request_id == result.request_id)
        [denial] = conn.execute(q).all()
        assert (denial.reason, denial.status, denial.requester) == (slug, status, ZAOZHUANG.code)
        q2 = select(p_exchange_received).where(
            p_exchange_received.c.request_id == result.request_id
        )
    with pair.zaozhuang.parts.projector.engine.connect() as conn:
        [mine] = conn.execute(q2).all()
        assert (mine.status, mine.verified) == (status, True)


def test_a_provider_that_is_down_is_unavailable(
    pair: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    members = pair.zaozhuang.parts.alliance
    assert members is not None
    moved = tuple(
        dataclasses.replace(m, url="http://127.0.0.1:9") if m.city == LINYI.code else m
        for m in members.members
    )
    parts = dataclasses.replace(
        pair.zaozhuang.parts, alliance=dataclasses.replace(members, members=moved)
    )
    with pytest.raises(client.ExchangeUnavailable):
        client.call(
            parts,
            "gate-01",
            pair.agreements["main"],
            {"身份证号": pair.ids[0]},
            TOURISM_PURPOSE,
            timeout=1,
        )


def test_a_signed_request_over_the_size_limit_is_refused_unread(pair: Pair) -> None:
    """Anyone can send a signature header: the body is not read past 1 MiB before the
    signature is checked, whether the request gives its length or sends it in chunks."""
    before = pair.linyi.status()["refused_requests"]
    body = b"x" * (MAX_SIGNED_BODY + 1)
    signed = _signed(pair, body)
    for content in (body, iter([body[:4096], body[4096:]])):  # a length, then chunks
        r = _post(pair, content, signed)
        assert r.status_code == 413
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["type"] == "urn:lunan:problem:request-too-large"
    assert pair.linyi.status()["refused_requests"] == before  # not a refusal of a member
