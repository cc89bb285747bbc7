"""/api/v1/indicators on 临沂's node: reads, writes by the right users only, 422 naming the
field or listing the bad cells, and spreadsheets through HTTP."""

from __future__ import annotations

from typing import Any

import pytest
from indicators.harness import Node

GDP = {"gdp": {"value": "5465.7", "growth": "3.9", "source": "示例数据"}}
BASE = "/api/v1/indicators"


def publish(api: Node, who: str = "coord", **body: Any) -> Any:
    return api.client.post(BASE, json={"year": 2020, "figures": GDP, **body}, headers=api.auth(who))


def test_a_coordinator_publishes_and_anyone_signed_in_reads(api: Node) -> None:
    r = publish(api)
    assert r.status_code == 201, r.text
    assert r.json()["id"] == "indicators/371300/2020" and r.json()["status"] == "published"
    got = api.client.get(f"{BASE}/371300/2020", headers=api.auth("viewer")).json()
    assert (got["city"], got["city_name"], got["year"]) == ("371300", "临沂", 2020)
    assert got["figures"] == [
        {
            "indicator": "gdp",
            "name": "区域生产总值",
            "unit": "亿元",
            "value": "5465.7",
            "growth": "3.9",
            "rank": "",
            "note": "",
            "source": "示例数据",
        }
    ]
    listed = api.client.get(BASE, params={"year": 2020}, headers=api.auth("auditor")).json()
    assert [s["id"] for s in listed] == ["indicators/371300/2020"]
    assert api.client.get(BASE, params={"year": 2021}, headers=api.auth("viewer")).json() == []


def test_reading_needs_a_signed_in_user(api: Node) -> None:
    r = api.client.get(BASE)
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("who", "body"),
    [
        ("coord", {"city": "370400"}),  # another city's figures
        ("stranger", {}),  # a user of 枣庄 on 临沂's node
        ("viewer", {}),
        ("auditor", {}),
    ],
)
def test_a_wrong_city_or_role_gets_403_and_nothing_is_stored(
    api: Node, who: str, body: dict[str, Any]
) -> None:
    size = api.size()
    r = publish(api, who, **body)
    assert r.status_code == 403, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert api.size() == size
    assert api.client.get(BASE, headers=api.auth("coord")).json() == []


@pytest.mark.parametrize(
    ("figures", "field"),
    [
        ({"gdp": {"value": "5,465.7"}}, "figures.gdp.value"),
        ({"gdp": {"growth": "abc"}}, "figures.gdp.growth"),
        ({"gdp": {"growth": 3.9}}, "figures.gdp.growth"),  # a float: send text
        ({"gdp": {"value": "-1"}}, "figures.gdp.value"),
        ({"gpd": {"value": "1"}}, "figures.gpd"),  # an unknown indicator
    ],
)
def test_invalid_input_is_422_naming_the_field(
    api: Node, figures: dict[str, Any], field: str
) -> None:
    size = api.size()
    r = api.client.post(BASE, json={"year": 2020, "figures": figures}, headers=api.auth("coord"))
    assert r.status_code == 422, r.text
    assert r.json()["field"] == field
    assert api.size() == size


def test_integers_may_come_as_json_numbers(api: Node) -> None:
    body = {"year": 2020, "figures": {"rural_income": {"value": 15622, "growth": 6}}}
    r = api.client.post(BASE, json=body, headers=api.auth("officer"))
    assert r.status_code == 201, r.text
    assert r.json()["set"]["figures"][0]["value"] == "15622"


def test_publish_twice_is_409_and_revise_replaces(api: Node) -> None:
    assert publish(api).status_code == 201
    assert publish(api).status_code == 409
    revised = {"figures": {"trade": {"growth": "25.1"}}, "note": "示例数据"}
    r = api.client.post(f"{BASE}/371300/2020/revise", json=revised, headers=api.auth("coord"))
    assert r.status_code == 200 and r.json()["status"] == "revised"
    assert [f["indicator"] for f in r.json()["set"]["figures"]] == ["trade"]
    again = api.client.post(f"{BASE}/371300/2020/revise", json=revised, headers=api.auth("coord"))
    assert again.json()["status"] == "unchanged"
    other = api.client.post(f"{BASE}/370400/2020/revise", json=revised, headers=api.auth("coord"))
    assert other.status_code == 403
    missing = api.client.post(f"{BASE}/371300/2019/revise", json=revised, headers=api.auth("coord"))
    assert missing.status_code == 404


def test_the_chair_puts_the_alliances_figures_and_totals_show_them(api: Node) -> None:
    body = {"figures": {"gdp": {"value": "14515.9", "growth": "3.6", "rank": "第二位"}}}
    r = api.client.put(f"{BASE}/alliance/2020", json=body, headers=api.auth("coord"))
    assert r.status_code == 200, r.text
    assert r.json()["id"] == "alliance-figures/371300/2020"
    assert r.json()["set"]["city"] is None
    viewer = api.client.put(f"{BASE}/alliance/2020", json=body, headers=api.auth("viewer"))
    assert viewer.status_code == 403
    publish(api)
    [year] = api.client.get(
        f"{BASE}/totals", params={"year": 2020}, headers=api.auth("viewer")
    ).json()
    gdp = year["indicators"][0]
    # This node alone knows only its own city: it is the whole membership here.
    assert (gdp["sum"], gdp["growth"], gdp["published"]["value"]) == ("5465.7", "3.9", "14515.9")
    listed = api.client.get(f"{BASE}/alliance", headers=api.auth("viewer")).json()
    assert [s["id"] for s in listed] == ["alliance-figures/371300/2020"]


def test_definitions_list_the_indicator_set(api: Node) -> None:
    found = api.client.get(f"{BASE}/definitions", headers=api.auth("viewer")).json()
    assert [(d["key"], d["unit"], d["additive"]) for d in found] == [
        ("gdp", "亿元", True),
        ("budget_revenue", "亿元", True),
        ("trade", "亿元", True),
        ("urban_income", "元", False),
        ("rural_income", "元", False),
    ]


def upload(api: Node, data: bytes, who: str = "coord", **form: str) -> Any:
    files = {"file": ("figures.csv", data, "text/csv")}
    return api.client.post(f"{BASE}/import", files=files, data=form, headers=api.auth(who))


def test_an_import_with_bad_cells_is_422_listing_them_and_stores_nothing(api: Node) -> None:
    data = (
        "年份,城市代码,指标,数值,增速(%)\r\n"
        "2020,371300,区域生产总值,1,2\r\n"
        "2020,370400,区域生产总值,x,2\r\n"
    ).encode()
    size = api.size()
    r = upload(api, data)
    assert r.status_code == 422
    assert r.json()["field"] == "file"
    assert [(e["row"], e["column"]) for e in r.json()["errors"]] == [(3, "城市代码"), (3, "数值")]
    assert api.size() == size


def test_an_import_by_a_viewer_is_403(api: Node) -> None:
    r = upload(api, "年份,城市代码,指标,数值\r\n2020,371300,GDP,1\r\n".encode(), who="viewer")
    assert r.status_code == 403


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_and_import_round_trip_over_http(api: Node, fmt: str) -> None:
    publish(api, note="（示例数据）", source="示例数据")
    r = api.client.get(f"{BASE}/export", params={"format": fmt}, headers=api.auth("viewer"))
    assert r.status_code == 200
    assert r.headers["content-disposition"] == f'attachment; filename="indicators-371300.{fmt}"'
    size = api.size()
    result = upload(api, r.content, year="2020")
    assert result.status_code == 200, result.text
    assert result.json() == {
        "rows": 2,
        "published": [],
        "revised": [],
        "unchanged": ["indicators/371300/2020"],
    }
    assert api.size() == size


def test_the_openapi_schema_describes_the_endpoints(api: Node) -> None:
    paths = api.client.get("/api/v1/openapi.json").json()["paths"]
    for path in (BASE, f"{BASE}/totals", f"{BASE}/import", f"{BASE}/alliance/{{year}}"):
        assert path in paths
