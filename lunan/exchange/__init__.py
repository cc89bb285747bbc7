"""The data exchange between nodes (DESIGN §3.5): protocol, adapters, logging and audit.

events.py    exchange.served / .denied / .received: metadata and digests, never data
tables.py    their projection tables
protocol.py  the wire format: request body, digests, problem types, JSON encoding
adapters.py  where a service's data comes from: an imported table, SQL, an HTTP upstream
importer.py  `lunan data import`: a CSV/XLSX file checked cell by cell into a table
nonces.py    node-local nonces, and the salt that makes end users pseudonymous
server.py    the provider's side: every check, the fetch, the record
client.py    the requester's side: `call(...)`
queries.py   audit and per-exchange records, computed from the logs at query time
actions.py   import and configure, with the user's rights checked
cli.py       `lunan data import|configure`, `lunan exchange call`
"""

from __future__ import annotations

from lunan.events.registry import EventType
from lunan.exchange import tables as tables  # registers the projection tables
from lunan.exchange.events import TYPES as _TYPES

TYPES: list[EventType] = list(_TYPES)
