"""The task ledger (台账): tasks, progress reports, supervision, roll-ups, spreadsheets.

models.py       what a task, a report, a notice, a request and the rules hold
tables.py       the projection tables (stored facts only)
events.py       the event types and how each is folded in
actions.py      the writes: one function per write, checked before appending
supervision.py  expected progress, colours and colour history: pure functions
queries.py      what pages and the API read: tasks with progress, status, colour; roll-ups
"""

from __future__ import annotations

from lunan.coop import tables  # noqa: F401  (registers the projection tables)
from lunan.coop.events import TYPES

__all__ = ["TYPES"]
