"""The event types every alliance has: a node's genesis, and the chair's handover.

The chair rotates (联席会议制度, 轮值城市): at a term's end the chair appends a handover naming
the next chair, and the next chair an acceptance that lists the handover in its deps. From the
acceptance on, alliance-wide objects belong to the new chair; between the two, to nobody.
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from lunan.events.context import Apply
from lunan.events.registry import EventType
from lunan.events.tables import p_chairs, p_handovers, p_nodes

CITY = r"^\d{6}$"


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Genesis(Body):
    name: str
    url: str
    log: str
    vkey: str


def apply_genesis(ctx: Apply, body: Genesis) -> None:
    ctx.insert(
        p_nodes,
        city=ctx.origin,
        name=body.name,
        url=body.url,
        log=body.log,
        vkey=body.vkey,
        since=ctx.event.time,
    )


class Handover(Body):
    to: str = Field(pattern=CITY)
    term_start: date
    term_end: date
    note: str = Field(default="", max_length=2000)


def apply_handover(ctx: Apply, body: Handover) -> None:
    if not ctx.is_chair(ctx.origin):
        raise ctx.reject("not-chair", f"{ctx.origin} does not hold the chair")
    if body.to == ctx.origin:
        raise ctx.reject("invalid-body", "a chair hands over to another city")
    if body.term_end < body.term_start:
        raise ctx.reject("invalid-body", "term_end is before term_start")
    ctx.update(p_chairs, {"city": ctx.origin}, until_idx=ctx.idx, handed_to=body.to)
    ctx.insert(
        p_handovers,
        id=ctx.object,
        from_city=ctx.origin,
        to_city=body.to,
        term_start=body.term_start.isoformat(),
        term_end=body.term_end.isoformat(),
        note=body.note,
        time=ctx.event.time,
    )


class Acceptance(Body):
    handover: str


def apply_acceptance(ctx: Apply, body: Acceptance) -> None:
    ctx.require(body.handover, "handover")
    h = ctx.row(p_handovers, id=body.handover)
    if h is None or h.to_city != ctx.origin:
        raise ctx.reject("not-addressee", f"{body.handover} hands the chair to another city")
    if h.accepted_by is not None:
        raise ctx.reject("exists", f"{body.handover} was already accepted")
    ctx.update(
        p_handovers, {"id": body.handover}, accepted_by=ctx.origin, accepted_time=ctx.event.time
    )
    if ctx.row(p_chairs, city=ctx.origin) is None:
        ctx.insert(p_chairs, city=ctx.origin, since_origin=ctx.origin, since_idx=ctx.idx)
    else:  # a city chairing for a second time
        ctx.update(
            p_chairs,
            {"city": ctx.origin},
            since_origin=ctx.origin,
            since_idx=ctx.idx,
            until_idx=None,
            handed_to=None,
        )


TYPES = [
    EventType("node.genesis", "node", Genesis, apply_genesis, creates=True, label="节点创世"),
    EventType(
        "alliance.chair.handover",
        "handover",
        Handover,
        apply_handover,
        creates=True,
        label="轮值城市交接",
    ),
    EventType(
        "alliance.chair.accepted",
        "acceptance",
        Acceptance,
        apply_acceptance,
        creates=True,
        label="轮值城市接任",
    ),
]
