"""The projection of the published calendar years, rebuilt from the logs (no migrations).

One row per year: the latest publication for it. Calendars are alliance-wide, changed only by
the chair's log, and chair changes are ordered by the handover and its acceptance: so a later
publication (a correction, or a later chair's) always replaces an earlier one in the same order
on every node. The built-in years (lunan.sharing.workdays.BUILT_IN) are not stored here.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Integer, Table, Text

from lunan.events.tables import projection

p_calendar_years = Table(
    "p_calendar_years",
    projection,
    Column("year", Integer, primary_key=True, autoincrement=False),
    Column("object", Text, nullable=False),  # calendar/<chair>/<n>, the latest publication
    Column("holidays", Text, nullable=False),  # JSON ["2027-01-01", …], sorted
    Column("working_weekends", Text, nullable=False),  # JSON, sorted
    Column("source", Text, nullable=False),  # the notice, e.g. 国务院办公厅关于…的通知
    Column("origin", Text, nullable=False),  # the chair city that published it
    Column("idx", BigInteger, nullable=False),  # its position in that city's log
    Column("actor", Text, nullable=False),  # JSON, who published it (the event's actor)
    Column("time", Text, nullable=False),  # the event's time
    Column("revision", Integer, nullable=False),  # 1 for the first publication of the year
)
