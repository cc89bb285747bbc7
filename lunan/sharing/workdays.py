"""Working days (工作日), for the deadline of a 有条件共享 request: the provider replies within
`DEADLINE_WORKING_DAYS` working days of receiving it (国发〔2016〕51号: 10).

A working day is Monday to Friday, except the public holidays below, plus the weekend days the
State Council's yearly notice (国务院办公厅关于××年部分节假日安排的通知) makes working days
(调休上班). Extend both sets when each year's notice is published; a year not listed counts
Monday to Friday only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

DEADLINE_WORKING_DAYS = 10


def _days(*spans: tuple[str, str]) -> frozenset[dt.date]:
    out: set[dt.date] = set()
    for first, last in spans:
        day, end = dt.date.fromisoformat(first), dt.date.fromisoformat(last)
        while day <= end:
            out.add(day)
            day += dt.timedelta(days=1)
    return frozenset(out)


# Public holidays (放假), from the State Council's notices for 2025 and 2026.
HOLIDAYS: frozenset[dt.date] = _days(
    ("2025-01-01", "2025-01-01"),
    ("2025-01-28", "2025-02-04"),
    ("2025-04-04", "2025-04-06"),
    ("2025-05-01", "2025-05-05"),
    ("2025-05-31", "2025-06-02"),
    ("2025-10-01", "2025-10-08"),
    ("2026-01-01", "2026-01-03"),
    ("2026-02-15", "2026-02-23"),
    ("2026-04-04", "2026-04-06"),
    ("2026-05-01", "2026-05-05"),
    ("2026-06-19", "2026-06-21"),
    ("2026-09-25", "2026-09-27"),
    ("2026-10-01", "2026-10-07"),
)

# Weekend days worked instead (调休上班).
WORKING_WEEKENDS: frozenset[dt.date] = frozenset(
    dt.date.fromisoformat(d)
    for d in (
        "2025-01-26",
        "2025-02-08",
        "2025-04-27",
        "2025-09-28",
        "2025-10-11",
        "2026-01-04",
        "2026-02-14",
        "2026-02-28",
        "2026-05-09",
        "2026-09-20",
        "2026-10-10",
    )
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
