"""Governance: bodies (领导小组, 工作专班), joint meetings (联席会议), agreements (协议), landed
projects (落地项目), and the chair's rotation (the handover events are core: lunan.events.core).

    models.py     the bodies of gov.* events, shared with the API and actions
    tables.py     the projection tables (p_gov_*)
    bodies.py meetings.py agreements.py projects.py   apply functions and event types
    actions.py    one function per write: checks rights and state, appends
    queries.py    what pages and the API read, incl. whether an agreement is in force
"""

from __future__ import annotations

from lunan.events.registry import EventType
from lunan.governance import agreements, bodies, meetings, projects, tables

__all__ = ["TYPES", "tables"]

TYPES: list[EventType] = [*bodies.TYPES, *meetings.TYPES, *agreements.TYPES, *projects.TYPES]
