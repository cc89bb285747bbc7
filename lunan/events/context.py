"""What an apply function sees: the event, a connection, and checks that reject.

Apply functions check first and write after: a rejection after a write is a bug and aborts
the whole batch (the engine does not rely on savepoints, which SQLite's Python driver mishandles).
Reads of another log's objects go through `require`, which only answers for objects the event's
own log had declared as seen (its deps): so the answer is the same on every node, whatever order
the logs arrive in.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, Engine, Row, Table, insert, select, update

from lunan.events.envelope import Event, ObjectId
from lunan.events.registry import Rejected
from lunan.events.tables import p_chairs, p_objects


class Apply:
    def __init__(self, conn: Connection, event: Event, idx: int, frontier: dict[str, int]) -> None:
        self.conn = conn
        self.event = event
        self.idx = idx
        self.frontier = frontier  # of the event's own log, its deps included
        self._wrote = False

    @property
    def origin(self) -> str:
        return self.event.origin

    @property
    def object(self) -> str:
        return self.event.object

    @property
    def position(self) -> str:
        """`origin:idx`, the event's place in the alliance."""
        return f"{self.event.origin}:{self.idx}"

    # --- checks: call before any write ----------------------------------------------------

    def reject(self, reason: str, detail: str) -> Rejected:
        if self._wrote:
            raise RuntimeError(f"apply of {self.event.type} rejected after writing: {detail}")
        return Rejected(reason, detail)

    def object_row(self, object_id: str) -> Row[Any] | None:
        """The object if it exists and this event may know of it; None otherwise."""
        row = self.conn.execute(select(p_objects).where(p_objects.c.id == object_id)).first()
        if row is None or not self.covers(row.created_origin, row.created_idx):
            return None
        return row

    def require(self, object_id: str, kind: str | None = None) -> Row[Any]:
        """An object this event refers to: it must exist, be of `kind`, and be covered."""
        try:
            oid = ObjectId.parse(object_id)
        except ValueError as e:
            raise self.reject("invalid-reference", str(e)) from e
        if kind is not None and oid.kind != kind:
            raise self.reject("invalid-reference", f"{object_id} is not a {kind}")
        row = self.object_row(object_id)
        if row is None:
            raise self.reject(
                "unknown-object",
                f"{object_id} does not exist in the events this one depends on (deps)",
            )
        return row

    def covers(self, origin: str, idx: int) -> bool:
        """Whether the event's log had seen position origin:idx when it wrote this event."""
        if origin == self.event.origin:
            return idx < self.idx
        return self.frontier.get(origin, -1) >= idx

    def is_chair(self, city: str) -> bool:
        row = self.conn.execute(select(p_chairs).where(p_chairs.c.city == city)).first()
        return row is not None and row.until_idx is None

    def row(self, table: Table, **key: Any) -> Row[Any] | None:
        q = select(table).where(*(table.c[k] == v for k, v in key.items()))
        return self.conn.execute(q).first()

    # --- writes ---------------------------------------------------------------------------

    def insert(self, table: Table, **values: Any) -> None:
        self._wrote = True
        self.conn.execute(insert(table).values(**values))

    def update(self, table: Table, key: dict[str, Any], **values: Any) -> None:
        self._wrote = True
        q = update(table).where(*(table.c[k] == v for k, v in key.items())).values(**values)
        self.conn.execute(q)

    def delete(self, table: Table, **key: Any) -> None:
        self._wrote = True
        self.conn.execute(table.delete().where(*(table.c[k] == v for k, v in key.items())))


def dumps(value: Any) -> str:
    """JSON for a text column: canonical, so that the state dump is the same everywhere."""
    from lunan.crypto.canonical_json import canonical_json

    return canonical_json(value).decode()


def loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def current_chair(db: Engine | Connection) -> str | None:
    """The city that holds the chair now, or None between a handover and its acceptance."""
    q = select(p_chairs.c.city).where(p_chairs.c.until_idx.is_(None))
    if isinstance(db, Connection):
        return db.execute(q).scalar()
    with db.connect() as conn:
        return conn.execute(q).scalar()
