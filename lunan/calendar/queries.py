"""What deadlines, the API, the pages and the CLI read of the calendar: the known years, built in
(lunan.sharing.workdays.BUILT_IN) or published by the chair (p_calendar_years), and the merged
calendar in which a published year overrides a built-in one."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from contextlib import AbstractContextManager, nullcontext
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy import Connection, Engine, select

from lunan.calendar.tables import p_calendar_years
from lunan.events.context import loads
from lunan.events.tables import p_nodes
from lunan.sharing.workdays import BUILT_IN, WorkCalendar, YearDays

Origin = Literal["built-in", "published"]


class YearView(BaseModel):
    """One known year of the calendar and where it comes from."""

    year: int
    origin: Origin = Field(description="built-in (in the code) or published (by the chair)")
    holidays: list[dt.date]
    working_weekends: list[dt.date]
    source: str = Field(description="the notice the days come from")
    replaces_built_in: bool = Field(description="a publication for a year also built in")
    object: str | None = Field(description="calendar/<chair>/<n>: the publication in force")
    published_by: str | None = Field(description="the chair city that published it")
    published_by_name: str | None
    actor: dict[str, Any] | None = Field(description="who published it, as the event records")
    published_at: str | None
    event: str | None = Field(description="<city>:<index> of the event in force")
    revision: int = Field(description="publications of this year so far; 0 when built in")


def _rows(conn: Connection, year: int | None = None) -> list[Any]:
    q = select(p_calendar_years).order_by(p_calendar_years.c.year)
    if year is not None:
        q = q.where(p_calendar_years.c.year == year)
    return list(conn.execute(q))


def _days(text: str) -> frozenset[dt.date]:
    return frozenset(dt.date.fromisoformat(d) for d in loads(text))


def _year_days(row: Any) -> YearDays:
    return YearDays(row.year, _days(row.holidays), _days(row.working_weekends), row.source)


def _connected(db: Engine | Connection) -> AbstractContextManager[Connection]:
    return db.connect() if isinstance(db, Engine) else nullcontext(db)


def published(db: Engine | Connection) -> list[YearDays]:
    """The years the chair has published, each as its latest publication has it."""
    with _connected(db) as conn:
        return [_year_days(r) for r in _rows(conn)]


def work_calendar(db: Engine | Connection) -> WorkCalendar:
    """The calendar deadlines are counted in: built-in years, overridden by published ones."""
    return WorkCalendar.merged(published(db))


def years(db: Engine | Connection, year: int | None = None) -> list[YearView]:
    """Every known year (or only `year`, if known), oldest first."""
    with _connected(db) as conn:
        rows = {r.year: r for r in _rows(conn, year)}
        names = {r.city: r.name for r in conn.execute(select(p_nodes.c.city, p_nodes.c.name))}
    views: list[YearView] = []
    for y in sorted(set(rows) | set(BUILT_IN)):
        if year is not None and y != year:
            continue
        row = rows.get(y)
        if row is None:
            days = BUILT_IN[y]
            views.append(
                YearView(
                    year=y,
                    origin="built-in",
                    holidays=sorted(days.holidays),
                    working_weekends=sorted(days.working_weekends),
                    source=days.source,
                    replaces_built_in=False,
                    object=None,
                    published_by=None,
                    published_by_name=None,
                    actor=None,
                    published_at=None,
                    event=None,
                    revision=0,
                )
            )
            continue
        days = _year_days(row)
        views.append(
            YearView(
                year=y,
                origin="published",
                holidays=sorted(days.holidays),
                working_weekends=sorted(days.working_weekends),
                source=row.source,
                replaces_built_in=y in BUILT_IN,
                object=row.object,
                published_by=row.origin,
                published_by_name=names.get(row.origin, row.origin),
                actor=loads(row.actor),
                published_at=row.time,
                event=f"{row.origin}:{row.idx}",
                revision=row.revision,
            )
        )
    return views


def spans(days: Iterable[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """Consecutive days as (first, last) runs: for people reading a year at a glance."""
    runs: list[tuple[dt.date, dt.date]] = []
    for day in sorted(days):
        if runs and day - runs[-1][1] == dt.timedelta(days=1):
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def spans_text(days: Iterable[dt.date]) -> str:
    """'2027-01-01, 2027-02-05~2027-02-11': each run of days once."""
    return ", ".join(
        str(first) if first == last else f"{first}~{last}" for first, last in spans(days)
    )
