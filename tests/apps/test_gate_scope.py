"""A node's ticket gate is its own city's gate: an attraction of another member city is refused
(422 `attraction-not-in-this-city`, naming that city) before the ID number is looked at or any
city is asked, and nothing is logged; an unknown attraction stays `invalid-input`. The demo's
ticket checks are each at an attraction of the node's own city."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from argon2.profiles import CHEAPEST
from factories import (
    CITIES,
    SHARING_TODAY,
    ApiNode,
    SharingCities,
    api_node,
    make_node,
    residents_csv,
    sharing_cities,
    sharing_clock,
)

from lunan.apps.divisions import HEZE, JINING, LINYI, ZAOZHUANG
from lunan.apps.ids import make_resident_id
from lunan.apps.tourism import gate, registry
from lunan.auth import passwords
from lunan.events.errors import Invalid
from lunan.exchange import actions as exchange_actions
from lunan.exchange import client
from lunan.sample import tourism as sample_tourism
from lunan.sample.api import DemoApi
from lunan.services import NodeParts
from lunan.web.app import create_app

GUIMENG = "371300-A07"  # 蒙山龟蒙景区, 临沂: full 120, local 60 (示例数据 prices)
KONGMIAO = "370800-A01"  # 孔庙, 曲阜 (济宁)
ZAOZHUANG_ID = make_resident_id("370406", date(1980, 5, 17), 123)  # 枣庄市山亭区


@pytest.fixture(autouse=True)
def cheap_hasher(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(passwords, "HASHER", PasswordHasher.from_parameters(CHEAPEST))


class Exchange:
    """Stands in for lunan.exchange.client.call: every member answers 是; records the calls."""

    def __init__(self) -> None:
        self.calls: list[Mapping[str, str]] = []

    def __call__(
        self,
        parts: NodeParts,
        actor_id: str,
        agreement_id: str,
        params: Mapping[str, str],
        purpose: str,
        fields: Sequence[str] | None = None,
        timeout: float = client.DEFAULT_TIMEOUT,
    ) -> client.ExchangeResult:
        self.calls.append(dict(params))
        provider = agreement_id.split("/")[1]
        return client.ExchangeResult(200, None, "是", "0" * 32, provider, None)


@pytest.fixture
def exchange(monkeypatch: pytest.MonkeyPatch) -> Exchange:
    recorder = Exchange()
    monkeypatch.setattr(client, "call", recorder)
    return recorder


@pytest.fixture
def linyi(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """临沂's node among the four cities: its residents imported, an agreement with each of the
    others to check theirs."""
    sharing_clock(monkeypatch, SHARING_TODAY)
    with sharing_cities(tmp_path, database_url) as sc:
        sc.resident_check(LINYI)
        data, _ = residents_csv(LINYI)
        exchange_actions.import_data(sc.parts[LINYI], None, f"{LINYI}-01-0001", data)
        for other in (ZAOZHUANG, JINING, HEZE):
            sc.agreement(LINYI, other)
        yield sc


def test_another_citys_attraction_is_refused_before_anyone_is_asked(
    linyi: SharingCities, exchange: Exchange, caplog: pytest.LogCaptureFixture
) -> None:
    parts = linyi.parts[LINYI]
    sizes = linyi.sizes()
    with pytest.raises(gate.AttractionElsewhere) as refused:
        gate.check(parts, KONGMIAO, ZAOZHUANG_ID)
    e = refused.value
    assert (e.status, e.slug, e.field, e.city) == (
        422,
        "attraction-not-in-this-city",
        "attraction",
        JINING,
    )
    assert "孔庙" in e.message and "济宁市" in e.message and "临沂市" in e.message
    assert "济宁市的节点" in e.message and "济宁市's node" in e.message
    assert ZAOZHUANG_ID not in e.message and ZAOZHUANG_ID not in caplog.text
    assert exchange.calls == [] and linyi.sizes() == sizes  # nobody asked, nothing logged
    # Even a number that is not valid: the attraction is refused first, the number not read.
    with pytest.raises(gate.AttractionElsewhere):
        gate.check(parts, KONGMIAO, "not a number")
    # The same visitor at 临沂's own attraction is asked about, through the exchange.
    checked = gate.check(parts, GUIMENG, ZAOZHUANG_ID)
    assert (checked.local, checked.resident_city) == (True, ZAOZHUANG)
    assert exchange.calls == [{"身份证号": ZAOZHUANG_ID}]


def test_every_other_citys_attraction_is_refused_and_every_own_one_is_checked(
    linyi: SharingCities, exchange: Exchange
) -> None:
    parts = linyi.parts[LINYI]
    for a in registry.ATTRACTIONS:
        if a.city == LINYI:
            assert gate.check(parts, a.code, ZAOZHUANG_ID).price == a.local_price
        else:
            with pytest.raises(gate.AttractionElsewhere) as e:
                gate.check(parts, a.code, ZAOZHUANG_ID)
            assert e.value.city == a.city
    assert len(exchange.calls) == len(registry.attractions_in(LINYI))


def test_an_unknown_attraction_stays_invalid_input(
    linyi: SharingCities, exchange: Exchange
) -> None:
    with pytest.raises(Invalid) as e:
        gate.check(linyi.parts[LINYI], "999999-A01", ZAOZHUANG_ID)
    assert not isinstance(e.value, gate.AttractionElsewhere)
    assert (e.value.slug, e.value.field) == ("invalid-input", "attraction")
    assert exchange.calls == []


# --- the API ----------------------------------------------------------------------------------


@pytest.fixture
def api(tmp_path: Path, database_url: str) -> Iterator[ApiNode]:
    directory = make_node(tmp_path / "linyi", database_url)
    with api_node(directory, create_app(directory), {"gate": ("gate", LINYI)}) as node:
        yield node


def test_the_api_refuses_another_citys_attraction_with_a_problem_naming_its_city(
    api: ApiNode, exchange: Exchange
) -> None:
    size = api.size()
    body = {"attraction": KONGMIAO, "id_number": ZAOZHUANG_ID}
    r = api.client.post("/api/v1/apps/tourism/check", json=body, headers=api.auth("gate"))
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    doc = r.json()
    assert doc["type"] == "urn:lunan:problem:attraction-not-in-this-city"
    assert doc["title"] == "景点不在本市 Attraction not in this city"
    assert (doc["field"], doc["city"]) == ("attraction", JINING)
    assert "济宁市的节点" in doc["detail"]
    assert ZAOZHUANG_ID not in r.text
    assert exchange.calls == [] and api.size() == size
    unknown = {"attraction": "999999-A01", "id_number": ZAOZHUANG_ID}
    r = api.client.post("/api/v1/apps/tourism/check", json=unknown, headers=api.auth("gate"))
    assert (r.status_code, r.json()["type"]) == (422, "urn:lunan:problem:invalid-input")


# --- the demo -------------------------------------------------------------------------------


class RecordingDemo(DemoApi):
    """The demo's API as the tourism sample uses it: uploads answered 200, posts recorded."""

    def __init__(self) -> None:
        ok = httpx.MockTransport(lambda request: httpx.Response(200, json={}))
        clients = {c: httpx.Client(transport=ok, base_url="http://demo") for c in CITIES}
        super().__init__(clients, settle=lambda: None)
        self.posts: list[tuple[str, str, dict[str, Any] | None]] = []

    def post(self, city: str, path: str, body: dict[str, Any] | None = None) -> Any:
        self.posts.append((city, path, body))
        return {}


def test_the_demos_ticket_checks_are_at_each_nodes_own_attractions() -> None:
    demo = RecordingDemo()
    sample_tourism.seed(demo)
    checks = [(city, body) for city, path, body in demo.posts if path.endswith("/check")]
    assert sorted({city for city, _ in checks}) == sorted(CITIES)
    for city, body in checks:
        assert body is not None
        assert registry.attraction(body["attraction"]).city == city
    for c in demo.clients.values():
        c.close()
