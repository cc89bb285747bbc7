"""The tourism 同城化 registry: 17 key scenic areas, 67 attractions, 6 red tourism routes.

What the source (FACTS.md, 大众日报) states, kept exactly:
- 鲁南旅游联盟: 17 key scenic areas (重点景区) with 67 attractions (景点) have achieved four-city
  tourism 同城化 — residents of any member city pay what locals pay;
- 6 red tourism boutique routes (红色旅游精品线路);
- the resources 三孔, 两孟, 台儿庄古城, 黄河故道 (history and culture) and 沂蒙革命老区,
  冀鲁豫边区革命纪念馆 (red).

The source lists neither the 17 areas nor the 67 attractions nor the routes. So:
- `sample=False` marks what the source gives: the six named resources as areas in their cities
  (三孔 in 曲阜, 两孟 in 邹城, 台儿庄古城 in 台儿庄区, 黄河故道 in 菏泽, 沂蒙革命老区 in 临沂,
  冀鲁豫边区革命纪念馆 in 菏泽), and the attractions the names themselves denote and place:
  孔庙/孔府/孔林 (三孔), 孟庙/孟府 (两孟), 台儿庄古城.
- Everything else is 示例数据 (`sample=True`, with a `note` saying so): the other areas and
  attractions, county placement the names do not imply, and all routes.
- Every price is 示例数据 (`prices_sample=True` on every attraction): the source gives none.

Prices are whole 元 (yuan) as `int`: scenic ticket prices are set in whole yuan, and integers
keep the gate's arithmetic exact. A price of 0 means free admission.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lunan.apps.divisions import CITIES, HEZE, JINING, LINYI, ZAOZHUANG, city_of, county_name

__all__ = [
    "AREAS",
    "ATTRACTIONS",
    "ATTRACTION_COUNT",
    "FACT_AREAS",
    "KEY_AREA_COUNT",
    "RED_ROUTE_COUNT",
    "ROUTES",
    "SAMPLE_NOTE",
    "Attraction",
    "Quote",
    "Route",
    "ScenicArea",
    "UnknownCode",
    "area",
    "attraction",
    "attractions_in",
    "is_local",
    "quote",
    "registry_problems",
    "route",
]

# The source's counts (FACTS.md); the registry must match them exactly.
KEY_AREA_COUNT = 17
ATTRACTION_COUNT = 67
RED_ROUTE_COUNT = 6

SAMPLE_NOTE = "示例数据 sample data"
_PRICE_NOTE = "票价为示例数据 prices are sample data"
_FACT_NOTE = "名称与所在地据原文（大众日报）name and place from the source (大众日报)"


@dataclass(frozen=True)
class ScenicArea:
    """A key scenic area (重点景区)."""

    code: str  # "<city code>-S<nn>", stable
    name: str
    city: str  # 6-digit member city code
    is_red: bool  # 红色旅游
    sample: bool  # True: invented (示例数据); False: named and placed by the source
    note: str


@dataclass(frozen=True)
class Attraction:
    """An attraction (景点) of a key scenic area, with its full and local (同城化) price in 元."""

    code: str  # "<city code>-A<nn>", stable
    name: str
    area: str  # the scenic area's code
    city: str  # 6-digit member city code
    county: str  # 6-digit GB/T 2260 county code in that city
    full_price: int  # whole 元; 0 = free
    local_price: int  # whole 元, what residents of any member city pay
    is_red: bool
    sample: bool  # True: existence or placement invented (示例数据)
    note: str
    prices_sample: bool = True  # the source states no price: every price is 示例数据


@dataclass(frozen=True)
class Route:
    """A red tourism boutique route (红色旅游精品线路): attractions visited in order."""

    code: str  # "R<nn>", stable
    name: str
    stops: tuple[str, ...]  # attraction codes
    sample: bool
    note: str


class UnknownCode(LookupError):
    """A code that is not in the registry; the message is zh-CN first, English after."""


# --- the data -------------------------------------------------------------------------------
# One entry per area: (name, is_red, sample, note, attractions); one entry per attraction:
# (name, county, full, local, is_red, sample). Codes follow the order here, per city, so
# append new entries at the end of a city to keep existing codes stable.

_AttractionRow = tuple[str, str, int, int, bool, bool]
_AreaRow = tuple[str, bool, bool, str, tuple[_AttractionRow, ...]]

_FACT, _SAMPLE = False, True
_RED, _CULTURE = True, False
_QUFU, _ZOUCHENG, _WEISHAN, _LIANGSHAN = "370881", "370883", "370826", "370832"
_TAIERZHUANG, _SHANTING, _TENGZHOU, _XUECHENG = "370405", "370406", "370481", "370403"
_LANSHAN, _YINAN, _MENGYIN, _FEI, _PINGYI, _JUNAN, _YISHUI = (
    "371302",
    "371321",
    "371328",
    "371325",
    "371326",
    "371327",
    "371323",
)
_MUDAN, _CAO, _SHAN, _DONGMING, _JUYE, _YUNCHENG = (
    "371702",
    "371721",
    "371722",
    "371728",
    "371724",
    "371725",
)

_DATA: dict[str, tuple[_AreaRow, ...]] = {
    JINING: (
        (
            "三孔",
            _CULTURE,
            _FACT,
            "三孔（孔庙、孔府、孔林）在曲阜，据原文“三孔两孟” 三孔 (the Confucius temple, "
            "mansion and cemetery) in 曲阜, from the source's 三孔两孟",
            (
                ("孔庙", _QUFU, 90, 45, _CULTURE, _FACT),
                ("孔府", _QUFU, 60, 30, _CULTURE, _FACT),
                ("孔林", _QUFU, 40, 20, _CULTURE, _FACT),
                ("颜庙", _QUFU, 50, 25, _CULTURE, _SAMPLE),
                ("周公庙", _QUFU, 30, 15, _CULTURE, _SAMPLE),
                ("曲阜明故城", _QUFU, 0, 0, _CULTURE, _SAMPLE),
            ),
        ),
        (
            "两孟",
            _CULTURE,
            _FACT,
            "两孟（孟庙、孟府）在邹城，据原文“三孔两孟” 两孟 (the Mencius temple and mansion) "
            "in 邹城, from the source's 三孔两孟",
            (
                ("孟庙", _ZOUCHENG, 50, 25, _CULTURE, _FACT),
                ("孟府", _ZOUCHENG, 40, 20, _CULTURE, _FACT),
                ("孟林", _ZOUCHENG, 20, 10, _CULTURE, _SAMPLE),
                ("孟母三迁祠", _ZOUCHENG, 20, 10, _CULTURE, _SAMPLE),
            ),
        ),
        (
            "尼山",
            _CULTURE,
            _SAMPLE,
            SAMPLE_NOTE,
            (
                ("尼山圣境", _QUFU, 150, 75, _CULTURE, _SAMPLE),
                ("尼山孔庙", _QUFU, 30, 15, _CULTURE, _SAMPLE),
                ("孔子六艺城", _QUFU, 60, 30, _CULTURE, _SAMPLE),
            ),
        ),
        (
            "微山湖",
            _CULTURE,
            _SAMPLE,
            SAMPLE_NOTE,
            (
                ("微山岛", _WEISHAN, 60, 30, _CULTURE, _SAMPLE),
                ("微山岛铁道游击队纪念碑", _WEISHAN, 0, 0, _RED, _SAMPLE),
                ("微山湖国家湿地公园", _WEISHAN, 50, 25, _CULTURE, _SAMPLE),
                ("南阳古镇", _WEISHAN, 40, 20, _CULTURE, _SAMPLE),
            ),
        ),
        (
            "水泊梁山",
            _CULTURE,
            _SAMPLE,
            SAMPLE_NOTE,
            (
                ("水泊梁山风景区", _LIANGSHAN, 80, 40, _CULTURE, _SAMPLE),
                ("梁山忠义堂", _LIANGSHAN, 30, 15, _CULTURE, _SAMPLE),
                ("梁山黑风口", _LIANGSHAN, 20, 10, _CULTURE, _SAMPLE),
            ),
        ),
    ),
    ZAOZHUANG: (
        (
            "台儿庄古城",
            _CULTURE,
            _FACT,
            "台儿庄古城在台儿庄区，据原文 台儿庄古城 in 台儿庄区, from the source",
            (
                ("台儿庄古城", _TAIERZHUANG, 160, 80, _CULTURE, _FACT),
                ("台儿庄大战纪念馆", _TAIERZHUANG, 0, 0, _RED, _SAMPLE),
                ("台儿庄运河湿地公园", _TAIERZHUANG, 40, 20, _CULTURE, _SAMPLE),
                ("李宗仁史料馆", _TAIERZHUANG, 20, 10, _CULTURE, _SAMPLE),
                ("台儿庄清真古寺", _TAIERZHUANG, 10, 5, _CULTURE, _SAMPLE),
            ),
        ),
        (
            "熊耳山—抱犊崮",
            _CULTURE,
            _SAMPLE,
            SAMPLE_NOTE,
            (
                ("熊耳山大裂谷", _SHANTING, 100, 50, _CULTURE, _SAMPLE),
                ("抱犊崮", _SHANTING, 60, 30, _CULTURE, _SAMPLE),
                ("翼云石头部落", _SHANTING, 50, 25, _CULTURE, _SAMPLE),
            ),
        ),
        (
            "墨子故里",
            _CULTURE,
            _SAMPLE,
            SAMPLE_NOTE,
            (
                ("墨子纪念馆", _TENGZHOU, 30, 15, _CULTURE, _SAMPLE),
                ("滕州汉画像石馆", _TENGZHOU, 20, 10, _CULTURE, _SAMPLE),
                ("龙泉塔", _TENGZHOU, 10, 5, _CULTURE, _SAMPLE),
                ("微山湖红荷湿地", _TENGZHOU, 80, 40, _CULTURE, _SAMPLE),
            ),
        ),
        (
            "铁道游击队纪念园",
            _RED,
            _SAMPLE,
            SAMPLE_NOTE,
            (
                ("铁道游击队纪念园", _XUECHENG, 0, 0, _RED, _SAMPLE),
                ("临山公园", _XUECHENG, 0, 0, _CULTURE, _SAMPLE),
            ),
        ),
    ),
    LINYI: (
        (
            "沂蒙革命老区",
            _RED,
            _FACT,
            "沂蒙革命老区在临沂，据原文 沂蒙革命老区 in 临沂, from the source",
            (
                ("华东革命烈士陵园", _LANSHAN, 0, 0, _RED, _SAMPLE),
                ("孟良崮战役纪念馆", _MENGYIN, 0, 0, _RED, _SAMPLE),
                ("沂蒙红嫂纪念馆", _YINAN, 0, 0, _RED, _SAMPLE),
                ("沂蒙红色影视基地", _YINAN, 100, 50, _RED, _SAMPLE),
                ("八路军一一五师司令部旧址", _JUNAN, 0, 0, _RED, _SAMPLE),
                ("大青山胜利突围纪念馆", _FEI, 0, 0, _RED, _SAMPLE),
            ),
        ),
        (
            "蒙山",
            _CULTURE,
            _SAMPLE,
            SAMPLE_NOTE,
            (
                ("蒙山龟蒙景区", _PINGYI, 120, 60, _CULTURE, _SAMPLE),
                ("蒙山云蒙景区", _MENGYIN, 80, 40, _CULTURE, _SAMPLE),
                ("蒙山天蒙景区", _FEI, 100, 50, _CULTURE, _SAMPLE),
                ("蒙山寿星村", _PINGYI, 30, 15, _CULTURE, _SAMPLE),
            ),
        ),
        (
            "书圣故里",
            _CULTURE,
            _SAMPLE,
            SAMPLE_NOTE,
            (
                ("王羲之故居", _LANSHAN, 40, 20, _CULTURE, _SAMPLE),
                ("银雀山汉墓竹简博物馆", _LANSHAN, 20, 10, _CULTURE, _SAMPLE),
                ("琅琊古城", _LANSHAN, 0, 0, _CULTURE, _SAMPLE),
                ("沂河滨水公园", _LANSHAN, 0, 0, _CULTURE, _SAMPLE),
            ),
        ),
        (
            "沂水地下大峡谷",
            _CULTURE,
            _SAMPLE,
            SAMPLE_NOTE,
            (
                ("沂水地下大峡谷", _YISHUI, 120, 60, _CULTURE, _SAMPLE),
                ("沂水地下荧光湖", _YISHUI, 90, 45, _CULTURE, _SAMPLE),
                ("天上王城", _YISHUI, 80, 40, _CULTURE, _SAMPLE),
                ("雪山彩虹谷", _YISHUI, 70, 35, _CULTURE, _SAMPLE),
            ),
        ),
    ),
    HEZE: (
        (
            "黄河故道",
            _CULTURE,
            _FACT,
            "黄河故道在菏泽，据原文；所含景点及其所在县区为示例数据 黄河故道 in 菏泽, from the "
            "source; its attractions and their counties are sample data",
            (
                ("浮龙湖", _SHAN, 60, 30, _CULTURE, _SAMPLE),
                ("黄河故道国家湿地公园", _CAO, 40, 20, _CULTURE, _SAMPLE),
                ("东明黄河森林公园", _DONGMING, 30, 15, _CULTURE, _SAMPLE),
                ("单县古黄河湿地", _SHAN, 20, 10, _CULTURE, _SAMPLE),
            ),
        ),
        (
            "冀鲁豫边区革命纪念馆",
            _RED,
            _FACT,
            "冀鲁豫边区革命纪念馆在菏泽，据原文；所在县区为示例数据 冀鲁豫边区革命纪念馆 in 菏泽, "
            "from the source; the county is sample data",
            (
                ("冀鲁豫边区革命纪念馆", _MUDAN, 0, 0, _RED, _SAMPLE),
                ("鲁西南战役纪念馆", _JUYE, 0, 0, _RED, _SAMPLE),
                ("湖西革命烈士陵园", _SHAN, 0, 0, _RED, _SAMPLE),
            ),
        ),
        (
            "曹州牡丹园",
            _CULTURE,
            _SAMPLE,
            SAMPLE_NOTE,
            (
                ("曹州牡丹园", _MUDAN, 80, 40, _CULTURE, _SAMPLE),
                ("中国牡丹园", _MUDAN, 60, 30, _CULTURE, _SAMPLE),
                ("古今园", _MUDAN, 40, 20, _CULTURE, _SAMPLE),
                ("百花园", _MUDAN, 30, 15, _CULTURE, _SAMPLE),
            ),
        ),
        (
            "水浒好汉城",
            _CULTURE,
            _SAMPLE,
            SAMPLE_NOTE,
            (
                ("水浒好汉城", _YUNCHENG, 60, 30, _CULTURE, _SAMPLE),
                ("宋江湖", _YUNCHENG, 0, 0, _CULTURE, _SAMPLE),
                ("郓城唐塔", _YUNCHENG, 10, 5, _CULTURE, _SAMPLE),
                ("水浒文化博物馆", _YUNCHENG, 20, 10, _CULTURE, _SAMPLE),
            ),
        ),
    ),
}

# The six names the source gives, with the city the project places each in.
FACT_AREAS: dict[str, str] = {
    "三孔": JINING,
    "两孟": JINING,
    "台儿庄古城": ZAOZHUANG,
    "黄河故道": HEZE,
    "沂蒙革命老区": LINYI,
    "冀鲁豫边区革命纪念馆": HEZE,
}

# Routes as (name, stop names); every route is 示例数据: the source gives only their number.
_ROUTE_DATA: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "沂蒙红色记忆之旅",
        ("华东革命烈士陵园", "沂蒙红嫂纪念馆", "沂蒙红色影视基地", "孟良崮战役纪念馆"),
    ),
    (
        "八路军抗战足迹之旅",
        ("八路军一一五师司令部旧址", "大青山胜利突围纪念馆", "华东革命烈士陵园"),
    ),
    ("铁道游击队之旅", ("铁道游击队纪念园", "微山岛铁道游击队纪念碑", "微山岛")),
    ("运河烽火之旅", ("台儿庄大战纪念馆", "台儿庄古城", "铁道游击队纪念园")),
    ("冀鲁豫烽火之旅", ("冀鲁豫边区革命纪念馆", "鲁西南战役纪念馆", "湖西革命烈士陵园")),
    (
        "鲁南四市红色联游",
        ("冀鲁豫边区革命纪念馆", "微山岛铁道游击队纪念碑", "台儿庄大战纪念馆", "孟良崮战役纪念馆"),
    ),
)


def _attraction_note(name: str, area_name: str, sample: bool) -> str:
    if not sample and name == area_name:
        return f"{_FACT_NOTE}；{_PRICE_NOTE}"
    if not sample:  # 孔庙 is not in the source, but it is what the source's 三孔 names
        return (
            f"原文“{area_name}”所指，所在地随之 one of what the source's {area_name} names, "
            f"placed with it；{_PRICE_NOTE}"
        )
    if name in FACT_AREAS:  # named by the source, but the county is the project's guess
        return (
            f"{SAMPLE_NOTE}：所在县区与票价；名称与所在市据原文 the county and prices "
            "(the name and city are from the source)"
        )
    return f"{SAMPLE_NOTE}：名称、所在地与票价 name, place and prices"


def _build() -> tuple[tuple[ScenicArea, ...], tuple[Attraction, ...], tuple[Route, ...]]:
    areas: list[ScenicArea] = []
    attractions: list[Attraction] = []
    for city, rows in _DATA.items():
        n_attraction = 0
        for n_area, (area_name, area_red, area_sample, area_note, items) in enumerate(rows, 1):
            area_code = f"{city}-S{n_area:02d}"
            areas.append(ScenicArea(area_code, area_name, city, area_red, area_sample, area_note))
            for name, county, full, local, red, sample in items:
                n_attraction += 1
                note = _attraction_note(name, area_name, sample)
                attractions.append(
                    Attraction(
                        code=f"{city}-A{n_attraction:02d}",
                        name=name,
                        area=area_code,
                        city=city,
                        county=county,
                        full_price=full,
                        local_price=local,
                        is_red=red,
                        sample=sample,
                        note=note,
                    )
                )
    by_name = {a.name: a.code for a in attractions}
    routes = tuple(
        Route(
            code=f"R{n:02d}",
            name=name,
            stops=tuple(by_name[s] for s in stops),
            sample=True,
            note=f"{SAMPLE_NOTE}：原文只说有6条红色旅游精品线路 the source gives only their number",
        )
        for n, (name, stops) in enumerate(_ROUTE_DATA, 1)
    )
    return tuple(areas), tuple(attractions), routes


AREAS, ATTRACTIONS, ROUTES = _build()

_AREA_BY_CODE = {a.code: a for a in AREAS}
_ATTRACTION_BY_CODE = {a.code: a for a in ATTRACTIONS}
_ROUTE_BY_CODE = {r.code: r for r in ROUTES}


# --- lookups ----------------------------------------------------------------------------------


def attraction(code: str) -> Attraction:
    """The attraction with this code; `UnknownCode` if there is none."""
    try:
        return _ATTRACTION_BY_CODE[code]
    except KeyError:
        raise UnknownCode(f"没有编码为“{code}”的景点 no attraction has the code '{code}'") from None


def area(code: str) -> ScenicArea:
    """The scenic area with this code; `UnknownCode` if there is none."""
    try:
        return _AREA_BY_CODE[code]
    except KeyError:
        raise UnknownCode(
            f"没有编码为“{code}”的景区 no scenic area has the code '{code}'"
        ) from None


def route(code: str) -> Route:
    """The red tourism route with this code; `UnknownCode` if there is none."""
    try:
        return _ROUTE_BY_CODE[code]
    except KeyError:
        raise UnknownCode(f"没有编码为“{code}”的线路 no route has the code '{code}'") from None


def attractions_in(city: str) -> tuple[Attraction, ...]:
    """The attractions of one member city, in code order."""
    return tuple(a for a in ATTRACTIONS if a.city == city)


# --- 同城化 pricing -----------------------------------------------------------------------------


def is_local(resident_city: str | None) -> bool:
    """同城化: a resident of any of the four member cities is treated as a local."""
    return resident_city is not None and city_of(resident_city) is not None


@dataclass(frozen=True)
class Quote:
    """The price to charge at the gate and why (zh-CN first, English after)."""

    attraction: str
    price: int  # whole 元
    local: bool
    reason: str


def quote(attraction_code: str, resident_city: str | None) -> Quote:
    """The price for a visitor whose verified residence is `resident_city` (None: not verified).

    The caller decides residence (by the exchange's 是/否 check); this only applies the rule.
    Anything but a confirmed member city — including a check that could not be made — pays the
    full price, so a failure never gives a discount by guess.
    """
    a = attraction(attraction_code)
    member = city_of(resident_city) if resident_city is not None else None
    if member is not None:
        city = CITIES[member]
        return Quote(
            a.code,
            a.local_price,
            True,
            f"{city}居民，鲁南经济圈四市旅游同城化，按本地居民价 a resident of {city}: the four "
            "cities' tourism 同城化 gives the local price",
        )
    return Quote(
        a.code,
        a.full_price,
        False,
        "未核验为鲁南经济圈四市居民，按全价 not verified as a resident of the four cities: "
        "full price",
    )


# --- self-check ---------------------------------------------------------------------------------


def registry_problems(
    areas: Sequence[ScenicArea] = AREAS,
    attractions: Sequence[Attraction] = ATTRACTIONS,
    routes: Sequence[Route] = ROUTES,
) -> list[str]:
    """Everything wrong with a registry against the source's facts; empty when all is well."""
    problems: list[str] = []
    if len(areas) != KEY_AREA_COUNT:
        problems.append(f"重点景区应为{KEY_AREA_COUNT}个，实为{len(areas)}个 areas: {len(areas)}")
    if len(attractions) != ATTRACTION_COUNT:
        problems.append(
            f"景点应为{ATTRACTION_COUNT}个，实为{len(attractions)}个 "
            f"attractions: {len(attractions)}"
        )
    if len(routes) != RED_ROUTE_COUNT:
        problems.append(
            f"红色旅游精品线路应为{RED_ROUTE_COUNT}条，实为{len(routes)}条 routes: {len(routes)}"
        )
    for kind, codes in (
        ("景区 area", [a.code for a in areas]),
        ("景点 attraction", [a.code for a in attractions]),
        ("线路 route", [r.code for r in routes]),
    ):
        if len(set(codes)) != len(codes):
            problems.append(f"{kind}编码重复 duplicate {kind.split()[1]} codes")
    names = [t.name for t in attractions]
    if len(set(names)) != len(names):  # routes name their stops; a name must be one place
        problems.append("景点名称重复 duplicate attraction names")
    by_area = {a.code: a for a in areas}
    for a in areas:
        if a.city not in CITIES:
            problems.append(f"{a.code} {a.name}: 不在成员市 not in a member city")
        if a.sample and SAMPLE_NOTE not in a.note:
            problems.append(f"{a.code} {a.name}: 示例数据未注明 sample without the note")
    for t in attractions:
        where = f"{t.code} {t.name}"
        if t.city not in CITIES or city_of(t.county) != t.city or county_name(t.county) is None:
            problems.append(f"{where}: 县区{t.county}不在{t.city} county not in the city")
        owner = by_area.get(t.area)
        if owner is None or owner.city != t.city:
            problems.append(f"{where}: 所属景区{t.area}不符 bad scenic area")
        if not 0 <= t.local_price <= t.full_price:
            problems.append(f"{where}: 本地价须在0与全价之间 local price must be 0..full price")
        if t.sample and SAMPLE_NOTE not in t.note:
            problems.append(f"{where}: 示例数据未注明 sample without the note")
        if t.prices_sample and "示例数据" not in t.note:
            problems.append(f"{where}: 示例票价未注明 sample prices without the note")
    for name, city in FACT_AREAS.items():
        if not any(a.name == name and a.city == city and not a.sample for a in areas):
            problems.append(f"缺少原文景区“{name}”（{CITIES[city]}） missing the source's {name}")
    by_code = {t.code: t for t in attractions}
    for r in routes:
        missing = [s for s in r.stops if s not in by_code]
        if missing:
            problems.append(f"{r.code} {r.name}: 站点不是景点 stops not attractions: {missing}")
        red = sum(by_code[s].is_red for s in r.stops if s in by_code)
        if len(r.stops) < 2 or 2 * red < len(r.stops):
            problems.append(
                f"{r.code} {r.name}: 至少两站，红色景点过半 needs ≥2 stops, at least half red"
            )
        if r.sample and SAMPLE_NOTE not in r.note:
            problems.append(f"{r.code} {r.name}: 示例数据未注明 sample without the note")
    return problems
