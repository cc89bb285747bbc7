"""Working days (工作日), for the deadline of a 有条件共享 request: the provider replies within
`DEADLINE_WORKING_DAYS` working days of receiving it (国发〔2016〕51号: 10).

A working day is Monday to Friday, except the public holidays, plus the weekend days the State
Council's yearly notice (国务院办公厅关于××年部分节假日安排的通知) makes working days (调休上班).
The notices of 2025 and 2026 are built in below (`BUILT_IN`); later years the chair city
publishes as alliance data (the event `calendar.year.published`, lunan.calendar), and a
published year overrides a built-in one. A year that has neither counts Monday to Friday only:
a deadline that reaches into such a year is an estimate (`WorkCalendar.estimated`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property

DEADLINE_WORKING_DAYS = 10


def _days(*spans: tuple[str, str]) -> frozenset[dt.date]:
    out: set[dt.date] = set()
    for first, last in spans:
        day, end = dt.date.fromisoformat(first), dt.date.fromisoformat(last)
        while day <= end:
            out.add(day)
            day += dt.timedelta(days=1)
    return frozenset(out)


def _dates(*days: str) -> frozenset[dt.date]:
    return frozenset(dt.date.fromisoformat(d) for d in days)


@dataclass(frozen=True)
class YearDays:
    """One year's calendar: its public holidays (放假) and the weekend days worked instead
    (调休上班), with the notice they come from."""

    year: int
    holidays: frozenset[dt.date]
    working_weekends: frozenset[dt.date]
    source: str


# The State Council's notices for 2025 and 2026: the defaults every node has without any event.
BUILT_IN: dict[int, YearDays] = {
    2025: YearDays(
        2025,
        _days(
            ("2025-01-01", "2025-01-01"),
            ("2025-01-28", "2025-02-04"),
            ("2025-04-04", "2025-04-06"),
            ("2025-05-01", "2025-05-05"),
            ("2025-05-31", "2025-06-02"),
            ("2025-10-01", "2025-10-08"),
        ),
        _dates("2025-01-26", "2025-02-08", "2025-04-27", "2025-09-28", "2025-10-11"),
        "国务院办公厅关于2025年部分节假日安排的通知",
    ),
    2026: YearDays(
        2026,
        _days(
            ("2026-01-01", "2026-01-03"),
            ("2026-02-15", "2026-02-23"),
            ("2026-04-04", "2026-04-06"),
            ("2026-05-01", "2026-05-05"),
            ("2026-06-19", "2026-06-21"),
            ("2026-09-25", "2026-09-27"),
            ("2026-10-01", "2026-10-07"),
        ),
        _dates("2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10"),
        "国务院办公厅关于2026年部分节假日安排的通知",
    ),
}

# Public holidays (放假) and weekend days worked instead (调休上班) of the built-in years.
HOLIDAYS: frozenset[dt.date] = frozenset().union(*(y.holidays for y in BUILT_IN.values()))
WORKING_WEEKENDS: frozenset[dt.date] = frozenset().union(
    *(y.working_weekends for y in BUILT_IN.values())
)


def is_working_day(
    day: dt.date,
    holidays: Collection[dt.date] = HOLIDAYS,
    working_weekends: Collection[dt.date] = WORKING_WEEKENDS,
) -> bool:
    if day in holidays:
        return False
    return day.weekday() < 5 or day in working_weekends


def add_working_days(
    start: dt.date,
    n: int,
    holidays: Collection[dt.date] = HOLIDAYS,
    working_weekends: Collection[dt.date] = WORKING_WEEKENDS,
) -> dt.date:
    """The n-th working day after `start` (the day of receipt itself does not count)."""
    if n < 0:
        raise ValueError("n must be ≥ 0")
    day = start
    while n > 0:
        day += dt.timedelta(days=1)
        if is_working_day(day, holidays, working_weekends):
            n -= 1
    return day


def working_days_between(
    start: dt.date,
    end: dt.date,
    holidays: Collection[dt.date] = HOLIDAYS,
    working_weekends: Collection[dt.date] = WORKING_WEEKENDS,
) -> int:
    """Working days after `start` up to and including `end` (negative when end < start)."""
    if end < start:
        return -working_days_between(end, start, holidays, working_weekends)
    count, day = 0, start
    while day < end:
        day += dt.timedelta(days=1)
        count += is_working_day(day, holidays, working_weekends)
    return count


@dataclass(frozen=True)
class WorkCalendar:
    """The calendars of the years known (built in, or published: a published year replaces a
    built-in one), merged; any other year counts Monday to Friday only."""

    years: Mapping[int, YearDays]

    @classmethod
    def merged(cls, published: Iterable[YearDays] = ()) -> WorkCalendar:
        years = dict(BUILT_IN)
        years.update({y.year: y for y in published})
        return cls(dict(sorted(years.items())))

    @cached_property
    def holidays(self) -> frozenset[dt.date]:
        return frozenset().union(*(y.holidays for y in self.years.values()))

    @cached_property
    def working_weekends(self) -> frozenset[dt.date]:
        return frozenset().union(*(y.working_weekends for y in self.years.values()))

    def add_working_days(self, start: dt.date, n: int) -> dt.date:
        return add_working_days(start, n, self.holidays, self.working_weekends)

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        return working_days_between(start, end, self.holidays, self.working_weekends)

    def estimated(self, start: dt.date, end: dt.date) -> bool:
        """Whether counting from `start` (exclusive) to `end` crosses a year with no calendar,
        counted Monday to Friday only (按周一至周五估算)."""
        first, last = sorted((start + dt.timedelta(days=1), end))
        return any(y not in self.years for y in range(first.year, last.year + 1))
