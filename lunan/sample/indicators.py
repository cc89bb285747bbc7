"""Sample indicators: the 2020 figures of the source (FACTS.md, 大众日报), exactly as stated.

The source gives the alliance's figures (GDP 14,515.9 亿元, +3.6 %, and four growth rates, with
their ranks among Shandong's three economic circles) and a few facts about single cities, but no
city's own values: those are left empty, not invented. Nothing here is invented, so nothing is
labelled 示例数据; every figure names its source.
"""

from __future__ import annotations

from typing import Any

from lunan.sample.api import DemoApi

YEAR = 2020
SOURCE = "大众日报"
CHAIR = "371300"  # 临沂, the first chair city
LINYI, ZAOZHUANG, JINING, HEZE = "371300", "370400", "370800", "371700"

SECOND_OF_THREE = "增速居三大经济圈第二位"
FIRST_OF_THREE = "增速居三大经济圈首位"


def _figure(rank: str, value: str | None = None, growth: str | None = None) -> dict[str, Any]:
    return {"value": value, "growth": growth, "rank": rank, "source": SOURCE}


# 2020年，鲁南经济圈完成区域生产总值14515.9亿元，同比增长3.6%，增速居三大经济圈第二位；
# 一般公共预算收入、进出口总额、城镇和农村居民人均可支配收入分别增长3.3%、25.1%、3.7%和6.1%，
# 增速均居三大经济圈首位。
ALLIANCE_2020: dict[str, Any] = {
    "figures": {
        "gdp": _figure(SECOND_OF_THREE, value="14515.9", growth="3.6"),
        "budget_revenue": _figure(FIRST_OF_THREE, growth="3.3"),
        "trade": _figure(FIRST_OF_THREE, growth="25.1"),
        "urban_income": _figure(FIRST_OF_THREE, growth="3.7"),
        "rural_income": _figure(FIRST_OF_THREE, growth="6.1"),
    },
    "note": "",
    "source": "",
}

ASSESSMENT = "获2020年省对市经济社会发展综合考核一等奖"
NEAR_TOP = "增速位居全省前列"

# What the source says of single cities, each published by the city's own node.
CITIES_2020: dict[str, dict[str, Any]] = {
    LINYI: {"figures": {}, "note": ASSESSMENT, "source": SOURCE},
    JINING: {"figures": {}, "note": ASSESSMENT, "source": SOURCE},
    ZAOZHUANG: {"figures": {"trade": _figure("增速居全省首位")}, "note": "", "source": ""},
    HEZE: {
        "figures": {"gdp": _figure(NEAR_TOP), "budget_revenue": _figure(NEAR_TOP)},
        "note": "全体居民人均可支配收入增速连续5年保持全省首位",
        "source": SOURCE,
    },
}


def seed(api: DemoApi) -> None:
    api.put(CHAIR, f"/api/v1/indicators/alliance/{YEAR}", ALLIANCE_2020)
    for city, body in CITIES_2020.items():
        api.post(city, "/api/v1/indicators", {"year": YEAR, **body})
