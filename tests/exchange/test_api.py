"""The exchange's JSON API: import a city's data, its services, the audit and one exchange's
records; who may use which."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from factories import CHAIR, Client, ExchangeCities, api_clients, exchange_body, residents_csv
from fastapi.testclient import TestClient

from lunan.exchange import adapters

ZAOZHUANG = "370400"
ENTRY = f"{CHAIR}-01-0001"


@pytest.fixture
def client_for(ex: ExchangeCities, cheap_hasher: None) -> Iterator[Client]:
    """`client_for(city, role)`: a TestClient of `city`'s node with a token of such a user."""
    with api_clients(ex.sc) as make:
        yield make


def upload(c: TestClient, data: bytes, entry: str = ENTRY) -> httpx.Response:
    return c.post(
        "/api/v1/data/import", params={"entry": entry}, files={"file": ("r.csv", data, "text/csv")}
    )


def test_import_over_http(ex: ExchangeCities, client_for: Client) -> None:
    officer = client_for(CHAIR, "officer")
    data, ids = residents_csv(CHAIR, 7, "api")
    r = upload(officer, data)
    assert r.status_code == 200, r.text
    assert r.json() == {
        "entry": ENTRY,
        "service": "resident-check",
        "rows": 7,
        "adapter": "table",
        "configured": False,
    }
    bad = data.replace(ids[3].encode(), (ids[3][:17] + "Y").encode())
    r = upload(officer, bad)
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    doc = r.json()
    assert doc["field"] == "file" and doc["errors"][0]["row"] == 5
    assert doc["errors"][0]["column"] == "身份证号"
    assert ids[3][:17] not in r.text
    assert adapters.count_rows(ex.engine, ENTRY) == 7
    [service] = officer.get("/api/v1/data/services").json()
    assert service["service"] == "resident-check" and service["source"] == "table: imported rows"


def test_who_may_import(ex: ExchangeCities, client_for: Client) -> None:
    data, _ = residents_csv(CHAIR, 2)
    files = {"file": ("r.csv", data, "text/csv")}
    url = "/api/v1/data/import"
    assert (
        client_for(CHAIR, "viewer").post(url, params={"entry": ENTRY}, files=files).status_code
        == 403
    )
    stranger = client_for(CHAIR, "coordinator", ZAOZHUANG)  # a 枣庄 user on 临沂's node
    assert stranger.post(url, params={"entry": ENTRY}, files=files).status_code == 403
    ex.sc.resident_check(ZAOZHUANG)
    other = client_for(CHAIR).post(url, params={"entry": f"{ZAOZHUANG}-01-0001"}, files=files)
    assert other.status_code == 403 and "provider" in other.json()["detail"]
    r = client_for(CHAIR).post(url, params={"entry": "not-a-code"}, files=files)
    assert r.status_code == 400
    assert adapters.count_rows(ex.engine, ENTRY) == 20
    assert client_for(CHAIR, "viewer").get("/api/v1/data/services").status_code == 403


def test_audit_and_records(ex: ExchangeCities, client_for: Client) -> None:
    agreement = ex.sc.agreement(ZAOZHUANG, CHAIR)
    provider = ex.provider()
    sent = [exchange_body(agreement, {"身份证号": i}) for i in ex.ids[:3]]
    for b in sent:
        assert provider.answer(ZAOZHUANG, "resident-check", b).status == 200
    refused = exchange_body(agreement, {"身份证号": ex.ids[0]}, purpose="别的")
    assert provider.answer(ZAOZHUANG, "resident-check", refused).status == 403
    reader = client_for(ZAOZHUANG, "viewer")
    everything = reader.get("/api/v1/exchange/audit").json()
    assert {k: everything["total"][k] for k in ("served", "denied", "received", "rows")} == {
        "served": 3,
        "denied": 1,
        "received": 0,
        "rows": 0,
    }
    assert everything["total"]["bytes"] > 0
    [day] = everything["by_day"]
    assert day["day"] == "2026-03-02" and day["served"] == 3
    [one] = everything["by_agreement"]
    assert (one["agreement"], one["provider"], one["requester"]) == (agreement, CHAIR, ZAOZHUANG)
    cities = {c["city"]: c for c in everything["by_city"]}
    assert cities[CHAIR]["as_provider"]["served"] == 3 and cities[CHAIR]["name"] == "临沂"
    assert cities[ZAOZHUANG]["as_requester"]["denied"] == 1
    assert (
        reader.get("/api/v1/exchange/audit", params={"city": "370800"}).json()["total"]["served"]
        == 0
    )
    by_agreement = reader.get("/api/v1/exchange/audit", params={"agreement": agreement}).json()
    assert by_agreement["total"]["served"] == 3
    request_id = json.loads(sent[0])["request_id"]
    records = reader.get(f"/api/v1/exchange/records/{request_id}").json()["records"]
    [served] = records
    assert (
        served["kind"] == "served"
        and served["event"] == f"/api/v1/events/{CHAIR}/{served['index']}"
    )
    assert reader.get(f"/api/v1/exchange/records/{'0' * 32}").status_code == 404
    assert reader.get("/api/v1/exchange/records/nope").status_code == 400
    assert reader.get("/api/v1/exchange/audit", params={"city": "x"}).status_code == 400
