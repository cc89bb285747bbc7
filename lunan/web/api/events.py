"""The alliance's events as this node has folded them: outcomes, content, proofs, state hash.

Public like the log itself: everything here is already in the logs, which hold no private data.
"""

from __future__ import annotations

import base64
import json
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel
from sqlalchemy import select

from lunan.events.context import loads
from lunan.events.engine import Projector
from lunan.events.tables import p_events
from lunan.log.evidence import entry_evidence
from lunan.web.problems import Problem

router = APIRouter(prefix="/api/v1", tags=["events"])

City = Annotated[str, Path(pattern=r"^\d{6}$")]


class EventRow(BaseModel):
    origin: str
    index: int
    type: str | None
    object: str | None
    time: str | None
    actor: dict[str, Any] | None
    status: str  # applied | rejected
    reason: str | None
    detail: str | None


class EventList(BaseModel):
    events: list[EventRow]


class Proof(BaseModel):
    log: str
    size: int
    checkpoint: str
    leaf_hash: str
    proof: list[str]
    verified: bool
    problem: str | None


class EventDetail(BaseModel):
    outcome: EventRow | None  # None while the event waits for its deps
    event: dict[str, Any] | None  # None when the entry is not JSON
    entry: str  # the exact bytes, base64
    proof: Proof


class State(BaseModel):
    hash: str
    positions: dict[str, int]
    waiting: dict[str, str]


def _projector(request: Request) -> Projector:
    projector: Projector = request.app.state.parts.projector
    return projector


def _row(r: Any) -> EventRow:
    return EventRow(
        origin=r.origin,
        index=r.idx,
        type=r.type,
        object=r.object,
        time=r.time,
        actor=loads(r.actor),
        status=r.status,
        reason=r.reason,
        detail=r.detail,
    )


@router.get("/events")
def list_events(
    request: Request,
    origin: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None,
    status: Annotated[str | None, Query(pattern="^(applied|rejected)$")] = None,
    type: Annotated[str | None, Query(max_length=100)] = None,
    object: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> EventList:
    """Processed events, newest first; `status=rejected` lists what the rules refused."""
    q = select(p_events).order_by(p_events.c.time.desc(), p_events.c.origin, p_events.c.idx.desc())
    for column, value in (
        ("origin", origin),
        ("status", status),
        ("type", type),
        ("object", object),
    ):
        if value is not None:
            q = q.where(p_events.c[column] == value)
    with _projector(request).engine.connect() as conn:
        return EventList(events=[_row(r) for r in conn.execute(q.limit(limit))])


@router.get("/events/{city}/{index}")
def get_event(request: Request, city: City, index: Annotated[int, Path(ge=0)]) -> EventDetail:
    """One event: its content, what the rules made of it, and its inclusion proof, checked."""
    projector = _projector(request)
    log_id = projector.logs.get(city)
    evidence = None if log_id is None else entry_evidence(projector.engine, log_id, index)
    if evidence is None:
        raise Problem(
            404,
            "no-such-event",
            "无此事件 No such event",
            f"this node stores no entry {index} in a signed checkpoint of {city}'s log",
        )
    q = select(p_events).where(p_events.c.origin == city, p_events.c.idx == index)
    with projector.engine.connect() as conn:
        outcome = conn.execute(q).first()
    try:
        content = json.loads(evidence.entry)
    except ValueError:
        content = None
    return EventDetail(
        outcome=None if outcome is None else _row(outcome),
        event=content if isinstance(content, dict) else None,
        entry=base64.b64encode(evidence.entry).decode(),
        proof=Proof(
            log=evidence.origin,
            size=evidence.size,
            checkpoint=evidence.checkpoint,
            leaf_hash=base64.b64encode(evidence.leaf_hash).decode(),
            proof=[base64.b64encode(p).decode() for p in evidence.proof],
            verified=evidence.verified,
            problem=evidence.problem,
        ),
    )


@router.get("/state")
def state(request: Request) -> State:
    """The alliance state hash and the log positions it covers: members showing the same
    positions must show the same hash (`lunan state --hash` prints it too)."""
    return State(**_projector(request).state())
