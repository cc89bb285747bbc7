"""The alliance's working-day calendar (工作日历): each year's public holidays and the weekend
days worked instead, as the State Council's notice sets them, published by the chair city so
that every node computes the same deadlines.

events.py    the body of `calendar.year.published`, its checks and apply function
tables.py    the projection table of the published years (p_calendar_years)
queries.py   the known years (built in or published) and the merged calendar deadlines use
actions.py   the write: the chair city's administrator publishes a year
cli.py       `lunan calendar show|publish`
"""

from __future__ import annotations

from lunan.calendar import tables as tables  # registers the projection table
from lunan.calendar.events import TYPES as _TYPES
from lunan.events.registry import EventType

TYPES: list[EventType] = list(_TYPES)
