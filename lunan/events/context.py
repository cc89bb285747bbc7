"""What an apply function sees: the event, a connection, and checks that reject.

Apply functions check first and write after: a rejection after a write is a bug and aborts
the whole batch (the engine does not rely on savepoints, which SQLite's Python driver mishandles).
Reads of another log's objects go through `require`, which only answers for objects the event's
own log had declared as seen (its deps): so the answer is the same on every node, whatever order
the logs arrive in.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import (
    ClauseElement,
    Connection,
    Delete,
    Engine,
    Insert,
    Row,
    Select,
    Table,
    Update,
    bindparam,
    insert,
    select,
    update,
)

from lunan.events.envelope import Event, ObjectId
from lunan.events.registry import Rejected
from lunan.events.tables import p_chairs, p_objects
from lunan.storage.bulk import insert_rows


# Statements built once per table and shape, values bound at execution: folding runs these for
# every event, and a statement built around literal values makes SQLAlchemy coerce each value
# and recompute the cache key every time — several times the cost of running it.
@cache
def insert_into(table: Table) -> Insert:
    return insert(table)


@cache
def select_by(table: Table, keys: tuple[str, ...]) -> Select[Any]:
    return select(table).where(*(table.c[k] == bindparam(f"k_{k}") for k in keys))


@cache
def update_by(table: Table, keys: tuple[str, ...], names: tuple[str, ...]) -> Update:
    where = [table.c[k] == bindparam(f"k_{k}") for k in keys]
    return update(table).where(*where).values({n: bindparam(f"v_{n}") for n in names})


@cache
def delete_by(table: Table, keys: tuple[str, ...]) -> Delete:
    return table.delete().where(*(table.c[k] == bindparam(f"k_{k}") for k in keys))


def _keyed(key: dict[str, Any]) -> dict[str, Any]:
    return {f"k_{k}": v for k, v in key.items()}


class ObjectRow(NamedTuple):
    """A row of p_objects: an object, which log created it where, and its last change."""

    id: str
    kind: str
    created_origin: str
    created_idx: int
    updated_origin: str
    updated_idx: int
    version: int


_OBJECT = select_by(p_objects, ("id",))
_TOUCH = (
    update(p_objects)
    .where(p_objects.c.id == bindparam("k_id"))
    .values(
        updated_origin=bindparam("v_origin"),
        updated_idx=bindparam("v_idx"),
        version=bindparam("v_version"),
    )
)


class Objects:
    """p_objects inside one folding transaction, each row read at most once: the engine makes
    every write to the table through here, so what is kept stays true until the commit. Events
    that refer to one object (every exchange record to its agreement) then cost no query, and
    the objects created are inserted together when the chunk ends (`flush`)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._rows: dict[str, ObjectRow | None] = {}
        self._created: dict[str, ObjectRow] = {}  # not inserted yet

    def get(self, object_id: str) -> ObjectRow | None:
        if object_id not in self._rows:
            r = self.conn.execute(_OBJECT, {"k_id": object_id}).first()
            self._rows[object_id] = None if r is None else ObjectRow(**r._mapping)
        return self._rows[object_id]

    def create(self, row: ObjectRow) -> None:
        self._rows[row.id] = self._created[row.id] = row

    def touch(self, row: ObjectRow, origin: str, idx: int) -> None:
        """Record that the event at origin:idx changed the object."""
        changed = row._replace(updated_origin=origin, updated_idx=idx, version=row.version + 1)
        self._rows[row.id] = changed
        if row.id in self._created:
            self._created[row.id] = changed
            return
        values = {"k_id": row.id, "v_origin": origin, "v_idx": idx, "v_version": changed.version}
        self.conn.execute(_TOUCH, values)

    def flush(self) -> None:
        insert_rows(self.conn, p_objects.name, ObjectRow._fields, list(self._created.values()))
        self._created.clear()


class Apply:
    def __init__(
        self, conn: Connection, event: Event, idx: int, frontier: dict[str, int], objects: Objects
    ) -> None:
        self.conn = conn
        self.objects = objects
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

    def object_row(self, object_id: str) -> ObjectRow | None:
        """The object if it exists and this event may know of it; None otherwise."""
        row = self.objects.get(object_id)
        if row is None or not self.covers(row.created_origin, row.created_idx):
            return None
        return row

    def require(self, object_id: str, kind: str | None = None) -> ObjectRow:
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
        row = self.conn.execute(select_by(p_chairs, ("city",)), {"k_city": city}).first()
        return row is not None and row.until_idx is None

    def row(self, table: Table, **key: Any) -> Row[Any] | None:
        return self.conn.execute(select_by(table, tuple(key)), _keyed(key)).first()

    # --- writes ---------------------------------------------------------------------------

    def insert(self, table: Table, **values: Any) -> None:
        self._wrote = True
        self.conn.execute(insert_into(table), values)

    def update(self, table: Table, key: dict[str, Any], **values: Any) -> None:
        self._wrote = True
        if any(isinstance(v, ClauseElement) for v in values.values()):  # e.g. n = n + 1
            q = update(table).where(*(table.c[k] == v for k, v in key.items())).values(**values)
            self.conn.execute(q)
            return
        params = {**_keyed(key), **{f"v_{n}": v for n, v in values.items()}}
        self.conn.execute(update_by(table, tuple(key), tuple(values)), params)

    def delete(self, table: Table, **key: Any) -> None:
        self._wrote = True
        self.conn.execute(delete_by(table, tuple(key)), _keyed(key))


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
