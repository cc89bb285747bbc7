"""The provider's checks, answer and records, without a network: `Provider.answer` is given
what the web layer gives it (the verified requester, the service, the exact body)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from typing import Any

import pytest
from factories import (
    CHAIR,
    ExchangeCities,
    resident_rows_fields,
    residents_csv,
    user_of,
)
from factories import exchange_body as body
from sqlalchemy import select

from lunan.exchange import actions, nonces
from lunan.exchange.protocol import MAX_ROWS, PROBLEM_JSON, parse_nonce
from lunan.exchange.server import Reply
from lunan.exchange.tables import p_exchange_denied, p_exchange_served
from lunan.net.signatures import verify_response
from lunan.sharing import actions as sharing_actions
from lunan.web.problems import TYPE_PREFIX

RESIDENT = "resident-check"
LINYI, ZAOZHUANG, JINING = CHAIR, "370400", "370800"
Clock = Callable[[dt.date], None]
Exchange = ExchangeCities


def answer(
    ex: Exchange,
    agreement: str,
    params: dict[str, str],
    requester: str = ZAOZHUANG,
    service: str = RESIDENT,
    **changes: Any,
) -> tuple[Reply, bytes]:
    sent = body(agreement, params, **changes)
    return ex.provider().answer(requester, service, sent), sent


def document(reply: Reply) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(reply.body)
    return doc


def verified(ex: Exchange, reply: Reply) -> bool:
    """The reply is signed by 临沂's log key over its status and body."""
    public = ex.sc.h.logs[LINYI].signer.private_key.public_key()
    keys = {"lunan/371300": public}
    now = int(dt.datetime.now().timestamp())
    return verify_response(reply.status, reply.headers, reply.body, keys.get, now) == "lunan/371300"


def folded(ex: Exchange) -> None:
    """Exchange records are folded off the request path: fold them before reading."""
    ex.sc.h.projector.catch_up()


def served(ex: Exchange) -> list[Any]:
    folded(ex)
    with ex.engine.connect() as conn:
        return list(conn.execute(select(p_exchange_served)))


def denied(ex: Exchange) -> list[Any]:
    folded(ex)
    with ex.engine.connect() as conn:
        return list(conn.execute(select(p_exchange_denied).order_by(p_exchange_denied.c.idx)))


def test_a_resident_is_answered_是_a_stranger_否_and_both_are_logged_as_digests(
    ex: Exchange,
) -> None:
    agreement = ex.sc.agreement(ZAOZHUANG, LINYI)
    _, strangers = residents_csv(ZAOZHUANG, 1, "not in 临沂's registry")
    replies = []
    for number in (ex.ids[0], ex.ids[1].lower(), strangers[0]):
        reply, sent = answer(ex, agreement, {"身份证号": number})
        assert reply.status == 200 and reply.headers["Content-Type"] == "application/json"
        assert verified(ex, reply)
        replies.append((reply, sent))
    assert [document(r)["answer"] for r, _ in replies] == ["是", "是", "否"]
    assert {len(r.body) for r, _ in replies} == {len(replies[0][0].body)}  # 是 and 否: same size
    records = {r.request_id: r for r in served(ex)}
    for reply, sent in replies:
        doc = document(reply)
        assert set(doc) == {"request_id", "agreement", "answer", "nonce"}
        record = records[doc["request_id"]]
        nonce = parse_nonce(doc["nonce"])
        assert nonce is not None and nonces.lookup(ex.engine, doc["request_id"], "served") == nonce
        assert record.request_digest == hashlib.sha256(nonce + sent).hexdigest()
        assert record.response_digest == hashlib.sha256(nonce + reply.body).hexdigest()
        assert (record.agreement, record.requester, record.service) == (
            agreement,
            ZAOZHUANG,
            RESIDENT,
        )
        assert (record.rows, record.bytes, record.user) == (0, len(reply.body), "ab" * 32)
        assert record.id == f"exchange-served/{LINYI}/{doc['request_id']}"


def _refused(ex: Exchange, reply: Reply, status: int, slug: str) -> dict[str, Any]:
    assert reply.status == status, reply.body.decode()
    assert reply.headers["Content-Type"] == PROBLEM_JSON and verified(ex, reply)
    doc = document(reply)
    assert doc["type"] == TYPE_PREFIX + slug and doc["status"] == status
    assert parse_nonce(doc["nonce"]) is not None
    return doc


def test_every_check_refuses_with_its_own_problem_type_and_logs_the_denial(
    ex: Exchange,
) -> None:
    agreement = ex.sc.agreement(ZAOZHUANG, LINYI)
    jining = ex.sc.agreement(ZAOZHUANG, JINING)  # 济宁's: not 临沂's to answer
    number = ex.ids[0]
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"agreement": "data-agreement/371300/99"}, 404, "exchange-no-agreement"),
        ({"agreement": jining}, 404, "exchange-no-agreement"),
        ({"requester": JINING}, 403, "exchange-not-party"),
        ({"service": "resident-info"}, 403, "exchange-wrong-service"),
        ({"purpose": "其他用途"}, 403, "exchange-purpose"),
        ({"fields": ["姓名"]}, 403, "exchange-field-not-agreed"),
        ({"params": {"户籍地区划代码": "371302"}}, 403, "exchange-row-filter"),
        ({"params": {}}, 403, "exchange-row-filter"),
        ({"params": {number: "x"}}, 403, "exchange-row-filter"),  # an ID where a name goes
        ({"fields": [number]}, 403, "exchange-field-not-agreed"),
        ({"params": {"身份证号": 1}}, 422, "exchange-invalid-request"),
        ({"request_id": "not-a-uuid"}, 422, "exchange-invalid-request"),
        ({"extra": "field"}, 422, "exchange-invalid-request"),
    ]
    before = ex.sizes()
    for change, status, slug in cases:
        requester = change.pop("requester", ZAOZHUANG)
        service = change.pop("service", RESIDENT)
        fields = {"agreement": agreement, "params": {"身份证号": number}, **change}
        sent = body(fields.pop("agreement"), fields.pop("params"), **fields)
        reply = ex.provider().answer(requester, service, sent)
        doc = _refused(ex, reply, status, slug)
        assert number not in reply.body.decode()  # never echoed
        record = denied(ex)[-1]
        assert (record.reason, record.status, record.requester) == (slug, status, requester)
        nonce = parse_nonce(doc["nonce"])
        assert nonce is not None
        assert record.request_digest == hashlib.sha256(nonce + sent).hexdigest()
    for garbage in (b"{", b"[]", b"x" * 70000):
        _refused(
            ex,
            ex.provider().answer(ZAOZHUANG, "../../etc", garbage),
            422,
            "exchange-invalid-request",
        )
    assert served(ex) == []
    assert ex.sizes()[LINYI] == before[LINYI] + len(cases) + 3  # one denial each, nothing else
    assert denied(ex)[-1].service == ""  # not a service name: not logged as one


@pytest.mark.parametrize("change", ["suspended", "revoked", "expired", "not-yet-valid"])
def test_an_agreement_not_active_today_is_refused(ex: Exchange, clock: Clock, change: str) -> None:
    period = {"start": "2026-03-02", "end": "2026-06-30"}
    if change == "not-yet-valid":
        period = {"start": "2026-04-01", "end": "2026-06-30"}
    agreement = ex.sc.agreement(ZAOZHUANG, LINYI, period=period)
    linyi = ex.parts(LINYI)
    if change == "suspended":
        sharing_actions.suspend_agreement(linyi, user_of(LINYI), agreement, "核查（示例数据）")
    elif change == "revoked":
        sharing_actions.revoke_agreement(linyi, user_of(LINYI), agreement, "终止（示例数据）")
    elif change == "expired":
        clock(dt.date(2026, 7, 1))
    reply, _ = answer(ex, agreement, {"身份证号": ex.ids[0]})
    _refused(ex, reply, 403, f"exchange-agreement-{change}")
    assert served(ex) == []
    if change == "suspended":
        sharing_actions.resume_agreement(linyi, user_of(LINYI), agreement, "恢复（示例数据）")
        assert answer(ex, agreement, {"身份证号": ex.ids[0]})[0].status == 200


def test_the_quota_counts_the_days_calls_and_a_failed_fetch_gives_its_slot_back(
    ex: Exchange, clock: Clock
) -> None:
    agreement = ex.sc.agreement(ZAOZHUANG, LINYI, quota=2)
    params = {"身份证号": ex.ids[0]}
    provider = ex.provider()
    # A data source that fails: the call is refused (502) and does not count.
    actions.configure_service(
        ex.parts(LINYI), None, f"{LINYI}-01-0001", "http", "http://127.0.0.1:9/nothing-listens-here"
    )
    reply = provider.answer(ZAOZHUANG, RESIDENT, body(agreement, params))
    _refused(ex, reply, 502, "exchange-upstream")
    actions.configure_service(ex.parts(LINYI), None, f"{LINYI}-01-0001", "table")
    for _ in range(2):
        assert provider.answer(ZAOZHUANG, RESIDENT, body(agreement, params)).status == 200
    _refused(
        ex,
        provider.answer(ZAOZHUANG, RESIDENT, body(agreement, params)),
        429,
        "exchange-over-quota",
    )
    # A fresh provider (a restarted node) counts from the log.
    _refused(
        ex,
        ex.provider().answer(ZAOZHUANG, RESIDENT, body(agreement, params)),
        429,
        "exchange-over-quota",
    )
    clock(dt.date(2026, 3, 3))
    assert provider.answer(ZAOZHUANG, RESIDENT, body(agreement, params)).status == 200
    assert len(served(ex)) == 3


def test_a_request_id_is_answered_once(ex: Exchange) -> None:
    agreement = ex.sc.agreement(ZAOZHUANG, LINYI)
    sent = body(agreement, {"身份证号": ex.ids[0]})
    provider = ex.provider()
    assert provider.answer(ZAOZHUANG, RESIDENT, sent).status == 200
    for _ in range(2):  # each refusal is logged under an id of its own
        _refused(ex, provider.answer(ZAOZHUANG, RESIDENT, sent), 409, "exchange-duplicate-request")
    request_id = json.loads(sent)["request_id"]
    assert [r.request_id for r in denied(ex)] == [request_id, request_id]
    assert len({r.id for r in denied(ex)}) == 2


def test_rows_are_cut_to_the_agreed_fields_and_rows(ex: Exchange) -> None:
    sc = ex.sc
    entry = sc.publish(LINYI, resident_rows_fields(LINYI))
    data, _ = residents_csv(LINYI, 300)
    actions.import_data(ex.parts(LINYI), None, f"{LINYI}-01-0002", data)
    rows = [line.split(",") for line in data.decode().splitlines()[1:]]
    region = rows[0][2]
    inside = [r for r in rows if r[2] == region]
    outside = next(r for r in rows if r[2] != region)
    request = sc.request(
        ZAOZHUANG,
        entry,
        fields=["身份证号", "户籍地区划代码"],
        row_filter={"户籍地区划代码": [region]},
    )
    agreement = sc.approve(request)

    def ask(params: dict[str, str], **changes: Any) -> Reply:
        return ex.provider().answer(ZAOZHUANG, "resident-info", body(agreement, params, **changes))

    one = document(ask({"身份证号": inside[0][0]}))
    assert one["rows"] == [{"身份证号": inside[0][0], "户籍地区划代码": region}]  # no 姓名
    assert document(ask({"身份证号": outside[0]}))["rows"] == []  # outside the filter
    by_region = document(ask({"户籍地区划代码": region}))["rows"]
    assert len(by_region) == min(len(inside), MAX_ROWS)
    assert {r["户籍地区划代码"] for r in by_region} == {region}
    only_id = document(ask({"身份证号": inside[1][0]}, fields=["身份证号"]))
    assert only_id["rows"] == [{"身份证号": inside[1][0]}]
    _refused(ex, ask({"户籍地区划代码": outside[2]}), 403, "exchange-row-filter")
    _refused(ex, ask({"身份证号": inside[0][0]}, fields=["姓名"]), 403, "exchange-field-not-agreed")
    _refused(ex, ask({"姓名": inside[0][1]}), 403, "exchange-row-filter")
    counts = sorted(r.rows for r in served(ex))
    assert counts == sorted([1, 0, len(by_region), 1])


def test_a_service_without_a_data_source_answers_502(ex: Exchange) -> None:
    sc = ex.sc
    entry = sc.publish(LINYI, resident_rows_fields(LINYI))  # published, nothing imported
    agreement = sc.approve(sc.request(ZAOZHUANG, entry, fields=["身份证号"]))
    reply = ex.provider().answer(
        ZAOZHUANG, "resident-info", body(agreement, {"身份证号": ex.ids[0]})
    )
    doc = _refused(ex, reply, 502, "exchange-upstream")
    assert "configured" in doc["detail"]
