"""The gate on a node (lunan.apps.tourism.gate.check): its own city looked up in place, other
members asked through the exchange on this node's agreements — with the exchange call replaced,
to see exactly what the gate sends and how it reads every kind of answer."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import pytest
from factories import SharingCities, residents_csv, user_of

from lunan.apps.divisions import HEZE, JINING, LINYI, ZAOZHUANG
from lunan.apps.ids import make_resident_id
from lunan.apps.tourism import gate
from lunan.apps.tourism.registry import quote
from lunan.exchange import actions as exchange_actions
from lunan.exchange import client
from lunan.sample.sharing import TOURISM_PURPOSE
from lunan.services import NodeParts
from lunan.sharing import actions as sharing_actions
from lunan.sharing import queries

GUIMENG = "371300-A07"  # 蒙山龟蒙景区, 临沂: full 120, local 60 (示例数据 prices)
SHANTING = "370406"  # 枣庄市山亭区
ZAOZHUANG_ID = make_resident_id(SHANTING, date(1980, 5, 17), 123)
HEZE_ID = make_resident_id("371702", date(1975, 8, 9), 88)  # 菏泽市牡丹区
OUTSIDER_ID = make_resident_id("110101", date(1990, 1, 2), 456)  # 北京: not a member


class FakeExchange:
    """Stands in for lunan.exchange.client.call: answers per provider city; records calls."""

    def __init__(self, sc: SharingCities, answers: Mapping[str, object]) -> None:
        self.sc = sc
        self.answers = dict(answers)
        self.calls: list[dict[str, Any]] = []

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
        view = queries.agreement(self.sc.h.engine, agreement_id)
        assert view is not None
        self.calls.append(
            {
                "city": parts.config.city,
                "actor": actor_id,
                "agreement": agreement_id,
                "params": dict(params),
                "purpose": purpose,
                "fields": fields,
                "timeout": timeout,
            }
        )
        answer = self.answers.get(view.provider, "否")
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, dict):
            return client.ExchangeResult(403, None, None, "0" * 32, view.provider, answer)
        return client.ExchangeResult(200, None, str(answer), "0" * 32, view.provider, None)


@pytest.fixture
def linyi(sc: SharingCities) -> NodeParts:
    """临沂's node with its own residents imported and an agreement with each other member."""
    sc.resident_check(LINYI)
    data, _ = residents_csv(LINYI)
    exchange_actions.import_data(sc.parts[LINYI], None, f"{LINYI}-01-0001", data)
    sc.agreement(LINYI, ZAOZHUANG)
    sc.agreement(LINYI, JINING)
    sc.agreement(LINYI, HEZE)
    return sc.parts[LINYI]


def fake(monkeypatch: pytest.MonkeyPatch, sc: SharingCities, **answers: object) -> FakeExchange:
    exchange = FakeExchange(sc, {code: a for name, a in answers.items() for code in [CODES[name]]})
    monkeypatch.setattr(client, "call", exchange)
    return exchange


CODES = {"linyi": LINYI, "zaozhuang": ZAOZHUANG, "jining": JINING, "heze": HEZE}


def test_an_own_resident_is_looked_up_in_place_with_no_exchange_and_no_event(
    sc: SharingCities, linyi: NodeParts, monkeypatch: pytest.MonkeyPatch
) -> None:
    exchange = fake(monkeypatch, sc)
    _, numbers = residents_csv(LINYI)
    sizes = sc.sizes()
    c = gate.check(linyi, GUIMENG, numbers[0].lower())
    assert (c.local, c.checked, c.resident_city) == (True, True, LINYI)
    assert c.asked == (gate.Asked(LINYI, "是"),)
    assert exchange.calls == [] and sc.sizes() == sizes


def test_a_resident_of_another_member_is_asked_through_the_exchange(
    sc: SharingCities, linyi: NodeParts, monkeypatch: pytest.MonkeyPatch
) -> None:
    exchange = fake(monkeypatch, sc, zaozhuang="是")
    c = gate.check(linyi, GUIMENG, ZAOZHUANG_ID, actor_id="gate-01", timeout=1.5)
    assert (c.price, c.local, c.checked, c.resident_city) == (
        quote(GUIMENG, ZAOZHUANG).price,
        True,
        True,
        ZAOZHUANG,
    )
    [agreement] = queries.agreements(sc.h.engine, provider=ZAOZHUANG, requester=LINYI)
    # The number goes to 枣庄 only, by the entry's key, under the agreement's own purpose.
    assert exchange.calls == [
        {
            "city": LINYI,
            "actor": "gate-01",
            "agreement": agreement.id,
            "params": {"身份证号": ZAOZHUANG_ID},
            "purpose": TOURISM_PURPOSE,
            "fields": None,
            "timeout": 1.5,
        }
    ]


def test_an_outsider_pays_the_full_price_after_every_member_said_no(
    sc: SharingCities, linyi: NodeParts, monkeypatch: pytest.MonkeyPatch
) -> None:
    exchange = fake(monkeypatch, sc)
    c = gate.check(linyi, GUIMENG, OUTSIDER_ID)
    assert (c.price, c.local, c.checked) == (quote(GUIMENG, None).price, False, True)
    assert "非鲁南经济圈居民" in c.reason
    assert [a.city for a in c.asked] == [LINYI, ZAOZHUANG, JINING, HEZE]
    assert [x["params"] for x in exchange.calls] == [{"身份证号": OUTSIDER_ID}] * 3


@pytest.mark.parametrize(
    ("answer", "says"),
    [
        (
            {"type": "urn:lunan:problem:exchange-agreement-suspended", "status": 403},
            "exchange-agreement-suspended",
        ),
        (client.ExchangeUnavailable(ZAOZHUANG, "down"), "无法连接"),
        (RuntimeError(f"something quoting {ZAOZHUANG_ID}"), "核验时出错"),
    ],
)
def test_a_member_that_refuses_or_fails_means_full_price_unchecked_naming_it(
    sc: SharingCities,
    linyi: NodeParts,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    answer: object,
    says: str,
) -> None:
    fake(monkeypatch, sc, zaozhuang=answer)
    c = gate.check(linyi, GUIMENG, ZAOZHUANG_ID)
    assert (c.local, c.checked, c.resident_city) == (False, False, None)
    assert c.price == quote(GUIMENG, None).price
    assert "未能向枣庄市核验" in c.reason and says in c.reason
    assert c.asked[0].city == ZAOZHUANG and c.asked[0].answer is None
    assert ZAOZHUANG_ID not in c.reason
    assert ZAOZHUANG_ID not in caplog.text  # the operator's log never holds the number


def test_a_member_without_an_active_agreement_is_not_asked(
    sc: SharingCities, linyi: NodeParts, monkeypatch: pytest.MonkeyPatch
) -> None:
    exchange = fake(monkeypatch, sc)
    [heze] = queries.agreements(sc.h.engine, provider=HEZE, requester=LINYI)
    sharing_actions.suspend_agreement(sc.parts[HEZE], user_of(HEZE), heze.id, "暂停（示例数据）")
    c = gate.check(linyi, GUIMENG, HEZE_ID)
    no_agreement = (
        "本市与菏泽市没有生效的户籍核验协议 no active resident-check agreement with 菏泽市"
    )
    assert (c.checked, c.asked[0]) == (False, gate.Asked(HEZE, None, no_agreement))
    assert "未能向菏泽市核验" in c.reason
    assert {x["agreement"].split("/")[1] for x in exchange.calls} == {ZAOZHUANG, JINING}
    sharing_actions.revoke_agreement(sc.parts[HEZE], user_of(HEZE), heze.id, "撤销（示例数据）")
    exchange.calls.clear()
    c = gate.check(linyi, GUIMENG, ZAOZHUANG_ID, city=HEZE)
    assert not c.checked and no_agreement in c.reason and exchange.calls == []


def test_without_its_own_registry_the_own_city_cannot_be_asked(
    sc: SharingCities, monkeypatch: pytest.MonkeyPatch
) -> None:
    sc.agreement(LINYI, ZAOZHUANG)  # publishes 枣庄's entry only; 临沂 has none
    fake(monkeypatch, sc, zaozhuang="是")
    c = gate.check(sc.parts[LINYI], GUIMENG, OUTSIDER_ID, city=LINYI)
    assert not c.checked and "本市（临沂市）未发布或未配置户籍核验服务" in c.reason
    # Published but nothing imported yet: still not configured.
    sc.resident_check(LINYI)
    c = gate.check(sc.parts[LINYI], GUIMENG, OUTSIDER_ID, city=LINYI)
    assert not c.checked and "未发布或未配置" in c.reason
