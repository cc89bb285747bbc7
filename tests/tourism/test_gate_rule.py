"""The gate's rule (lunan.apps.tourism.gate.decide) with the members' answers scripted: whom it
asks, in which order, what it charges and why — no network, no node."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

import pytest

from lunan.apps.divisions import HEZE, JINING, LINYI, ZAOZHUANG
from lunan.apps.ids import make_resident_id
from lunan.apps.tourism import gate
from lunan.apps.tourism.registry import attraction
from lunan.events.errors import Invalid

MEMBERS = [LINYI, ZAOZHUANG, JINING, HEZE]  # the node's own city (临沂) first, as on a node
OWN = LINYI
KONGMIAO = "370800-A01"  # 孔庙, 曲阜 (济宁): full 90, local 45 (示例数据 prices)
SHANTING = "370406"  # 枣庄市山亭区
BEIJING = "110101"  # 北京市东城区: not a member

ZAOZHUANG_ID = make_resident_id(SHANTING, date(1980, 5, 17), 123)
OUTSIDER_ID = make_resident_id(BEIJING, date(1990, 1, 2), 456)


class Script:
    """Members' scripted answers: "是", "否", or a CouldNotAsk message; records who was asked."""

    def __init__(self, answers: Mapping[str, str]) -> None:
        self.answers = dict(answers)
        self.asked: list[tuple[str, str]] = []

    def __call__(self, city: str, number: str) -> gate.Answer:
        self.asked.append((city, number))
        answer = self.answers.get(city, "否")
        if answer == "是":
            return "是"
        if answer == "否":
            return "否"
        raise gate.CouldNotAsk(answer)

    @property
    def cities(self) -> list[str]:
        return [c for c, _ in self.asked]


def decide(id_number: str, script: Script, city: str | None = None) -> gate.Check:
    return gate.decide(KONGMIAO, id_number, MEMBERS, OWN, script, city)


def test_a_resident_of_another_member_city_pays_the_local_price() -> None:
    script = Script({ZAOZHUANG: "是"})
    c = decide(ZAOZHUANG_ID, script)
    assert (c.price, c.local, c.checked, c.resident_city) == (45, True, True, ZAOZHUANG)
    assert c.price == attraction(KONGMIAO).local_price
    assert c.reason.startswith("枣庄市居民")
    # The ID's own city is asked first and says 是: nobody else sees the number.
    assert script.asked == [(ZAOZHUANG, ZAOZHUANG_ID)]
    assert c.asked == (gate.Asked(ZAOZHUANG, "是"),)


def test_a_non_resident_pays_the_full_price_after_every_member_said_no() -> None:
    script = Script({})
    c = decide(ZAOZHUANG_ID, script)
    assert (c.price, c.local, c.checked, c.resident_city) == (90, False, True, None)
    assert c.reason.startswith("经各成员市核验，非鲁南经济圈居民")
    # The ID's city, then the node's own (a local lookup), then the others in alliance order.
    assert script.cities == [ZAOZHUANG, LINYI, JINING, HEZE]


def test_an_id_issued_outside_the_four_cities_asks_the_own_city_first() -> None:
    script = Script({HEZE: "是"})  # someone born in 北京 who lives in 菏泽
    c = decide(OUTSIDER_ID, script)
    assert (c.local, c.resident_city) == (True, HEZE)
    assert script.cities == [LINYI, ZAOZHUANG, JINING, HEZE]


def test_a_retired_county_code_still_points_at_its_city() -> None:
    yanzhou = make_resident_id("370882", date(1970, 3, 3), 7)  # 兖州市, 兖州区 since 2013
    script = Script({JINING: "是"})
    assert decide(yanzhou, script).resident_city == JINING
    assert script.cities == [JINING]


def test_the_first_yes_ends_the_asking() -> None:
    script = Script({LINYI: "是", JINING: "是"})
    c = decide(ZAOZHUANG_ID, script)
    assert c.resident_city == LINYI
    assert script.cities == [ZAOZHUANG, LINYI]


def test_the_number_is_asked_normalised() -> None:
    lower = next(
        n
        for n in (make_resident_id(SHANTING, date(1985, 1, 1), s) for s in range(1000))
        if n.endswith("X")
    )
    script = Script({ZAOZHUANG: "是"})
    decide(f"  {lower.lower()} ", script)
    assert script.asked == [(ZAOZHUANG, lower)]


def test_a_named_city_is_the_only_one_asked() -> None:
    script = Script({JINING: "是"})
    c = decide(ZAOZHUANG_ID, script, city=HEZE)
    assert (c.price, c.local, c.checked) == (90, False, True)
    assert script.cities == [HEZE]
    assert "菏泽市" in c.reason and "非菏泽市居民" in c.reason
    yes = decide(ZAOZHUANG_ID, Script({JINING: "是"}), city=JINING)
    assert (yes.price, yes.resident_city) == (45, JINING)


def test_a_member_that_cannot_be_asked_means_full_price_unchecked_naming_it() -> None:
    down = "枣庄市节点无法连接或超时 枣庄市's node could not be reached in time"
    script = Script({ZAOZHUANG: down})
    c = decide(ZAOZHUANG_ID, script)
    assert (c.price, c.local, c.checked, c.resident_city) == (90, False, False, None)
    assert "未能向枣庄市核验" in c.reason and down in c.reason
    assert "非鲁南经济圈居民" not in c.reason  # not a guess: the others' 否 settles nothing
    assert script.cities == [ZAOZHUANG, LINYI, JINING, HEZE]  # the others are still asked
    assert c.asked[0] == gate.Asked(ZAOZHUANG, None, down)


def test_several_members_down_are_all_named() -> None:
    c = decide(ZAOZHUANG_ID, Script({ZAOZHUANG: "枣庄 down", HEZE: "菏泽 refused"}))
    assert not c.checked
    assert "未能向枣庄市、菏泽市核验" in c.reason
    assert "枣庄 down；菏泽 refused" in c.reason


def test_a_member_down_does_not_stop_another_members_yes() -> None:
    c = decide(ZAOZHUANG_ID, Script({ZAOZHUANG: "down", JINING: "是"}))
    assert (c.price, c.local, c.checked, c.resident_city) == (45, True, True, JINING)


@pytest.mark.parametrize(
    ("number", "says"),
    [
        (ZAOZHUANG_ID[:-1] + ("0" if ZAOZHUANG_ID[-1] != "0" else "1"), "校验码错误"),
        (ZAOZHUANG_ID[:17], "应为18位，实为17位"),
        (ZAOZHUANG_ID[:6] + "A" + ZAOZHUANG_ID[7:], "第7位应为数字"),
        (ZAOZHUANG_ID[:10] + "13" + ZAOZHUANG_ID[12:], "出生日期"),
        ("", "实为0位"),
    ],
)
def test_an_invalid_id_is_refused_without_repeating_it(number: str, says: str) -> None:
    script = Script({})
    with pytest.raises(Invalid) as e:
        decide(number, script)
    assert e.value.status == 422 and e.value.field == "id_number"
    assert e.value.message.startswith("身份证号无效") and says in e.value.message
    if number:
        assert number not in e.value.message
        assert number[:6] not in e.value.message and number[6:14] not in e.value.message
    assert script.asked == []  # nobody is asked about an invalid number


def test_an_unknown_attraction_or_a_non_member_city_is_invalid_input() -> None:
    with pytest.raises(Invalid) as e:
        gate.decide("999999-A01", ZAOZHUANG_ID, MEMBERS, OWN, Script({}))
    assert e.value.field == "attraction"
    with pytest.raises(Invalid) as e:
        decide(ZAOZHUANG_ID, Script({}), city="370100")  # 济南: not a member
    assert e.value.field == "city"


def test_order_puts_the_id_city_then_the_own_city_first() -> None:
    assert gate.order(MEMBERS, LINYI, JINING) == [JINING, LINYI, ZAOZHUANG, HEZE]
    assert gate.order(MEMBERS, LINYI, LINYI) == MEMBERS
    assert gate.order(MEMBERS, JINING, None) == [JINING, LINYI, ZAOZHUANG, HEZE]
    assert gate.order(MEMBERS, LINYI, "370100") == MEMBERS  # not a member: never asked
