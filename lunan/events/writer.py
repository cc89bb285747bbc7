"""The one append path for this node's events: build, check, append, fold, report.

Domain actions (one function per write, in each domain's `actions.py`) check the user's rights
and the request against the current projections, then call `Writer.append`. Appends are
serialised per node, so the checks and the append see the same state and numbers taken with
`next_number` are never taken twice.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select

from lunan.clock import now_shanghai
from lunan.events import envelope
from lunan.events.engine import Projector
from lunan.events.registry import Rejected
from lunan.events.tables import p_objects
from lunan.log import Log
from lunan.log.log import AlsoWrite


@dataclass(frozen=True)
class Appended:
    origin: str
    idx: int
    object: str

    @property
    def position(self) -> str:
        return f"{self.origin}:{self.idx}"


class Writer:
    def __init__(self, log: Log, projector: Projector, city: str, alliance: str) -> None:
        self.log = log
        self.projector = projector
        self.city = city
        self.alliance = alliance
        self.lock = threading.RLock()

    def append(
        self,
        type_name: str,
        object_id: str,
        body: BaseModel | dict[str, Any],
        actor: dict[str, Any],
        deps: Iterable[tuple[str, int]] = (),
        exclusive: bool = True,
        also: AlsoWrite | None = None,
    ) -> Appended:
        """Append one event and fold it in; Rejected if the projection refused it.

        `exclusive=False` is for records whose validity no concurrent write can change (an
        exchange record with its own unique id): no write lock, so concurrent records share one
        group commit, and no fold on the caller's path — the node's next catch-up (its
        background loop, or any exclusive write) folds it, so its outcome is not checked here.
        `also` writes node-local rows in the same commit as the event (Log.append).
        """
        t = self.projector.registry.get(type_name)
        if t is None:
            raise ValueError(f"no event type {type_name}")
        raw = body.model_dump(mode="json") if isinstance(body, BaseModel) else body
        t.parse_body(raw)  # a bad body never reaches the log
        event = envelope.Event(
            type=type_name,
            alliance=self.alliance,
            origin=self.city,
            time=now_shanghai(),
            actor=actor,
            object=object_id,
            deps=tuple(sorted(set(deps))),
            body=raw,
        )
        data = envelope.encode(event)
        if not exclusive:
            return Appended(self.city, self.log.append([data], also), object_id)
        with self.lock:
            idx = self.log.append([data], also)
            self.projector.catch_up()
        outcome = self.projector.outcome(self.city, idx)
        if outcome is None:
            raise RuntimeError(f"event {self.city}:{idx} was appended but not folded in")
        if outcome.status != "applied":
            raise Rejected(outcome.reason or "rejected", outcome.detail or "")
        return Appended(self.city, idx, object_id)

    def next_id(self, kind: str) -> str:
        """A fresh object id `kind/<this city>/<n>`, n one above the highest so far."""
        prefix = f"{kind}/{self.city}/"
        q = select(p_objects.c.id).where(p_objects.c.id.startswith(prefix, autoescape=True))
        with self.projector.engine.connect() as conn:
            numbers = [
                int(i[len(prefix) :]) for (i,) in conn.execute(q) if i[len(prefix) :].isdigit()
            ]
        return f"{prefix}{max(numbers, default=0) + 1}"

    def deps_for(self, *object_ids: str) -> list[tuple[str, int]]:
        """The positions that make `object_ids` visible to an event of this node: for each
        object created in another log, the event that created it."""
        if not object_ids:
            return []
        q = select(p_objects.c.created_origin, p_objects.c.created_idx).where(
            p_objects.c.id.in_(object_ids), p_objects.c.created_origin != self.city
        )
        with self.projector.engine.connect() as conn:
            return [(o, i) for o, i in conn.execute(q)]
