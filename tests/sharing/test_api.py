"""The data-sharing API over HTTP: who may do what, problem documents naming the field, and
the flow from a catalog entry to an agreement both logs record."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from factories import CHAIR, SharingCities
from fastapi.testclient import TestClient

from lunan.sample import sharing as sample
from lunan.sharing import reactor

Client = Callable[..., TestClient]  # the client_for fixture (conftest.py)

API = "/api/v1/sharing"
ZAOZHUANG, JINING, HEZE = "370400", "370800", "371700"


COLLECTIONS = {"dataset": "catalog", "data-request": "requests", "data-agreement": "agreements"}


def path(object_id: str) -> str:
    """dataset/371300/1 → /api/v1/sharing/catalog/371300/1"""
    kind, rest = object_id.split("/", 1)
    return f"{API}/{COLLECTIONS[kind]}/{rest}"


def request_body(dataset: str, **changes: Any) -> dict[str, Any]:
    return {
        "dataset": dataset,
        "fields": ["身份证号"],
        "purpose": sample.TOURISM_PURPOSE,
        "scenario": sample.TOURISM_SCENARIO,
        "period": {"start": "2026-03-02", "end": "2029-03-01"},
        "legal_basis": "旅游同城化（示例数据）",
        "volume": 100,
        "quota": 1000,
        **changes,
    }


def problem(r: httpx.Response, status: int, slug: str, field: str | None = None) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["type"] == f"urn:lunan:problem:{slug}"
    assert body.get("field") == field


def test_from_entry_to_agreement(client_for: Client, sc: SharingCities) -> None:
    linyi, zaozhuang = client_for(CHAIR), client_for(ZAOZHUANG, "officer")
    r = linyi.post(f"{API}/catalog", json=sample.resident_check(CHAIR))
    assert r.status_code == 201, r.text
    dataset = r.json()["id"]
    entry = zaozhuang.get(path(dataset)).json()
    assert (entry["code"], entry["access_rights"], entry["provider_name"]) == (
        "371300-01-0001",
        "RESTRICTED",
        "临沂",
    )
    assert zaozhuang.get(f"{API}/catalog/by-code/371300-01-0001").json()["id"] == dataset

    r = zaozhuang.post(f"{API}/requests", json=request_body(dataset))
    assert r.status_code == 201, r.text
    request_id = r.json()["id"]
    incoming = linyi.get(f"{API}/requests/incoming").json()
    assert [(i["id"], i["due"], i["overdue"]) for i in incoming] == [
        (request_id, "2026-03-16", False)
    ]
    late = linyi.get(f"{API}/requests/incoming", params={"overdue": True, "on": "2026-03-17"})
    assert [i["id"] for i in late.json()] == [request_id]
    assert [o["id"] for o in zaozhuang.get(f"{API}/requests/outgoing").json()] == [request_id]
    assert linyi.get(f"{API}/requests/outgoing").json() == []

    r = linyi.post(f"{path(request_id)}/approve", json={"reason": "同意", "quota": 1001})
    problem(r, 422, "invalid-input", "quota")
    r = linyi.post(f"{path(request_id)}/approve", json={"reason": "同意", "quota": 500})
    assert r.status_code == 201, r.text
    agreement = r.json()["id"]
    problem(linyi.post(f"{path(request_id)}/refuse", json={"reason": "不"}), 409, "conflict")
    reactor.react(sc.parts[ZAOZHUANG])
    view = zaozhuang.get(path(agreement)).json()
    assert (view["status"], view["quota"], view["acknowledged"]) == ("active", 500, True)
    assert zaozhuang.get(path(agreement), params={"on": "2029-03-02"}).json()["status"] == "expired"
    listed = zaozhuang.get(f"{API}/agreements", params={"requester": ZAOZHUANG, "status": "active"})
    assert [a["id"] for a in listed.json()] == [agreement]

    assert linyi.post(f"{path(agreement)}/suspend", json={"reason": "升级"}).status_code == 200
    assert zaozhuang.get(path(agreement)).json()["status"] == "suspended"
    problem(linyi.post(f"{path(agreement)}/suspend", json={"reason": "再"}), 409, "conflict")
    assert linyi.post(f"{path(agreement)}/resume", json={"reason": "完成"}).status_code == 200
    assert linyi.post(f"{path(agreement)}/revoke", json={"reason": "终止"}).status_code == 200
    problem(
        linyi.post(f"{path(agreement)}/revoke", json={"reason": ""}), 422, "invalid-input", "reason"
    )


def test_refusals_are_problem_documents_and_store_nothing(
    client_for: Client, sc: SharingCities
) -> None:
    entry = sample.resident_check(CHAIR)
    linyi = client_for(CHAIR)
    before = sc.sizes()
    problem(client_for(CHAIR, "viewer").post(f"{API}/catalog", json=entry), 403, "forbidden")
    problem(client_for(CHAIR, "auditor").post(f"{API}/catalog", json=entry), 403, "forbidden")
    # A 枣庄 user on 临沂's node acts for 枣庄 only.
    problem(
        client_for(CHAIR, user_city=ZAOZHUANG).post(f"{API}/catalog", json=entry), 403, "forbidden"
    )
    problem(
        linyi.post(f"{API}/catalog", json={**entry, "legal_basis": ""}),
        422,
        "invalid-input",
        "legal_basis",
    )
    problem(
        linyi.post(f"{API}/catalog", json={**entry, "code": "370400-01-0001"}),
        422,
        "invalid-input",
        "code",
    )
    problem(
        linyi.post(f"{API}/catalog", json={**entry, "answer": "maybe"}),
        422,
        "invalid-input",
        "answer",
    )
    assert sc.sizes() == before

    dataset = linyi.post(f"{API}/catalog", json=entry).json()["id"]
    problem(linyi.post(f"{API}/catalog", json=entry), 409, "conflict", "code")
    zaozhuang = client_for(ZAOZHUANG)
    problem(zaozhuang.put(path(dataset), json=entry), 403, "forbidden")
    problem(zaozhuang.get(f"{API}/catalog/371300/9"), 404, "not-found")
    problem(zaozhuang.get(f"{API}/requests/370400/9"), 404, "not-found")
    problem(zaozhuang.get(f"{API}/agreements/371300/9"), 404, "not-found")
    problem(zaozhuang.get(f"{API}/catalog/by-code/371300-01-0009"), 404, "not-found")
    before = sc.sizes()
    r = zaozhuang.post(f"{API}/requests", json=request_body(dataset, fields=["姓名"]))
    problem(r, 422, "invalid-input", "fields[0]")
    r = zaozhuang.post(f"{API}/requests", json=request_body(dataset, legal_basis=""))
    problem(r, 422, "invalid-input", "legal_basis")
    r = zaozhuang.post(f"{API}/requests", json=request_body("dataset/371300/9"))
    problem(r, 404, "not-found", "dataset")
    r = zaozhuang.post(f"{API}/requests", json=request_body(dataset, quota=0))
    problem(r, 422, "invalid-input", "quota")
    problem(
        linyi.post(f"{API}/requests", json=request_body(dataset)), 422, "invalid-input", "dataset"
    )
    assert sc.sizes() == before

    request_id = zaozhuang.post(f"{API}/requests", json=request_body(dataset)).json()["id"]
    problem(
        zaozhuang.post(f"{path(request_id)}/approve", json={"reason": "自批"}), 403, "forbidden"
    )
    problem(
        client_for(JINING).post(f"{path(request_id)}/refuse", json={"reason": "不"}),
        403,
        "forbidden",
    )
    problem(linyi.post(f"{path(request_id)}/withdraw", json={}), 403, "forbidden")
    r = linyi.post(f"{path(request_id)}/refuse", json={"reason": "用途不明确"})
    assert r.status_code == 201 and r.json()["id"] == "data-refusal/371300/1"
    problem(zaozhuang.post(f"{path(request_id)}/withdraw", json={}), 409, "conflict")
    view = zaozhuang.get(path(request_id)).json()
    assert (view["status"], view["decision_reason"]) == ("refused", "用途不明确")


def test_reading_the_catalog(client_for: Client) -> None:
    for city in (CHAIR, HEZE):
        writer = client_for(city)
        for entry in [sample.resident_check(city), *sample.other_entries(city)]:
            assert writer.post(f"{API}/catalog", json=entry).status_code == 201
    reader = client_for(JINING, "viewer")
    assert len(reader.get(f"{API}/catalog").json()) == 8
    codes = [d["code"] for d in reader.get(f"{API}/catalog", params={"city": HEZE}).json()]
    assert codes == ["371700-01-0001", "371700-02-0001", "371700-03-0001", "371700-05-0001"]
    open_ = reader.get(f"{API}/catalog", params={"category": "无条件共享"}).json()
    assert {d["service"] for d in open_} == {"policy-documents", "scenic-areas"}
    found = reader.get(f"{API}/catalog", params={"q": "景区", "department": "文化和旅游局"}).json()
    assert len(found) == 2
    r = reader.get(f"{API}/catalog", params={"category": "其他"})
    problem(r, 400, "invalid-parameters")


def test_acknowledge_by_hand(client_for: Client, sc: SharingCities) -> None:
    agreement = sc.approve(sc.request(ZAOZHUANG, sc.resident_check(CHAIR)))
    problem(client_for(JINING).post(f"{path(agreement)}/acknowledge"), 403, "forbidden")
    r = client_for(ZAOZHUANG).post(f"{path(agreement)}/acknowledge")
    assert r.status_code == 201 and r.json() == {"id": "data-ack/370400/1"}
    problem(client_for(ZAOZHUANG).post(f"{path(agreement)}/acknowledge"), 409, "conflict")


@pytest.mark.parametrize(
    "route",
    [
        "/catalog",
        "/catalog.jsonld",
        "/catalog/{city}/{n}",
        "/requests/incoming",
        "/requests/{city}/{n}/approve",
        "/agreements/{city}/{n}/revoke",
    ],
)
def test_the_openapi_schema_is_typed(client_for: Client, route: str) -> None:
    schema = client_for(CHAIR, "viewer").get("/api/v1/openapi.json").json()
    assert f"{API}{route}" in schema["paths"]
    # Names another domain uses too (RequestView) get their module path as a prefix.
    names = {n.rsplit("__", 1)[-1] for n in schema["components"]["schemas"]}
    assert {
        "DatasetView",
        "RequestView",
        "SharingAgreementView",
        "DatasetFields",
        "ApprovalTerms",
    } <= names
