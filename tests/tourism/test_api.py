"""/api/v1/apps/tourism on 临沂's node alone: the registry for any signed-in user; the gate's
check for a data manager of 临沂 only, with 422s that never repeat the ID number."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from factories import residents_csv
from tourism.harness import Node

from lunan.apps.ids import make_resident_id
from lunan.apps.tourism import registry
from lunan.sample import sharing as sample_sharing

BASE = "/api/v1/apps/tourism"
GUIMENG = "371300-A07"  # 蒙山龟蒙景区: full 120, local 60 (示例数据 prices)
OUTSIDER_ID = make_resident_id("110101", date(1990, 1, 2), 456)


@pytest.fixture
def gate_node(api: Node) -> list[str]:
    """临沂 publishes its resident check and imports its residents; their ID numbers."""
    entry = sample_sharing.resident_check("371300")
    r = api.client.post("/api/v1/sharing/catalog", json=entry, headers=api.auth("coord"))
    assert r.status_code == 201, r.text
    data, numbers = residents_csv("371300")
    r = api.client.post(
        "/api/v1/data/import",
        params={"entry": entry["code"]},
        files={"file": ("residents.csv", data, "text/csv")},
        headers=api.auth("officer"),
    )
    assert r.status_code == 200, r.text
    return numbers


def check(api: Node, who: str = "officer", **body: Any) -> Any:
    return api.client.post(f"{BASE}/check", json=body, headers=api.auth(who))


# --- the registry -----------------------------------------------------------------------------


def test_anyone_signed_in_reads_the_registry(api: Node) -> None:
    viewer = api.auth("viewer")
    attractions = api.client.get(f"{BASE}/attractions", headers=viewer).json()
    assert len(attractions) == registry.ATTRACTION_COUNT == 67
    kongmiao = next(a for a in attractions if a["code"] == "370800-A01")
    assert kongmiao | {"note": ""} == {
        "code": "370800-A01",
        "name": "孔庙",
        "area": "370800-S01",
        "area_name": "三孔",
        "city": "370800",
        "city_name": "济宁市",
        "county": "370881",
        "county_name": "曲阜市",
        "full_price": 90,
        "local_price": 45,
        "is_red": False,
        "sample": False,
        "prices_sample": True,
        "note": "",
    }
    areas = api.client.get(f"{BASE}/areas", headers=viewer).json()
    assert len(areas) == registry.KEY_AREA_COUNT == 17
    assert sum(len(a["attractions"]) for a in areas) == 67
    routes = api.client.get(f"{BASE}/routes", headers=viewer).json()
    assert len(routes) == registry.RED_ROUTE_COUNT == 6
    assert all(r["sample"] and "示例数据" in r["note"] for r in routes)
    assert all(len(r["stops"]) >= 2 for r in routes)


def test_the_registry_filters_and_finds_one(api: Node) -> None:
    viewer = api.auth("viewer")
    jining = api.client.get(f"{BASE}/attractions", params={"city": "370800"}, headers=viewer)
    assert {a["city"] for a in jining.json()} == {"370800"}
    red = api.client.get(f"{BASE}/attractions", params={"red": True}, headers=viewer).json()
    assert red and all(a["is_red"] for a in red)
    in_area = api.client.get(f"{BASE}/attractions", params={"area": "370800-S01"}, headers=viewer)
    assert [a["name"] for a in in_area.json()][:3] == ["孔庙", "孔府", "孔林"]
    areas = api.client.get(f"{BASE}/areas", params={"city": "370400"}, headers=viewer).json()
    assert "台儿庄古城" in [a["name"] for a in areas]
    one = api.client.get(f"{BASE}/attractions/{GUIMENG}", headers=viewer).json()
    assert (one["name"], one["full_price"], one["local_price"]) == ("蒙山龟蒙景区", 120, 60)
    missing = api.client.get(f"{BASE}/attractions/999999-A01", headers=viewer)
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"


def test_reading_needs_a_signed_in_user(api: Node) -> None:
    r = api.client.get(f"{BASE}/attractions")
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"


# --- the gate ---------------------------------------------------------------------------------


def test_an_own_resident_pays_the_local_price_and_nothing_is_logged(
    api: Node, gate_node: list[str]
) -> None:
    size = api.size()
    r = check(api, attraction=GUIMENG, id_number=gate_node[0])
    assert r.status_code == 200, r.text
    assert r.json() == {
        "attraction": GUIMENG,
        "attraction_name": "蒙山龟蒙景区",
        "price": 60,
        "local": True,
        "checked": True,
        "reason": r.json()["reason"],
        "resident_city": "371300",
        "resident_city_name": "临沂市",
        "asked": [{"city": "371300", "city_name": "临沂市", "answer": "是", "problem": None}],
    }
    assert r.json()["reason"].startswith("临沂市居民")
    assert api.size() == size  # a lookup in place: no event


def test_a_non_resident_pays_the_full_price(api: Node, gate_node: list[str]) -> None:
    r = check(api, attraction=GUIMENG, id_number=OUTSIDER_ID)
    assert r.status_code == 200, r.text
    doc = r.json()
    assert (doc["price"], doc["local"], doc["checked"]) == (120, False, True)
    assert "非鲁南经济圈居民" in doc["reason"] and OUTSIDER_ID not in r.text


@pytest.mark.parametrize(
    "number",
    [
        OUTSIDER_ID[:-1] + ("1" if OUTSIDER_ID[-1] != "1" else "2"),  # wrong check character
        OUTSIDER_ID[:-1],  # 17 characters
        OUTSIDER_ID[:10] + "13" + OUTSIDER_ID[12:],  # no 13th month
        "A" + OUTSIDER_ID[1:],
    ],
)
def test_an_invalid_id_is_422_and_never_echoed(
    api: Node, gate_node: list[str], number: str
) -> None:
    size = api.size()
    r = check(api, attraction=GUIMENG, id_number=number)
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    doc = r.json()
    assert doc["type"] == "urn:lunan:problem:invalid-input" and doc["field"] == "id_number"
    assert doc["detail"].startswith("身份证号无效")
    assert number not in r.text and number[:6] not in r.text and number[6:14] not in r.text
    assert api.size() == size


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"attraction": "999999-A01"}, "attraction"),
        ({"city": "370100"}, "city"),  # 济南: not a member
        ({"city": "3713"}, "city"),  # not a code at all (a schema error)
        ({"id_number": "1" * 65}, "id_number"),  # absurdly long
        ({"extra": "x"}, "extra"),
    ],
)
def test_other_bad_input_is_422_naming_the_field(
    api: Node, gate_node: list[str], body: dict[str, str], field: str
) -> None:
    r = check(api, **{"attraction": GUIMENG, "id_number": OUTSIDER_ID, **body})
    assert r.status_code == 422, r.text
    assert r.json()["field"] == field
    assert OUTSIDER_ID not in r.text


@pytest.mark.parametrize(("who", "status"), [("viewer", 403), ("stranger", 403), (None, 401)])
def test_only_a_data_manager_of_this_city_checks(
    api: Node, gate_node: list[str], who: str | None, status: int
) -> None:
    headers = api.auth(who) if who else {}
    body = {"attraction": GUIMENG, "id_number": gate_node[0]}
    r = api.client.post(f"{BASE}/check", json=body, headers=headers)
    assert r.status_code == status
    assert r.headers["content-type"] == "application/problem+json"
    assert gate_node[0] not in r.text
