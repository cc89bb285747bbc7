"""Economic indicators each city publishes per year, and the alliance's totals.

events.py    the indicator set, the figures' schema, event types and apply functions
tables.py    projection tables (figure sets, figures)
queries.py   reads, and the alliance totals computed at query time
actions.py   the writes: publish, revise, the alliance's figures, spreadsheet import
importer.py  CSV/XLSX: read with every bad cell reported, write in the same layout
cli.py       `lunan indicators import|export|show`
"""

from __future__ import annotations

from lunan.events.registry import EventType
from lunan.indicators import tables as tables  # registers the projection tables
from lunan.indicators.events import TYPES as _TYPES

TYPES: list[EventType] = list(_TYPES)
