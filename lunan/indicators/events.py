"""Economic indicators as events: the indicator set, the figures' schema, the apply functions.

A city publishes its figures for a year as the object `indicators/<city>/<year>` in its own log
(`ind.figures.published`, later `ind.figures.revised`). The figures the source publishes for
the whole alliance (the alliance's GDP, its growth rates, its ranks among the province's economic
circles) are the alliance-wide object `alliance-figures/<chair>/<year>`, changed only by the
current chair (`ind.alliance.published` / `ind.alliance.revised`).

Numbers are decimal text in a canonical form ("14515.9", never 14515.90 or a float): the
projection dump refuses floats, and a canonical text makes equal numbers equal strings on every
node and in every spreadsheet round trip. Totals over cities are not stored: they combine several
logs, so lunan.indicators.queries computes them when asked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from lunan.events.context import Apply
from lunan.events.envelope import ObjectId
from lunan.events.registry import EventType, Scope
from lunan.indicators.tables import p_indicators_figures, p_indicators_sets

CITY_KIND = "indicators"
ALLIANCE_KIND = "alliance-figures"
FIRST_YEAR, LAST_YEAR = 1949, 2100


@dataclass(frozen=True)
class Indicator:
    key: str  # stable, in events and the API
    name: str  # zh-CN, the spreadsheet's 指标 column
    english: str
    unit: str  # of the value; growth is always in per cent
    # Whether the cities' values add up to the alliance's (a total GDP makes sense, a total
    # per-capita income does not: that would need each city's population).
    additive: bool
    aliases: tuple[str, ...] = ()  # other names accepted on import


# The indicator set: change it here. Removing one keeps old events valid (they are stored as
# they were) but hides the indicator from pages, totals and spreadsheets.
INDICATORS: tuple[Indicator, ...] = (
    Indicator("gdp", "区域生产总值", "GDP", "亿元", True, ("地区生产总值", "生产总值", "GDP")),
    Indicator(
        "budget_revenue",
        "一般公共预算收入",
        "General public budget revenue",
        "亿元",
        True,
        ("公共预算收入", "财政收入"),
    ),
    Indicator(
        "trade",
        "进出口总额",
        "Import and export total",
        "亿元",
        True,
        ("进出口", "外贸进出口总额"),
    ),
    Indicator(
        "urban_income",
        "城镇居民人均可支配收入",
        "Urban residents' per-capita disposable income",
        "元",
        False,
    ),
    Indicator(
        "rural_income",
        "农村居民人均可支配收入",
        "Rural residents' per-capita disposable income",
        "元",
        False,
    ),
)
BY_KEY = {i.key: i for i in INDICATORS}


# --- decimal text -----------------------------------------------------------------------------

_DECIMAL = re.compile(r"^[+-]?[0-9]+(\.[0-9]+)?$")
MAX_DIGITS = 15  # what a spreadsheet's double keeps exactly: xlsx round trips stay exact
MAX_PLACES = 6


def canonical_decimal(text: str) -> str:
    """The canonical text of a plain decimal: '014515.90' → '14515.9', '-0' → '0'."""
    if not _DECIMAL.match(text):
        raise ValueError(f"“{text}”不是数字，应如 14515.9 {text!r} is not a decimal, e.g. 14515.9")
    try:
        number = Decimal(text).normalize()
    except InvalidOperation as e:  # the pattern rules this out; kept for safety
        raise ValueError(f"“{text}”不是数字 {text!r} is not a decimal") from e
    _sign, digits, exponent = number.as_tuple()
    assert isinstance(exponent, int)  # the pattern excludes NaN and Infinity
    if len(digits) > MAX_DIGITS:
        raise ValueError(
            f"有效数字超过{MAX_DIGITS}位 more than {MAX_DIGITS} significant digits: {text}"
        )
    if -exponent > MAX_PLACES:
        raise ValueError(f"小数超过{MAX_PLACES}位 more than {MAX_PLACES} decimal places: {text}")
    return "0" if number == 0 else format(number, "f")


def _exact_number(value: object) -> object:
    """Integers are exact and may come as JSON numbers; fractions must come as text, since a
    JSON number with a fraction is a float and may already have lost digits."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        raise ValueError('小数请以字符串填写，如 "3.6" send fractions as strings, e.g. "3.6"')
    return value


def _not_negative(text: str) -> str:
    if text.startswith("-"):
        raise ValueError(f"数值不能为负 a value is not negative: {text}")
    return text


def _above_minus_100(text: str) -> str:
    # Below -100 % nothing is left; at exactly -100 % the previous year cannot be derived.
    if Decimal(text) <= -100:
        raise ValueError(f"增速须大于-100 growth must be above -100 per cent: {text}")
    return text


DecimalText = Annotated[
    str,
    BeforeValidator(_exact_number),
    Field(max_length=40),
    AfterValidator(canonical_decimal),
]
Value = Annotated[DecimalText, AfterValidator(_not_negative)]
Growth = Annotated[DecimalText, AfterValidator(_above_minus_100)]
IndicatorKey = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Figure(Body):
    """One indicator of one city (or of the alliance) for one year; every part optional."""

    value: Value | None = Field(default=None, title="数值", description='e.g. "14515.9"')
    growth: Growth | None = Field(
        default=None, title="增速(%)", description='per cent on the year before, e.g. "3.6"'
    )
    rank: str = Field(default="", max_length=100, title="排名", description="e.g. 增速居全省首位")
    note: str = Field(default="", max_length=2000, title="备注")
    source: str = Field(default="", max_length=100, title="来源", description="e.g. 大众日报")

    def is_empty(self) -> bool:
        return self == Figure()


class Figures(Body):
    """A city's (or the alliance's) figures for one year: the body of every event here.

    The year and the city are in the object id (`indicators/371300/2020`), not repeated here."""

    figures: dict[IndicatorKey, Figure] = Field(default_factory=dict, max_length=32)
    note: str = Field(
        default="", max_length=2000, title="备注", description="on the year as a whole"
    )
    source: str = Field(default="", max_length=100, title="来源", description="of the note")


# --- apply ------------------------------------------------------------------------------------


def year_of(object_id: str) -> int | None:
    """The year an object id names (`indicators/371300/2020` → 2020), None if it names none."""
    local = ObjectId.parse(object_id).local
    if not (local.isascii() and local.isdigit() and len(local) == 4):
        return None
    year = int(local)
    return year if FIRST_YEAR <= year <= LAST_YEAR else None


def _year(ctx: Apply) -> int:
    year = year_of(ctx.object)
    if year is None:
        raise ctx.reject(
            "invalid-object", f"{ctx.object} must end in a year {FIRST_YEAR}–{LAST_YEAR}"
        )
    return year


def _write_figures(ctx: Apply, body: Figures) -> None:
    for key, figure in sorted(body.figures.items()):
        if figure.is_empty():
            continue
        ctx.insert(
            p_indicators_figures,
            set_id=ctx.object,
            indicator=key,
            value=figure.value,
            growth=figure.growth,
            rank=figure.rank,
            note=figure.note,
            source=figure.source,
        )


def _publish(ctx: Apply, body: Figures, scope: str, city: str | None) -> None:
    year = _year(ctx)
    ctx.insert(
        p_indicators_sets,
        id=ctx.object,
        scope=scope,
        city=city,
        year=year,
        note=body.note,
        source=body.source,
        published_time=ctx.event.time,
        revised_time=None,
    )
    _write_figures(ctx, body)


def apply_published(ctx: Apply, body: Figures) -> None:
    _publish(ctx, body, "city", ctx.origin)


def apply_alliance_published(ctx: Apply, body: Figures) -> None:
    # One alliance figure set per year, whichever chair made it: a later chair revises the
    # earlier chair's set. That set is in the chair's own log or was handed over with the chair
    # (the acceptance depends on the handover), so every node sees it here alike.
    year = _year(ctx)
    for other in ctx.conn.execute(
        p_indicators_sets.select().where(
            p_indicators_sets.c.scope == "alliance", p_indicators_sets.c.year == year
        )
    ):
        if ctx.object_row(other.id) is not None:
            raise ctx.reject("exists", f"{other.id} already holds the alliance's figures of {year}")
    _publish(ctx, body, "alliance", None)


def apply_revised(ctx: Apply, body: Figures) -> None:
    _year(ctx)  # a set that was published has a year; checked again all the same
    ctx.update(
        p_indicators_sets,
        {"id": ctx.object},
        note=body.note,
        source=body.source,
        revised_time=ctx.event.time,
    )
    ctx.delete(p_indicators_figures, set_id=ctx.object)
    _write_figures(ctx, body)


TYPES: list[EventType] = [
    EventType(
        "ind.figures.published",
        CITY_KIND,
        Figures,
        apply_published,
        creates=True,
        label="发布经济指标",
    ),
    EventType("ind.figures.revised", CITY_KIND, Figures, apply_revised, label="修订经济指标"),
    EventType(
        "ind.alliance.published",
        ALLIANCE_KIND,
        Figures,
        apply_alliance_published,
        scope=Scope.ALLIANCE,
        creates=True,
        label="发布经济圈指标",
    ),
    EventType(
        "ind.alliance.revised",
        ALLIANCE_KIND,
        Figures,
        apply_revised,
        scope=Scope.ALLIANCE,
        label="修订经济圈指标",
    ),
]
