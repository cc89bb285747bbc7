"""总览 (overview): the member cities as a schematic tile layout, task progress by area, the
year's economic indicators with charts, and the next joint meeting.

No boundary map (DESIGN §5: a public map needs an approval number): the tiles sit roughly
west to east — 菏泽, 济宁, 枣庄 (south of the axis), 临沂 — and an alliance whose cities have
no place in `TILE_PLACES` gets its tiles in a row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from lunan.auth.roles import Permission
from lunan.coop import queries as coop
from lunan.events.context import current_chair
from lunan.exchange import queries as exchange
from lunan.governance import queries as gov
from lunan.indicators import queries as ind
from lunan.web.pages import render
from lunan.web.pages.chain import LogStatus, log_statuses
from lunan.web.pages.deps import SignedIn, needs
from lunan.web.pages.i18n import Translator

router = APIRouter(include_in_schema=False)

# (column, row) of each demo city on the schematic: west → east, 枣庄 a row lower (south).
TILE_PLACES = {"371700": (1, 1), "370800": (2, 1), "370400": (3, 2), "371300": (4, 1)}
INDICATOR_YEAR = 2020  # the year the source gives figures for (FACTS.md)
COLOURS = {"绿": "#2e7d32", "黄": "#e0a800", "红": "#c62828"}


@dataclass
class Tile:
    city: str
    name: str
    place: tuple[int, int] | None
    chair: bool
    own: bool
    lead: coop.Rollup
    partner: coop.Rollup
    log: LogStatus | None
    exchange: exchange.CityCounts | None = None  # its exchanges as provider and as requester


def tiles(request: Request, audit: exchange.Audit | None = None) -> list[Tile]:
    parts = render.parts_of(request)
    engine = parts.projector.engine
    names = render.city_names(parts)
    chair = current_chair(engine)
    rollups = {r.city: r for r in coop.rollup_by_city(engine)}
    statuses = {s.city: s for s in log_statuses(request)}
    volumes = {c.city: c for c in (audit or exchange.audit(engine)).by_city}
    placed = all(c in TILE_PLACES for c in names)
    out = []
    for city, name in names.items():
        rollup = rollups.get(city)
        empty = coop.Rollup(
            key=city, label=name, tasks=0, by_colour={}, by_status={}, mean_progress=None
        )
        out.append(
            Tile(
                city=city,
                name=name,
                place=TILE_PLACES[city] if placed else None,
                chair=city == chair,
                own=city == parts.config.city,
                lead=rollup.as_lead if rollup else empty,
                partner=rollup.as_partner if rollup else empty,
                log=statuses.get(city),
                exchange=volumes.get(city),
            )
        )
    if placed:  # west to east, so that a phone (one column) and a screen reader go that way too
        out.sort(key=lambda t: t.place or (0, 0))
    return out


def next_meeting(
    meetings: list[gov.MeetingView], today: date
) -> tuple[str, gov.MeetingView | None]:
    """The next planned joint meeting; else the latest one held."""
    planned = [m for m in meetings if m.status == "planned" and m.date >= today]
    if planned:
        return "next", min(planned, key=lambda m: m.date)
    past = [m for m in meetings if m.date <= today]
    return "last", max(past, key=lambda m: m.date) if past else None


def _bar_option(
    categories: list[str], series: list[dict[str, Any]], unit: str, horizontal: bool = False
) -> dict[str, Any]:
    stacked = any("stack" in s for s in series)
    """An ECharts bar chart; `series` name/data/colour already in the page's language."""
    value_axis = {"type": "value", "name": unit, "minInterval": 1 if unit != "%" else 0}
    category_axis = {"type": "category", "data": categories, "axisLabel": {"interval": 0}}
    return {
        "animation": False,
        "tooltip": {"trigger": "axis"},
        "legend": {"show": len(series) > 1, "top": 0},
        "grid": {"left": 8, "right": 16, "top": 32, "bottom": 8, "containLabel": True},
        "xAxis": value_axis if horizontal else category_axis,
        "yAxis": category_axis if horizontal else value_axis,
        "series": [
            {"type": "bar", "label": {"show": True, "position": "inside" if stacked else "top"}} | s
            for s in series
        ],
    }


def area_chart(areas: list[coop.Rollup], _: Translator) -> dict[str, Any]:
    shown = [a for a in areas if a.tasks]
    series = [
        {
            "name": _(colour),
            "stack": "tasks",
            "itemStyle": {"color": COLOURS[colour]},
            # An empty segment gets no bar and no "0" label.
            "data": [a.by_colour.get(colour) or None for a in shown],
        }
        for colour in ("绿", "黄", "红")
    ]
    option = _bar_option([_(a.label) for a in shown], series, _("件"), horizontal=True)
    option["yAxis"]["inverse"] = True
    return option


def indicator_charts(totals: ind.YearTotals | None, _: Translator) -> list[dict[str, Any]]:
    """Growth of each indicator (the alliance's figure, else the computed one), and each
    additive indicator's value by city when the cities published values."""
    if totals is None:
        return []
    charts = []
    growth: list[tuple[ind.IndicatorTotal, str]] = []
    for t in totals.indicators:
        g = t.published.growth if t.published and t.published.growth else t.growth
        if g is not None:
            growth.append((t, g))
    if growth:
        charts.append(
            {
                "id": "chart-growth",
                "title": _("{year}年主要指标增速（%）", year=totals.year),
                "option": _bar_option(
                    [_(t.name) for t, _g in growth],
                    [
                        {
                            "name": _("增速"),
                            "itemStyle": {"color": "#1f5fa8"},
                            "data": [float(g) for _t, g in growth],
                        }
                    ],
                    "%",
                ),
            }
        )
    return charts


def city_values(
    sets: list[ind.FigureSet], names: dict[str, str]
) -> dict[str, dict[str, ind.FigureOut]]:
    """indicator key → city → its figure."""
    out: dict[str, dict[str, ind.FigureOut]] = {}
    for s in sets:
        if s.city is None or s.city not in names:
            continue
        for f in s.figures:
            out.setdefault(f.indicator, {})[s.city] = f
    return out


def value_chart(
    totals: ind.YearTotals | None,
    values: dict[str, dict[str, ind.FigureOut]],
    names: dict[str, str],
    _: Translator,
) -> dict[str, Any] | None:
    if totals is None:
        return None
    additive = [
        t
        for t in totals.indicators
        if t.additive and any(f.value is not None for f in values.get(t.indicator, {}).values())
    ]
    if not additive:
        return None
    series = [
        {
            "name": _(name),
            "data": [
                float(f.value) if (f := values.get(t.indicator, {}).get(city)) and f.value else None
                for t in additive
            ],
        }
        for city, name in names.items()
    ]
    return {
        "id": "chart-values",
        "title": _("{year}年各市主要指标（亿元）", year=totals.year),
        "option": _bar_option([_(t.name) for t in additive], series, _("亿元")),
    }


@router.get("/", response_class=HTMLResponse)
def overview(
    request: Request,
    user: SignedIn,
    year: Annotated[str, Query(max_length=4)] = "",
) -> Response:
    if not user.can(Permission.READ) and user.can(Permission.TOURISM_CHECK):
        # A gate-only user (检票员) has one page: the ticket check, where sign-in leads it.
        return RedirectResponse("/sharing/tourism", status_code=303)
    needs(Permission.READ)(user)  # anyone else: the usual 403 page
    parts = render.parts_of(request)
    engine = parts.projector.engine
    translate = Translator(render.viewer_of(request).lang)
    names = render.city_names(parts)
    areas = coop.rollup_by_area(engine)
    with engine.connect() as conn:
        years = ind.years(conn)
        asked = int(year) if year.isdigit() else None
        chosen = asked if asked in years else (INDICATOR_YEAR if INDICATOR_YEAR in years else None)
        if chosen is None and years:
            chosen = years[-1]
        totals = ind.totals(conn, names, chosen)[0] if chosen is not None else None
        sets = ind.figure_sets(conn, year=chosen) if chosen is not None else []
    values = city_values(sets, names)
    charts = indicator_charts(totals, translate)
    by_city = value_chart(totals, values, names, translate)
    if by_city is not None:
        charts.append(by_city)
    when, meeting = next_meeting(gov.meetings(engine), render.today())
    exchanged = exchange.audit(engine)
    return render.render(
        request,
        "overview.html",
        {
            "active": "overview",
            "tiles": tiles(request, exchanged),
            "placed": all(c in TILE_PLACES for c in names),
            "alliance": coop.rollup_alliance(engine),
            "areas": areas,
            "area_chart": area_chart(areas, translate),
            "years": years,
            "year": chosen,
            "totals": totals,
            "values": values,
            "charts": charts,
            "meeting_when": when,
            "meeting": meeting,
            "chair_view": gov.chair(engine, parts.alliance),
            "exchange_total": exchanged.total,
        },
    )
