"""The requester's side, `lunan.exchange.client.call`, against a provider answering in process
(an httpx transport that verifies the request's signature like the node's middleware and hands
it to `Provider.answer`): both sides' records, the response check, what is raised when."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from factories import (
    CHAIR,
    ExchangeCities,
    ExchangeHandler,
    residents_csv,
    user_of,
    wire_exchange,
)
from sqlalchemy import select

from lunan.events.errors import Forbidden, NotFound
from lunan.exchange import actions, client, nonces
from lunan.exchange.tables import p_exchange_received, p_exchange_served

ZAOZHUANG, JINING = "370400", "370800"
Handler = ExchangeHandler


@pytest.fixture
def wired(ex: ExchangeCities, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Handler]]:
    """Every city's parts know the alliance; requests to 临沂's URL reach its Provider after
    their signature is checked. Append a function to the yielded list to change responses."""
    yield wire_exchange(ex, monkeypatch)


def received(ex: ExchangeCities) -> list[dict[str, object]]:
    ex.sc.h.projector.catch_up()  # exchange records are folded off the request path
    with ex.engine.connect() as conn:
        rows = conn.execute(select(p_exchange_received).order_by(p_exchange_received.c.idx))
        return [dict(r._mapping) for r in rows]


def test_a_call_answers_and_both_sides_log_the_same_digests(
    ex: ExchangeCities, wired: list[Handler]
) -> None:
    agreement = ex.sc.agreement(ZAOZHUANG, CHAIR)
    parts = ex.parts(ZAOZHUANG)
    purpose = "旅游同城化门票优惠核验"
    yes = client.call(parts, "gate-01", agreement, {"身份证号": ex.ids[0]}, purpose)
    _, strangers = residents_csv(ZAOZHUANG, 1, "stranger")
    no = client.call(parts, "gate-01", agreement, {"身份证号": strangers[0]}, purpose)
    assert (yes.status, yes.answer, yes.rows, yes.problem, yes.provider) == (
        200,
        "是",
        None,
        None,
        CHAIR,
    )
    assert no.answer == "否" and no.ok and yes.request_id != no.request_id
    records = received(ex)  # folds both sides' records
    with ex.engine.connect() as conn:
        served = {r.request_id: r for r in conn.execute(select(p_exchange_served))}
    for result, record in zip((yes, no), records, strict=True):
        assert record["id"] == f"exchange-received/{ZAOZHUANG}/{result.request_id}"
        assert (record["status"], record["verified"], record["rows"]) == (200, True, 0)
        mine = served[result.request_id]
        assert record["request_digest"] == mine.request_digest
        assert record["response_digest"] == mine.response_digest
        assert nonces.lookup(ex.engine, result.request_id, "received") == nonces.lookup(
            ex.engine, result.request_id, "served"
        )
        assert mine.user == nonces.pseudonym(ex.sc.directory, "gate-01")


def test_a_refusal_is_returned_with_the_providers_problem_and_logged(
    ex: ExchangeCities, wired: list[Handler]
) -> None:
    agreement = ex.sc.agreement(ZAOZHUANG, CHAIR)
    result = client.call(
        ex.parts(ZAOZHUANG), "gate-01", agreement, {"身份证号": ex.ids[0]}, "别的用途"
    )
    assert result.status == 403 and result.answer is None and result.problem is not None
    assert result.problem["type"] == "urn:lunan:problem:exchange-purpose"
    [record] = received(ex)
    assert (record["status"], record["verified"]) == (403, True)


def test_an_answer_that_does_not_verify_is_never_returned(
    ex: ExchangeCities, wired: list[Handler]
) -> None:
    agreement = ex.sc.agreement(ZAOZHUANG, CHAIR)

    def swap(response: httpx.Response) -> httpx.Response:
        doc = json.loads(response.content)
        doc["answer"] = "否" if doc["answer"] == "是" else "是"
        body = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()
        return httpx.Response(200, headers=response.headers, content=body)

    wired.append(swap)
    with pytest.raises(client.ExchangeUnavailable, match="not validly signed"):
        client.call(
            ex.parts(ZAOZHUANG),
            "gate-01",
            agreement,
            {"身份证号": ex.ids[0]},
            "旅游同城化门票优惠核验",
        )
    [record] = received(ex)
    assert (record["status"], record["verified"]) == (200, False)
    # Nothing of the provider's nonce is trusted either: the record's digests use our own.
    request_id = str(record["request_id"])
    ours = nonces.lookup(ex.engine, request_id, "received")
    assert ours is not None and ours != nonces.lookup(ex.engine, request_id, "served")


def test_a_provider_that_cannot_be_reached_raises_and_nothing_is_logged(
    ex: ExchangeCities, wired: list[Handler], monkeypatch: pytest.MonkeyPatch
) -> None:
    agreement = ex.sc.agreement(ZAOZHUANG, CHAIR)

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    monkeypatch.setattr(
        client, "_client", lambda: httpx.Client(transport=httpx.MockTransport(down))
    )
    with pytest.raises(client.ExchangeUnavailable) as raised:
        client.call(ex.parts(ZAOZHUANG), "gate-01", agreement, {"身份证号": ex.ids[0]}, "x")
    assert raised.value.provider == CHAIR and ex.ids[0] not in str(raised.value)
    assert received(ex) == []


def test_who_may_call(ex: ExchangeCities, wired: list[Handler]) -> None:
    agreement = ex.sc.agreement(ZAOZHUANG, CHAIR)
    with pytest.raises(NotFound):
        client.call(ex.parts(ZAOZHUANG), "g", "data-agreement/371300/99", {}, "x")
    with pytest.raises(Forbidden, match="granted to 370400"):
        client.call(ex.parts(JINING), "g", agreement, {"身份证号": ex.ids[0]}, "x")
    with pytest.raises(Forbidden, match=r"data\.manage"):
        actions.call(ex.parts(ZAOZHUANG), user_of(ZAOZHUANG, "viewer"), "v", agreement, {})
    # The purpose defaults to the agreement's.
    result = actions.call(
        ex.parts(ZAOZHUANG), user_of(ZAOZHUANG, "officer"), "o", agreement, {"身份证号": ex.ids[2]}
    )
    assert result.answer == "是"
