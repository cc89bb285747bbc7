"""The gate against real members over HTTP: 临沂's ticket office asks 枣庄 and 济宁 through the
exchange (signed requests, signed answers, both sides logging), and keeps answering — full
price, unchecked, naming the city — when 济宁's node goes down."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from factories import residents_csv, sharing_request
from tourism.harness import Live, live_alliance, wait_for

from lunan.apps.divisions import JINING, LINYI, ZAOZHUANG
from lunan.apps.ids import make_resident_id
from lunan.node import DEFAULT_DATABASE
from lunan.sample import sharing as sample_sharing
from lunan.sharing.queries import today_shanghai

GUIMENG = "371300-A07"  # 蒙山龟蒙景区, 临沂: full 120, local 60 (示例数据 prices)
OUTSIDER_ID = make_resident_id("110101", dt.date(1990, 1, 2), 456)  # 北京: not a member
SEED = "live"


def ok(r: httpx.Response) -> Any:
    assert r.status_code < 400, f"{r.request.method} {r.request.url}: {r.status_code} {r.text}"
    return r.json()


def found(client: httpx.Client, path: str, **expect: object) -> bool:
    r = client.get(path)
    return r.status_code == 200 and all(r.json().get(k) == v for k, v in expect.items())


def agree(nodes: dict[str, Live], provider: str) -> str:
    """临沂 requests `provider`'s resident check, `provider` approves; the agreement's id once
    临沂 holds it as active."""
    linyi, other = nodes[LINYI].client, nodes[provider].client
    code = sample_sharing.resident_check(provider)["code"]
    by_code = f"/api/v1/sharing/catalog/by-code/{code}"
    wait_for(f"{provider}'s entry on 临沂", lambda: found(linyi, by_code))
    today = today_shanghai()
    period = {"start": str(today), "end": str(today + dt.timedelta(days=365))}
    request = sharing_request(ok(linyi.get(by_code))["id"], period=period).model_dump(mode="json")
    _, city, n = ok(linyi.post("/api/v1/sharing/requests", json=request))["id"].split("/")
    wait_for(
        f"the request on {provider}", lambda: found(other, f"/api/v1/sharing/requests/{city}/{n}")
    )
    approved = other.post(
        f"/api/v1/sharing/requests/{city}/{n}/approve", json={"reason": "同意（示例数据）"}
    )
    agreement: str = ok(approved)["id"]
    path = f"/api/v1/sharing/agreements/{agreement.split('/', 1)[1]}"
    wait_for("the agreement on 临沂", lambda: found(linyi, path, status="active"))
    return agreement


@pytest.fixture
def nodes(tmp_path: Path, database_url: str) -> Iterator[dict[str, Live]]:
    """临沂 (on the database under test), 枣庄 and 济宁, each with its residents imported; 临沂
    holds agreements to check 枣庄's and 济宁's."""
    databases = {LINYI: database_url, ZAOZHUANG: DEFAULT_DATABASE, JINING: DEFAULT_DATABASE}
    with live_alliance(tmp_path, databases) as running:
        for city, live in running.items():
            entry = sample_sharing.resident_check(city)
            ok(live.client.post("/api/v1/sharing/catalog", json=entry))
            data, _ = residents_csv(city, seed=SEED)
            files = {"file": ("residents.csv", data, "text/csv")}
            ok(
                live.client.post(
                    "/api/v1/data/import", params={"entry": entry["code"]}, files=files
                )
            )
        agree(running, ZAOZHUANG)
        agree(running, JINING)
        yield running


def check(nodes: dict[str, Live], number: str, city: str | None = None) -> dict[str, Any]:
    body = {"attraction": GUIMENG, "id_number": number, **({"city": city} if city else {})}
    r = nodes[LINYI].client.post("/api/v1/apps/tourism/check", json=body)
    assert r.status_code == 200, r.text
    doc: dict[str, Any] = r.json()
    return doc


def asked(doc: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(a["city"], a["answer"]) for a in doc["asked"]]


def received(nodes: dict[str, Live]) -> int:
    audit = ok(nodes[LINYI].client.get("/api/v1/exchange/audit", params={"city": LINYI}))
    count: int = audit["total"]["received"]
    return count


def entries(live: Live) -> list[bytes]:
    log = live.app.state.log
    return list(log.store.entries(0, log.size()))


def test_residents_of_other_members_are_checked_through_the_exchange(
    nodes: dict[str, Live],
) -> None:
    _, zaozhuang = residents_csv(ZAOZHUANG, seed=SEED)
    _, linyi = residents_csv(LINYI, seed=SEED)
    before = received(nodes)

    member = check(nodes, zaozhuang[0])
    assert (member["price"], member["local"], member["checked"]) == (60, True, True)
    assert member["resident_city"] == ZAOZHUANG and member["reason"].startswith("枣庄市居民")
    assert asked(member) == [(ZAOZHUANG, "是")]

    own = check(nodes, linyi[0])
    assert (own["price"], own["resident_city"], asked(own)) == (60, LINYI, [(LINYI, "是")])

    outsider = check(nodes, OUTSIDER_ID)
    assert (outsider["price"], outsider["local"], outsider["checked"]) == (120, False, True)
    assert asked(outsider) == [(LINYI, "否"), (ZAOZHUANG, "否"), (JINING, "否")]

    named = check(nodes, zaozhuang[1], city=JINING)  # the visitor names the wrong city
    assert (named["price"], named["checked"], asked(named)) == (120, True, [(JINING, "否")])
    assert "非济宁市居民" in named["reason"]

    # Each exchange is in 临沂's log (the own-city lookup is not); no number is in any log.
    assert received(nodes) - before == 4
    used = [zaozhuang[0], zaozhuang[1], linyi[0], OUTSIDER_ID]
    for live in nodes.values():
        for entry in entries(live):
            assert not any(n.encode() in entry for n in used), live.city


def test_a_member_down_means_full_price_unchecked_naming_it(nodes: dict[str, Live]) -> None:
    _, jining = residents_csv(JINING, seed=SEED)
    _, zaozhuang = residents_csv(ZAOZHUANG, seed=SEED)
    assert check(nodes, jining[0])["local"]  # while 济宁 is up
    nodes[JINING].stop()

    down = check(nodes, jining[1])
    assert (down["price"], down["local"], down["checked"]) == (120, False, False)
    assert down["resident_city"] is None
    assert "未能向济宁市核验" in down["reason"] and "不作推测" in down["reason"]
    assert asked(down) == [(JINING, None), (LINYI, "否"), (ZAOZHUANG, "否")]
    assert "济宁市" in down["asked"][0]["problem"]

    outsider = check(nodes, OUTSIDER_ID)
    assert (outsider["price"], outsider["checked"]) == (120, False)
    assert "济宁市" in outsider["reason"]

    # The others still answer: a 枣庄 resident is asked of 枣庄 first and pays the local price.
    still = check(nodes, zaozhuang[0])
    assert (still["price"], still["checked"], asked(still)) == (60, True, [(ZAOZHUANG, "是")])
