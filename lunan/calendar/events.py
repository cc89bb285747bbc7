"""The calendar as events: `calendar.year.published`, the chair city's publication of one year's
working-day calendar (the State Council's notice: holidays and 调休 working weekends).

The object is `calendar/<chair>/<n>`, one per publication (alliance-wide: only the current chair
writes it, the owner rule, else `not-chair`). A later publication for the same year replaces the
earlier one — a correction, or a later chair's — in the projection `p_calendar_years`; the
engine folds the chair's log in order and a new chair's events only after its acceptance of the
handover, so every node replaces in the same order.

The body is checked here, field by field, so that the API, the CLI and the fold refuse the same
things (the fold as `invalid-body`): dates in ISO form (YYYY-MM-DD) inside the year, each listed
once, at least one holiday, working weekends only on Saturdays and Sundays, no day in both lists.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo, field_validator

from lunan.calendar.tables import p_calendar_years
from lunan.events.context import Apply, dumps
from lunan.events.registry import EventType, Scope

KIND = "calendar"
PUBLISHED = "calendar.year.published"
FIRST_YEAR, LAST_YEAR = 2000, 2100
MAX_HOLIDAYS, MAX_WORKING_WEEKENDS = 120, 60

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "…"


def _iso_date(value: object) -> object:
    """A date given as the text YYYY-MM-DD (JSON has no dates; no timestamps, no other forms)."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if not isinstance(value, str) or not _ISO_DATE.match(value):
        raise ValueError(
            f"日期须为 YYYY-MM-DD 格式，如 2027-01-01 a date is YYYY-MM-DD, not {_shown(value)}"
        )
    try:
        return dt.date.fromisoformat(value)
    except ValueError as e:
        raise ValueError(f"{value} 不是有效日期 {value} is not a date") from e


IsoDate = Annotated[dt.date, BeforeValidator(_iso_date)]


def _in_year(days: tuple[dt.date, ...], info: ValidationInfo) -> tuple[dt.date, ...]:
    """The days sorted; each inside the body's year and listed once."""
    year = info.data.get("year")
    seen: set[dt.date] = set()
    for i, day in enumerate(days):
        if year is not None and day.year != year:
            raise ValueError(
                f"第{i + 1}项 {day} 不在{year}年内 item {i + 1}, {day}, is not in {year}"
            )
        if day in seen:
            raise ValueError(f"{day} 重复 {day} is listed twice")
        seen.add(day)
    return tuple(sorted(days))


class YearCalendar(BaseModel):
    """One year's calendar: the body of `calendar.year.published` and of the publish file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    year: int = Field(title="年份", description=f"{FIRST_YEAR}–{LAST_YEAR}, e.g. 2027")
    holidays: tuple[IsoDate, ...] = Field(
        max_length=MAX_HOLIDAYS,
        title="放假日期",
        description="every day off (放假), weekends within a holiday included; at least one",
    )
    working_weekends: tuple[IsoDate, ...] = Field(
        default=(),
        max_length=MAX_WORKING_WEEKENDS,
        title="调休上班日期",
        description="Saturdays and Sundays worked instead (调休上班)",
    )
    source: str = Field(
        min_length=1,
        max_length=500,
        title="依据",
        description="the notice, e.g. 国务院办公厅关于2027年部分节假日安排的通知",
    )

    @field_validator("year")
    @classmethod
    def _year(cls, year: int) -> int:
        if not FIRST_YEAR <= year <= LAST_YEAR:
            raise ValueError(
                f"年份须在{FIRST_YEAR}–{LAST_YEAR}之间 the year must be {FIRST_YEAR}–{LAST_YEAR}"
            )
        return year

    @field_validator("holidays")
    @classmethod
    def _holidays(cls, days: tuple[dt.date, ...], info: ValidationInfo) -> tuple[dt.date, ...]:
        if not days:
            raise ValueError("至少列出一个放假日期 list at least one holiday")
        return _in_year(days, info)

    @field_validator("working_weekends")
    @classmethod
    def _working_weekends(
        cls, days: tuple[dt.date, ...], info: ValidationInfo
    ) -> tuple[dt.date, ...]:
        days = _in_year(days, info)
        holidays = set(info.data.get("holidays") or ())
        for day in days:
            if day.weekday() < 5:
                raise ValueError(
                    f"{day} 不是周六或周日：调休上班只列周末 {day} is not a Saturday or Sunday: "
                    "list only weekend days worked instead"
                )
            if day in holidays:
                raise ValueError(
                    f"{day} 同时列为放假和调休上班 {day} is both a holiday and a working weekend"
                )
        return days

    @field_validator("source")
    @classmethod
    def _source(cls, text: str) -> str:
        if not text.strip():
            raise ValueError("请填写依据（通知名称） name the notice the calendar comes from")
        return text.strip()


def iso_list(days: tuple[dt.date, ...]) -> str:
    return dumps([d.isoformat() for d in days])


def apply_published(ctx: Apply, body: YearCalendar) -> None:
    row = ctx.row(p_calendar_years, year=body.year)
    values = {
        "object": ctx.object,
        "holidays": iso_list(body.holidays),
        "working_weekends": iso_list(body.working_weekends),
        "source": body.source,
        "origin": ctx.origin,
        "idx": ctx.idx,
        "actor": dumps(ctx.event.actor),
        "time": ctx.event.time,
    }
    if row is None:
        ctx.insert(p_calendar_years, year=body.year, revision=1, **values)
    else:
        ctx.update(p_calendar_years, {"year": body.year}, revision=row.revision + 1, **values)


TYPES: list[EventType] = [
    EventType(
        PUBLISHED,
        KIND,
        YearCalendar,
        apply_published,
        scope=Scope.ALLIANCE,
        creates=True,
        label="发布工作日历",
    ),
]
