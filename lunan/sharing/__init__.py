"""Government data sharing: catalog (共享目录), requests (共享申请), agreements (共享协议).

models.py        the bodies of sharing.* events, shared with the API and actions
tables.py        the projection tables (p_sharing_*)
catalog.py applications.py agreements.py   apply functions and event types
actions.py       one function per write: checks rights and state, appends
reactor.py       what the node does by itself: grant 无条件共享 requests, acknowledge grants
queries.py       what pages, the API and the exchange read (statuses, deadlines)
workdays.py      working days for the reply deadline
dcat.py          the catalog as DCAT-AP JSON-LD
"""

from __future__ import annotations

from lunan.events.registry import EventType
from lunan.sharing import agreements, applications, catalog, tables

__all__ = ["TYPES", "tables"]

TYPES: list[EventType] = [*catalog.TYPES, *applications.TYPES, *agreements.TYPES]
