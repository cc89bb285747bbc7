"""Reading the indicators, and the alliance totals, computed when asked.

A total combines the figures of every member's log, so it is never stored (a stored total would
depend on the order the logs arrive in). It is computed here with Decimal and returned as text,
and only from what the cities published: a sum only when every member gave a value, a growth
only when every member gave value and growth; otherwise the total is null and says who is
missing. The alliance's own published figure (from the chair) is shown beside it, never mixed in.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import Connection, select

from lunan.events.tables import p_nodes, p_objects
from lunan.indicators.events import BY_KEY, INDICATORS, Figure, Figures, Indicator
from lunan.indicators.tables import p_indicators_figures, p_indicators_sets

GROWTH_PLACES = Decimal("0.01")  # computed growth, in per cent


class IndicatorInfo(BaseModel):
    key: str
    name: str
    english: str
    unit: str
    additive: bool = Field(description="whether the cities' values add up to the alliance's")

    @classmethod
    def of(cls, indicator: Indicator) -> IndicatorInfo:
        return cls(
            key=indicator.key,
            name=indicator.name,
            english=indicator.english,
            unit=indicator.unit,
            additive=indicator.additive,
        )


class FigureOut(Figure):
    indicator: str
    name: str
    unit: str


class FigureSet(BaseModel):
    id: str = Field(description="indicators/<city>/<year> or alliance-figures/<chair>/<year>")
    scope: str = Field(description="city | alliance")
    city: str | None = Field(description="null for the alliance's own figures")
    city_name: str | None
    year: int
    note: str
    source: str
    figures: list[FigureOut]
    published_time: str
    revised_time: str | None
    version: int = Field(description="1 when published, +1 per revision")

    def content(self) -> Figures:
        """What an event would carry to state this set again (for comparing and merging)."""
        return Figures(
            figures={
                f.indicator: Figure(
                    value=f.value, growth=f.growth, rank=f.rank, note=f.note, source=f.source
                )
                for f in self.figures
            },
            note=self.note,
            source=self.source,
        )


class IndicatorTotal(BaseModel):
    indicator: str
    name: str
    unit: str
    additive: bool
    sum: str | None = Field(description="sum of the members' values; null unless all gave one")
    growth: str | None = Field(
        description="growth of that sum in per cent, from each member's value and growth "
        "(weighted by the previous year's value each implies); null unless computable"
    )
    reported: list[str] = Field(description="members that published a value")
    missing: list[str] = Field(description="members that published no value")
    missing_growth: list[str] = Field(description="members that published no growth")
    explanation: str = Field(description="why sum or growth is null, zh-CN then English")
    published: FigureOut | None = Field(description="the alliance's own figure, from the chair")


class YearTotals(BaseModel):
    year: int
    members: list[str]
    alliance_set: str | None = Field(description="id of the alliance's own figures, if any")
    indicators: list[IndicatorTotal]


def indicator_infos() -> list[IndicatorInfo]:
    return [IndicatorInfo.of(i) for i in INDICATORS]


def city_names(conn: Connection) -> dict[str, str]:
    """Member city code → name, as the members' genesis entries give them."""
    return {r.city: r.name for r in conn.execute(select(p_nodes.c.city, p_nodes.c.name))}


# --- figure sets ------------------------------------------------------------------------------


def figure_sets(
    conn: Connection,
    *,
    scope: str = "city",
    year: int | None = None,
    city: str | None = None,
) -> list[FigureSet]:
    """Published figure sets of `scope` (city | alliance), by year then city."""
    q = (
        select(p_indicators_sets, p_objects.c.version)
        .join(p_objects, p_objects.c.id == p_indicators_sets.c.id)
        .where(p_indicators_sets.c.scope == scope)
        .order_by(p_indicators_sets.c.year, p_indicators_sets.c.city, p_indicators_sets.c.id)
    )
    if year is not None:
        q = q.where(p_indicators_sets.c.year == year)
    if city is not None:
        q = q.where(p_indicators_sets.c.city == city)
    rows = conn.execute(q).all()
    figures = _figures(conn, [r.id for r in rows])
    names = city_names(conn)
    return [_figure_set(r, figures.get(r.id, []), names) for r in rows]


def figure_set(conn: Connection, city: str, year: int) -> FigureSet | None:
    found = figure_sets(conn, year=year, city=city)
    return found[0] if found else None


def alliance_set(conn: Connection, year: int) -> FigureSet | None:
    """The alliance's own figures of `year` (one set per year, whichever chair made it)."""
    found = figure_sets(conn, scope="alliance", year=year)
    return found[0] if found else None


def years(conn: Connection) -> list[int]:
    q = select(p_indicators_sets.c.year).distinct().order_by(p_indicators_sets.c.year)
    return list(conn.execute(q).scalars())


def _figures(conn: Connection, set_ids: Sequence[str]) -> dict[str, list[FigureOut]]:
    if not set_ids:
        return {}
    q = select(p_indicators_figures).where(p_indicators_figures.c.set_id.in_(set_ids))
    found: dict[str, list[FigureOut]] = defaultdict(list)
    for r in conn.execute(q):
        found[r.set_id].append(_figure_out(r))
    return {k: sorted(v, key=_indicator_order) for k, v in found.items()}


def _indicator_order(f: FigureOut) -> tuple[int, str]:
    """The configured order; indicators no longer configured come last, by key."""
    keys = list(BY_KEY)
    return (keys.index(f.indicator), "") if f.indicator in BY_KEY else (len(keys), f.indicator)


def _figure_out(r: Any) -> FigureOut:
    known = BY_KEY.get(r.indicator)
    return FigureOut(
        indicator=r.indicator,
        name=known.name if known else r.indicator,
        unit=known.unit if known else "",
        value=r.value,
        growth=r.growth,
        rank=r.rank,
        note=r.note,
        source=r.source,
    )


def _figure_set(r: Any, figures: list[FigureOut], names: dict[str, str]) -> FigureSet:
    return FigureSet(
        id=r.id,
        scope=r.scope,
        city=r.city,
        city_name=names.get(r.city) if r.city else None,
        year=r.year,
        note=r.note,
        source=r.source,
        figures=figures,
        published_time=r.published_time,
        revised_time=r.revised_time,
        version=r.version,
    )


# --- totals -----------------------------------------------------------------------------------


def totals(conn: Connection, members: Iterable[str], year: int | None = None) -> list[YearTotals]:
    """The alliance totals of `year` (or of every year with figures), over `members`."""
    members = sorted(members)
    wanted = [year] if year is not None else years(conn)
    return [_year_totals(conn, members, y) for y in wanted]


def _year_totals(conn: Connection, members: list[str], year: int) -> YearTotals:
    by_city = {s.city: s for s in figure_sets(conn, year=year) if s.city in members}
    published = alliance_set(conn, year)
    published_figures = {f.indicator: f for f in published.figures} if published else {}
    names = city_names(conn)
    indicators = []
    for indicator in INDICATORS:
        figures = {
            city: f
            for city, s in by_city.items()
            for f in s.figures
            if f.indicator == indicator.key
        }
        indicators.append(
            total_of(indicator, members, figures, published_figures.get(indicator.key), names)
        )
    return YearTotals(
        year=year,
        members=members,
        alliance_set=published.id if published else None,
        indicators=indicators,
    )


def total_of(
    indicator: Indicator,
    members: list[str],
    figures: dict[str, FigureOut],
    published: FigureOut | None,
    names: dict[str, str],
) -> IndicatorTotal:
    """One indicator's total over `members`, from each member's figure (absent: none)."""
    values = {c: Decimal(f.value) for c, f in figures.items() if f.value is not None}
    growths = {c: Decimal(f.growth) for c, f in figures.items() if f.growth is not None}
    missing = [c for c in members if c not in values]
    missing_growth = [c for c in members if c not in growths]
    total: Decimal | None = None
    growth: Decimal | None = None
    if not indicator.additive:
        why = (
            "人均指标不能相加（需各市人口） per-capita figures do not add up "
            "(that needs each city's population)"
        )
    elif missing:
        who = "、".join(names.get(c, c) for c in missing)
        why = f"{who}未发布数值 no value from {', '.join(missing)}"
    else:
        total = sum((values[c] for c in members), Decimal(0))
        growth = _growth_of_sum({c: values[c] for c in members}, growths)
        if growth is None:
            who = "、".join(names.get(c, c) for c in missing_growth)
            why = (
                f"{who}未发布增速 no growth from {', '.join(missing_growth)}"
                if missing_growth
                else "上年合计为零，无法计算增速 the previous year's sum is zero"
            )
        else:
            why = ""
    return IndicatorTotal(
        indicator=indicator.key,
        name=indicator.name,
        unit=indicator.unit,
        additive=indicator.additive,
        sum=_text(total),
        growth=_text(growth.quantize(GROWTH_PLACES, ROUND_HALF_UP) if growth is not None else None),
        reported=sorted(values),
        missing=missing,
        missing_growth=missing_growth,
        explanation=why,
        published=published,
    )


def _growth_of_sum(values: dict[str, Decimal], growths: dict[str, Decimal]) -> Decimal | None:
    """How much the sum grew, in per cent: each value v with growth g stands for a previous
    year's v / (1 + g/100); the sum grew by (Σv / Σprevious − 1) × 100. That is the growth
    rates weighted by the previous year's values — exact for nominal figures, the usual
    approximation for growth at constant prices. None unless every member gave a growth."""
    if any(c not in growths for c in values):
        return None
    previous = sum((v / (1 + growths[c] / 100) for c, v in values.items()), Decimal(0))
    if previous == 0:
        return None
    return (sum(values.values(), Decimal(0)) / previous - 1) * 100


def _text(number: Decimal | None) -> str | None:
    if number is None:
        return None
    if number == 0:
        return "0"
    text = format(number, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text
