"""The projection engine: fold the events of every member log into the projection tables.

Each log is read in its own order; an event waits until every position in its `deps` has been
processed, then it is applied or rejected. Together with the owner rule (only the owner's log
changes an object; alliance-wide objects only the chair's) and `Apply.require` (another log's
objects are visible only as far as the deps reach), this makes the state a function of the logs'
contents, not of the order they arrived in: every node that has the same log prefixes has the
same state, byte for byte (tested by a property test over random interleavings).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    MetaData,
    Table,
    insert,
    inspect,
    select,
    update,
)

from lunan.crypto.canonical_json import canonical_json
from lunan.events import envelope
from lunan.events.context import Apply, ObjectRow, Objects, dumps
from lunan.events.registry import Registry, Rejected, Scope
from lunan.events.tables import (
    NOT_STATE,
    p_chairs,
    p_events,
    p_frontier,
    p_meta,
    p_positions,
    projection,
)
from lunan.log import bundles
from lunan.log.store import TreeStore
from lunan.storage.bulk import insert_rows

ENGINE_VERSION = "1"  # bump when apply semantics change: every node then rebuilds
CHUNK = 500  # events per transaction

Progress = Callable[[int, int], None]  # (processed so far, total known)


@dataclass(frozen=True)
class Outcome:
    origin: str
    idx: int
    status: str
    reason: str | None
    detail: str | None


class Projector:
    def __init__(
        self,
        engine: Engine,
        registry: Registry,
        alliance: str,
        logs: Mapping[str, int],
        first_chair: str,
        metadata: MetaData = projection,
    ) -> None:
        """`logs` maps each member's city code to the local id of its (replicated) log."""
        self.engine = engine
        self.registry = registry
        self.alliance = alliance
        self.logs = dict(logs)
        self.stores = {city: TreeStore(engine, log_id) for city, log_id in logs.items()}
        self.first_chair = first_chair
        self.metadata = metadata
        self.blocked: dict[str, tuple[str, int]] = {}  # origin -> the dep it waits for
        self._lock = threading.Lock()
        self._state_cache: tuple[bytes, str] | None = None

    # --- tables ---------------------------------------------------------------------------

    def fingerprint(self) -> str:
        """Changes whenever a projection table or the engine's semantics change."""
        parts = [ENGINE_VERSION, ",".join(sorted(self.logs)), self.first_chair]
        for table in sorted(self.metadata.tables.values(), key=lambda t: t.name):
            for c in table.columns:
                parts.append(f"{table.name}.{c.name}:{c.type}:{c.primary_key}:{c.nullable}")
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()

    def ensure(self) -> bool:
        """Create the tables; rebuild from scratch if they were made by other code or members.
        Returns True when the projections were (re)made empty."""
        with self._lock, self.engine.begin() as conn:
            if self._stored_fingerprint(conn) == self.fingerprint():
                return False
            self._recreate(conn)
            return True

    def _stored_fingerprint(self, conn: Connection) -> str | None:
        if not inspect(conn).has_table(p_meta.name):
            return None
        q = select(p_meta.c.value).where(p_meta.c.key == "fingerprint")
        return conn.execute(q).scalar()

    def _recreate(self, conn: Connection) -> None:
        existing = set(inspect(conn).get_table_names())
        stale = [t for t in existing if t.startswith("p_") and t not in self.metadata.tables]
        for name in stale:  # a projection table an older version had and this one has not
            Table(name, MetaData()).drop(conn)
        self.metadata.drop_all(conn)
        self.metadata.create_all(conn)
        conn.execute(insert(p_meta).values(key="fingerprint", value=self.fingerprint()))
        conn.execute(insert(p_chairs).values(city=self.first_chair))
        conn.execute(insert(p_positions), [{"origin": c, "next_index": 0} for c in self.logs])
        self.blocked.clear()
        self._state_cache = None

    def rebuild(self, progress: Progress | None = None) -> int:
        """Drop every projection and fold all logs again; returns the events processed."""
        with self._lock, self.engine.begin() as conn:
            self._recreate(conn)
        return self.catch_up(progress)

    # --- folding --------------------------------------------------------------------------

    def catch_up(self, progress: Progress | None = None) -> int:
        """Process every stored entry that can be processed now; returns how many."""
        with self._lock:
            done = 0
            while True:
                sizes = self.visible_sizes()
                with self.engine.begin() as conn:
                    n = _Fold(self, conn, sizes).run(CHUNK)
                done += n
                if progress is not None:
                    progress(done, sum(sizes.values()))
                if n == 0:
                    return done

    def visible_sizes(self) -> dict[str, int]:
        """How much of each log may be folded: everything verified and stored."""
        return {city: store.size() for city, store in self.stores.items()}

    # --- reading --------------------------------------------------------------------------

    def positions(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(p_positions))
            return {r.origin: r.next_index for r in rows}

    def outcome(self, origin: str, idx: int) -> Outcome | None:
        q = select(p_events).where(p_events.c.origin == origin, p_events.c.idx == idx)
        with self.engine.connect() as conn:
            r = conn.execute(q).first()
        return None if r is None else Outcome(origin, idx, r.status, r.reason, r.detail)

    def dump(self) -> bytes:
        """The canonical JSON of every projection table, rows in primary-key order."""
        tables: dict[str, list[dict[str, Any]]] = {}
        with self.engine.connect() as conn:
            for table in sorted(self.metadata.tables.values(), key=lambda t: t.name):
                if table.name in NOT_STATE:
                    continue
                q = select(table).order_by(*table.primary_key.columns)
                tables[table.name] = [
                    {k: _plain(v, table.name, k) for k, v in r._mapping.items()}
                    for r in conn.execute(q)
                ]
        return canonical_json({"alliance": self.alliance, "tables": tables})

    def state_hash(self) -> str:
        return hashlib.sha256(self.dump()).hexdigest()

    def state(self) -> dict[str, Any]:
        """The alliance state hash with the log positions it covers, for `/api/v1/status`:
        members that show the same positions must show the same hash."""
        with self._lock:
            positions = self.positions()
            key = canonical_json(positions)
            if self._state_cache is None or self._state_cache[0] != key:
                self._state_cache = (key, self.state_hash())
            return {
                "hash": self._state_cache[1],
                "positions": positions,
                "waiting": {o: f"{c}:{i}" for o, (c, i) in sorted(self.blocked.items())},
            }


def _plain(value: Any, table: str, column: str) -> Any:
    if isinstance(value, float | Decimal):
        raise TypeError(f"{table}.{column} holds a number with a fraction: store text")
    if isinstance(value, bytes):
        return value.hex()
    return value


_OUTCOME_COLUMNS = tuple(c.name for c in p_events.columns)  # _Fold._record's order


class _Fold:
    """One transaction's worth of folding."""

    def __init__(self, projector: Projector, conn: Connection, sizes: dict[str, int]) -> None:
        self.p = projector
        self.conn = conn
        self.sizes = sizes
        self.pos = {r.origin: r.next_index for r in conn.execute(select(p_positions))}
        self.pos_before = dict(self.pos)
        self.frontier: dict[str, dict[str, int]] = {}
        for r in conn.execute(select(p_frontier)):
            self.frontier.setdefault(r.origin, {})[r.dep_origin] = r.idx
        self.frontier_before = {o: dict(f) for o, f in self.frontier.items()}
        self.objects = Objects(conn)
        self.outcomes: list[tuple[str | int | None, ...]] = []

    def run(self, budget: int) -> int:
        done = 0
        moved = True
        while moved and done < budget:
            moved = False
            for origin in sorted(self.pos):
                n = self._fold_log(origin, budget - done)
                done += n
                moved = moved or n > 0
        self._save()
        return done

    def _fold_log(self, origin: str, budget: int) -> int:
        begin = self.pos[origin]
        end = min(self.sizes.get(origin, 0), begin + budget)
        if begin >= end:
            return 0
        done = 0
        held = bundles.entries(self.conn, self.p.logs[origin], begin, end)
        for idx, data in enumerate(held, begin):
            if not self._process(origin, idx, data):
                break
            self.pos[origin] = idx + 1
            done += 1
        return done

    def _process(self, origin: str, idx: int, data: bytes) -> bool:
        """Apply or reject the entry; False when it must wait for a dependency."""
        try:
            event = envelope.decode(data)
        except envelope.EnvelopeError as e:
            self._record(origin, idx, None, "rejected", Rejected("malformed", str(e)))
            return True
        try:
            self._check_deps(origin, idx, event)
        except _Wait as w:
            self.p.blocked[origin] = (w.city, w.idx)
            return False
        except Rejected as r:
            self._record(origin, idx, event, "rejected", r)
            return True
        self.p.blocked.pop(origin, None)
        frontier = self.frontier.setdefault(origin, {})
        for city, dep in event.deps:
            if city != origin and dep > frontier.get(city, -1):
                frontier[city] = dep
        try:
            self._apply(origin, idx, event, frontier)
        except Rejected as r:
            self._record(origin, idx, event, "rejected", r)
        else:
            self._record(origin, idx, event, "applied", None)
        return True

    def _check_deps(self, origin: str, idx: int, event: envelope.Event) -> None:
        for city, dep in event.deps:
            if city not in self.pos:
                raise Rejected("unknown-dependency", f"{city} is not a member of the alliance")
            if city == origin:
                if dep >= idx:
                    raise Rejected("bad-dependency", f"depends on {city}:{dep}, not yet written")
            elif self.pos[city] <= dep:
                raise _Wait(city, dep)

    def _apply(
        self, origin: str, idx: int, event: envelope.Event, frontier: dict[str, int]
    ) -> None:
        t = self.p.registry.get(event.type)
        if t is None:
            raise Rejected("unknown-type", f"no event type {event.type}")
        if event.alliance != self.p.alliance:
            raise Rejected("wrong-alliance", f"event of alliance {event.alliance!r}")
        if event.origin != origin:
            raise Rejected("wrong-origin", f"event of {event.origin} in the log of {origin}")
        oid = event.object_id
        if oid.kind != t.kind:
            raise Rejected("wrong-kind", f"{event.type} changes a {t.kind}, not {event.object}")
        body = t.parse_body(event.body)
        ctx = Apply(self.conn, event, idx, frontier, self.objects)
        self._check_owner(ctx, t.scope, t.creates, oid)
        row = self.objects.get(event.object)
        if t.creates and row is not None:
            raise Rejected("exists", f"{event.object} already exists")
        if not t.creates and (row is None or not ctx.covers(row.created_origin, row.created_idx)):
            raise Rejected("unknown-object", f"{event.object} does not exist")
        t.apply(ctx, body)
        if row is None:
            self.objects.create(ObjectRow(event.object, oid.kind, origin, idx, origin, idx, 1))
        else:
            self.objects.touch(row, origin, idx)

    @staticmethod
    def _check_owner(ctx: Apply, scope: Scope, creates: bool, oid: envelope.ObjectId) -> None:
        origin = ctx.origin
        if scope is Scope.ALLIANCE:
            if not ctx.is_chair(origin):
                raise Rejected(
                    "not-chair", f"{oid.kind} is alliance-wide: only the chair city changes it"
                )
            if creates and oid.city != origin:
                raise Rejected("not-owner", f"{origin} cannot create {oid} in another's name")
        elif oid.city != origin:
            raise Rejected("not-owner", f"{oid} belongs to {oid.city}; only its log changes it")

    def _record(
        self, origin: str, idx: int, event: envelope.Event | None, status: str, r: Rejected | None
    ) -> None:
        """Every entry's outcome, written with the chunk's others when it ends (nothing in a
        fold reads p_events)."""
        self.outcomes.append(
            (
                origin,
                idx,
                event.type if event else None,
                event.object if event else None,
                event.time if event else None,
                dumps(event.actor) if event else None,
                status,
                r.reason if r else None,
                r.detail if r else None,
            )
        )

    def _save(self) -> None:
        self.objects.flush()
        insert_rows(self.conn, p_events.name, _OUTCOME_COLUMNS, self.outcomes)
        for origin, n in self.pos.items():
            if n == self.pos_before[origin]:
                continue  # nothing moved: a reader's catch-up writes nothing
            self.conn.execute(
                update(p_positions).where(p_positions.c.origin == origin).values(next_index=n)
            )
        for origin, deps in self.frontier.items():
            before = self.frontier_before.get(origin, {})
            for city, idx in deps.items():
                if city not in before:
                    self.conn.execute(
                        insert(p_frontier).values(origin=origin, dep_origin=city, idx=idx)
                    )
                elif before[city] != idx:
                    self.conn.execute(
                        update(p_frontier)
                        .where(p_frontier.c.origin == origin, p_frontier.c.dep_origin == city)
                        .values(idx=idx)
                    )


class _Wait(Exception):
    def __init__(self, city: str, idx: int) -> None:
        super().__init__(f"waits for {city}:{idx}")
        self.city, self.idx = city, idx
