"""The demo's sharing sample: written through each city's API; every city checks every other
city's residents under an agreement both logs record; requests in every state; invented
things labelled 示例数据."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from factories import CITIES, SharingCities
from fastapi.testclient import TestClient
from sqlalchemy import select

from lunan.clock import SHANGHAI
from lunan.events.tables import p_events
from lunan.sample import sharing as sample
from lunan.sample.api import DemoApi
from lunan.sharing import queries, reactor

Client = Callable[..., TestClient]
Clock = Callable[[dt.date], None]


def test_the_sample_keeps_the_facts_and_labels_the_rest(
    sc: SharingCities, client_for: Client, clock: Clock
) -> None:
    today = dt.datetime.now(SHANGHAI).date()
    clock(today)  # the sample's dates are today's

    def settle() -> None:
        """What `lunan serve` does after each fold: the reactor, until nothing is left."""
        sc.h.projector.catch_up()
        while sum(reactor.react(parts) for parts in sc.parts.values()):
            pass

    sample.seed(DemoApi({c: client_for(c) for c in CITIES}, settle))
    settle()
    engine = sc.h.engine
    with engine.connect() as conn:
        q = select(p_events.c.type, p_events.c.reason).where(p_events.c.status == "rejected")
        assert conn.execute(q).all() == []

    for city in CITIES:
        entries = queries.datasets(engine, city=city)
        assert 3 <= len(entries) <= 5
        check = queries.dataset_by_service(engine, city, "resident-check")
        assert check is not None
        assert (check.name, check.category, check.answer, check.keys) == (
            "户籍/居住证 核验",
            "有条件共享",
            "exists",
            ["身份证号"],
        )
        assert [(f.name, f.type, f.category) for f in check.fields] == [
            ("身份证号", "resident_id", "有条件共享"),
            ("姓名", "text", "不予共享"),
            ("户籍地区划代码", "division_code", "有条件共享"),
        ]
        assert "示例数据" in check.description
        others = [e for e in entries if e.service != "resident-check"]
        assert all(e.sample and "示例数据" in e.description for e in others)
        for provider in CITIES:
            if provider == city:
                continue
            agreement = queries.active_agreement(engine, city, provider, "resident-check")
            assert agreement is not None, (city, provider)
            assert agreement.acknowledged and agreement.fields == ["身份证号"]
            assert (agreement.purpose, agreement.scenario, agreement.quota) == (
                "旅游同城化门票优惠核验",
                "景区闸机核验本地居民身份",
                100000,
            )
            assert agreement.period_start == today
            assert agreement.period_end.year == today.year + 3

    requests = queries.requests(engine)
    invented = [r for r in requests if r.purpose != sample.TOURISM_PURPOSE]
    assert all("示例数据" in r.note for r in invented)
    assert {r.status for r in invented} == {"approved", "pending", "refused"}
    assert any(r.overdue for r in invented)
    assert any(r.status == "pending" and not r.overdue for r in invented)
    auto = [r for r in invented if r.decision_reason == reactor.AUTO_APPROVAL]
    assert len(auto) == 2 and all(r.category == "无条件共享" for r in auto)
    assert [a.status for a in queries.agreements(engine, status="suspended")] == ["suspended"]
