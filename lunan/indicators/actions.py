"""The writes of the indicators domain, one function each: check, append, return.

A city publishes and revises only its own figures, on its own node, by a user holding
`Permission.PUBLISH_INDICATORS`; the alliance's own figures only the current chair does.
Every refusal is raised before anything is appended, so a refused write changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lunan.auth.roles import Permission
from lunan.auth.users import User
from lunan.events.context import current_chair
from lunan.events.errors import Conflict, Forbidden, Invalid, NotFound
from lunan.indicators import queries
from lunan.indicators.events import (
    ALLIANCE_KIND,
    BY_KEY,
    CITY_KIND,
    FIRST_YEAR,
    LAST_YEAR,
    Figures,
)
from lunan.indicators.importer import Row, parse_rows
from lunan.services import NodeParts


@dataclass
class ImportResult:
    published: list[str] = field(default_factory=list)  # object ids of new figure sets
    revised: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    rows: int = 0


# --- checks -----------------------------------------------------------------------------------


def check_publisher(parts: NodeParts, user: User, city: str | None = None) -> str:
    """The city `user` may publish for (its own, on its own node); Forbidden otherwise."""
    if not user.can(Permission.PUBLISH_INDICATORS):
        raise Forbidden(
            f"用户 {user.name} 无权发布经济指标 user {user.name!r} ({user.role.value}) "
            "may not publish indicators"
        )
    own = parts.config.city
    if user.city != own:
        raise Forbidden(
            f"用户属于{user.city}，本节点属于{own} user of {user.city} on the node of {own}"
        )
    if city is not None and city != own:
        raise Forbidden(
            f"只能发布本市（{own}）的指标 a city publishes only its own figures, not {city}",
            field="city",
        )
    return own


def _check_year(year: int) -> None:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise Invalid(
            f"年份须在{FIRST_YEAR}–{LAST_YEAR}之间 year must be {FIRST_YEAR}–{LAST_YEAR}",
            field="year",
        )


def _cleaned(figures: Figures) -> Figures:
    """Known indicators only (Invalid naming the first unknown); empty figures dropped."""
    for key in figures.figures:
        if key not in BY_KEY:
            raise Invalid(
                f"未知指标 {key}，可选：{', '.join(BY_KEY)} unknown indicator {key!r}",
                field=f"figures.{key}",
            )
    kept = {k: f for k, f in figures.figures.items() if not f.is_empty()}
    return figures.model_copy(update={"figures": kept})


# --- a city's figures -------------------------------------------------------------------------


def publish_figures(
    parts: NodeParts, user: User, year: int, figures: Figures, city: str | None = None
) -> str:
    """Publish the figures of `year` for the user's city; returns `indicators/<city>/<year>`."""
    city = check_publisher(parts, user, city)
    _check_year(year)
    figures = _cleaned(figures)
    with parts.writer.lock:
        with parts.projector.engine.connect() as conn:
            existing = queries.figure_set(conn, city, year)
        if existing is not None:
            raise Conflict(
                f"{year}年指标已发布，请修订 the figures of {year} exist: revise {existing.id}"
            )
        object_id = f"{CITY_KIND}/{city}/{year}"
        parts.writer.append("ind.figures.published", object_id, figures, user.actor())
    return object_id


def revise_figures(
    parts: NodeParts, user: User, city: str, year: int, figures: Figures
) -> tuple[str, bool]:
    """Replace the published figures of `year` with `figures`; returns the id and whether
    anything changed (no event is written for a revision that changes nothing)."""
    city = check_publisher(parts, user, city)
    _check_year(year)
    figures = _cleaned(figures)
    with parts.writer.lock:
        with parts.projector.engine.connect() as conn:
            existing = queries.figure_set(conn, city, year)
        if existing is None:
            raise NotFound(f"{year}年指标尚未发布 no figures of {city} for {year} yet: publish")
        if existing.content() == figures:
            return existing.id, False
        parts.writer.append("ind.figures.revised", existing.id, figures, user.actor())
    return existing.id, True


# --- the alliance's own figures ---------------------------------------------------------------


def put_alliance_figures(
    parts: NodeParts, user: User, year: int, figures: Figures
) -> tuple[str, str]:
    """Publish or replace the alliance's figures of `year` (the chair only); returns the id
    and what happened: published | revised | unchanged."""
    city = check_publisher(parts, user)
    _check_year(year)
    figures = _cleaned(figures)
    with parts.writer.lock:
        chair = current_chair(parts.projector.engine)
        if chair != city:
            raise Forbidden(
                f"经济圈指标由轮值城市（{chair}）发布 only the chair city ({chair}) publishes "
                "the alliance's figures"
            )
        with parts.projector.engine.connect() as conn:
            existing = queries.alliance_set(conn, year)
        if existing is None:
            object_id = f"{ALLIANCE_KIND}/{city}/{year}"
            parts.writer.append("ind.alliance.published", object_id, figures, user.actor())
            return object_id, "published"
        if existing.content() == figures:
            return existing.id, "unchanged"
        parts.writer.append("ind.alliance.revised", existing.id, figures, user.actor())
    return existing.id, "revised"


# --- spreadsheets -----------------------------------------------------------------------------


def import_figures(
    parts: NodeParts, user: User, data: bytes, year: int | None = None
) -> ImportResult:
    """Import a CSV or XLSX file of the user's city (layout: lunan.indicators.importer).

    All or nothing: importer.ImportErrors lists every bad cell and nothing is stored. Each row
    replaces one figure of one year (a row whose cells are all empty clears it); figures the
    file does not mention are kept. A year not yet published is published, others revised."""
    city = check_publisher(parts, user)
    if year is not None:
        _check_year(year)
    with parts.writer.lock:
        with parts.projector.engine.connect() as conn:
            names = queries.city_names(conn)
            rows = parse_rows(data, own_city=city, members=names, year=year)
            current = {y: queries.figure_set(conn, city, y) for y in sorted({r.year for r in rows})}
        result = ImportResult(rows=len(rows))
        for y, existing in current.items():
            merged = _merge(existing.content() if existing else Figures(), rows, y)
            object_id = f"{CITY_KIND}/{city}/{y}"
            if existing is None:
                parts.writer.append("ind.figures.published", object_id, merged, user.actor())
                result.published.append(object_id)
            elif merged != existing.content():
                parts.writer.append("ind.figures.revised", object_id, merged, user.actor())
                result.revised.append(object_id)
            else:
                result.unchanged.append(object_id)
    return result


def _merge(base: Figures, rows: list[Row], year: int) -> Figures:
    figures = dict(base.figures)
    note, source = base.note, base.source
    for row in rows:
        if row.year != year:
            continue
        if row.indicator is None:
            note, source = row.figure.note, row.figure.source
        elif row.figure.is_empty():
            figures.pop(row.indicator, None)
        else:
            figures[row.indicator] = row.figure
    return Figures(figures=figures, note=note, source=source)
