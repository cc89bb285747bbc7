"""联盟账本 (the alliance ledger): each member's log as this node holds it, any event with its
inclusion proof checked, fork evidence, and the events the rules refused.

Public like the logs themselves (the JSON under /api/v1/events is too): no sign-in needed.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import Engine, func, select

from lunan.events.context import loads
from lunan.events.tables import p_events, p_positions
from lunan.federation import cosigned
from lunan.federation.alerts import ALL, Alert, list_alerts
from lunan.federation.follower import FORK
from lunan.federation.runtime import Federation
from lunan.log.evidence import entry_evidence
from lunan.log.store import TreeStore
from lunan.services import NodeParts
from lunan.storage.schema import cosignatures, logs
from lunan.web.pages import render
from lunan.web.pages.deps import Looking, not_found

router = APIRouter(include_in_schema=False)

CITY = re.compile(r"^\d{6}$")
PAGE = 50


@dataclass
class LogStatus:
    """One member's log as this node holds it (its own log included)."""

    city: str
    name: str
    origin: str
    own: bool
    size: int  # entries this node holds
    checkpoint_size: int | None  # the latest signed checkpoint it holds
    checkpoint: str | None
    cosigners: list[str]  # the cities whose witnesses cosigned that checkpoint
    final_size: int | None  # None: no alliance, so nothing can be final
    folded: int  # entries folded into the projections
    served_size: int | None = None  # what the member last served (members only)
    following: bool = True
    last_ok: str | None = None
    last_error: str | None = None
    alerts: list[Alert] = field(default_factory=list)  # newest first

    @property
    def finality_lag(self) -> int | None:
        return None if self.final_size is None else max(0, self.size - self.final_size)

    @property
    def replication_lag(self) -> int:
        return 0 if self.served_size is None else max(0, self.served_size - self.size)

    @property
    def state(self) -> tuple[str, str]:
        """(colour class, zh label) of the log's health, worst first."""
        if any(a.stops_following for a in self.alerts):
            return "red", "分叉告警"
        if not self.following:
            return "red", "已停止跟随"
        if self.last_error:
            return "yellow", "连接异常"
        if self.finality_lag is None:
            return "none", "未加入联盟"
        if self.finality_lag or self.replication_lag:
            return "yellow", "确认中"
        return "green", "已确认"


def federation_of(request: Request) -> Federation | None:
    fed: Federation | None = getattr(request.app.state, "federation", None)
    return fed


def _alerts(engine: Engine) -> list[Alert]:
    """The latest 100 alerts, newest first, open and resolved (lunan.federation.alerts)."""
    return list(reversed(list_alerts(engine, ALL, limit=100)))


def _witness_cities(parts: NodeParts) -> dict[str, str]:
    """Witness key name → city code, from the alliance file."""
    if parts.alliance is None:
        return {}
    return {m.witness_verifier().name: m.city for m in parts.alliance.members}


def log_statuses(request: Request) -> list[LogStatus]:
    """Every member's log (this node's first), with what this node knows of each."""
    parts = render.parts_of(request)
    engine = parts.projector.engine
    fed = federation_of(request)
    names = render.city_names(parts)
    quorum = parts.alliance.quorum_size() if parts.alliance is not None else None
    witnesses = _witness_cities(parts)
    every_alert = _alerts(engine)
    live = {m["city"]: m for m in fed.status()["members"]} if fed is not None else {}
    with engine.connect() as conn:
        origins = {r.id: r.origin for r in conn.execute(select(logs.c.id, logs.c.origin))}
        folded = {r.origin: r.next_index for r in conn.execute(select(p_positions))}
    order = [parts.config.city] + [c for c in names if c != parts.config.city]
    order += sorted(c for c in parts.projector.logs if c not in order)
    out = []
    for city in order:
        log_id = parts.projector.logs.get(city)
        if log_id is None:
            continue
        store = TreeStore(engine, log_id)
        latest = store.latest()
        size = store.size()
        origin = origins.get(log_id, city)
        status = LogStatus(
            city=city,
            name=names.get(city, city),
            origin=origin,
            own=city == parts.config.city,
            size=size,
            checkpoint_size=latest[0] if latest else None,
            checkpoint=latest[1] if latest else None,
            cosigners=_cosigners(engine, log_id, latest[0] if latest else 0, witnesses),
            final_size=None if quorum is None else cosigned.final_size(engine, log_id, quorum),
            folded=folded.get(city, 0),
            alerts=[a for a in every_alert if a.origin == origin],
        )
        member = live.get(city)
        if member is not None:
            status.served_size = member["served_size"]
            status.following = member["following"]
            status.last_ok = member["last_ok"]
            status.last_error = member["last_error"]
        out.append(status)
    return out


def _cosigners(engine: Engine, log_id: int, size: int, witnesses: dict[str, str]) -> list[str]:
    q = select(cosignatures.c.witness).where(
        cosignatures.c.log_id == log_id, cosignatures.c.size == size
    )
    with engine.connect() as conn:
        names = sorted(r.witness for r in conn.execute(q))
    return [witnesses.get(n, n) for n in names]


# --- events ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventRow:
    origin: str
    index: int
    type: str | None
    object: str | None
    time: str | None
    actor: dict[str, Any] | None
    status: str
    reason: str | None
    detail: str | None


def _event_row(r: Any) -> EventRow:
    return EventRow(
        r.origin, r.idx, r.type, r.object, r.time, loads(r.actor), r.status, r.reason, r.detail
    )


def events(
    engine: Engine,
    origin: str | None = None,
    status: str | None = None,
    type_: str | None = None,
    obj: str | None = None,
    limit: int = PAGE,
) -> list[EventRow]:
    """Processed events, newest first."""
    q = select(p_events).order_by(p_events.c.time.desc(), p_events.c.origin, p_events.c.idx.desc())
    for column, value in (("origin", origin), ("status", status), ("type", type_), ("object", obj)):
        if value:
            q = q.where(p_events.c[column] == value)
    with engine.connect() as conn:
        return [_event_row(r) for r in conn.execute(q.limit(limit))]


def event_types(engine: Engine) -> list[str]:
    q = select(p_events.c.type).where(p_events.c.type.is_not(None)).distinct()
    with engine.connect() as conn:
        return sorted(t for t in conn.execute(q).scalars() if t)


def rejected_count(engine: Engine) -> int:
    q = select(func.count()).select_from(p_events).where(p_events.c.status == "rejected")
    with engine.connect() as conn:
        return int(conn.execute(q).scalar() or 0)


# --- pages ----------------------------------------------------------------------------------


@router.get("/chain", response_class=HTMLResponse)
def chain_page(request: Request, _looking: Looking) -> HTMLResponse:
    parts = render.parts_of(request)
    engine = parts.projector.engine
    statuses = log_statuses(request)
    every = _alerts(engine)
    forks = [a for a in every if a.kind == FORK]
    return render.render(
        request,
        "chain.html",
        {
            "logs": statuses,
            "quorum": parts.alliance.quorum_size() if parts.alliance is not None else None,
            "forks": [(a, _pretty(a.evidence)) for a in forks],
            "open_forks": any(a.stops_following for a in forks),
            "other_alerts": [a for a in every if a.kind != FORK][:20],
            "rejected": events(engine, status="rejected", limit=20),
            "rejected_total": rejected_count(engine),
            "recent": events(engine, limit=15),
            "state": parts.projector.state(),
        },
    )


def _b64(data: bytes) -> str:
    """Hashes in base64, as checkpoints and the proof API write them."""
    return base64.b64encode(data).decode()


def _pretty(evidence: list[str]) -> str:
    return json.dumps(evidence, ensure_ascii=False, indent=2)


@router.get("/chain/events", response_class=HTMLResponse)
def events_page(
    request: Request,
    _looking: Looking,
    origin: Annotated[str, Query(max_length=6)] = "",
    status: Annotated[str, Query(max_length=10)] = "",
    type: Annotated[str, Query(max_length=100)] = "",
    object: Annotated[str, Query(max_length=200)] = "",
) -> HTMLResponse:
    parts = render.parts_of(request)
    engine = parts.projector.engine
    origin = origin if CITY.match(origin) else ""
    status = status if status in ("applied", "rejected") else ""
    rows = events(engine, origin, status, type, object, limit=200)
    context = {
        "rows": rows,
        "filters": {"origin": origin, "status": status, "type": type, "object": object},
        "types": event_types(engine),
    }
    template = "_event_rows.html" if render.is_htmx(request) else "events.html"
    return render.render(request, template, context)


@router.get("/chain/events/{city}/{index}", response_class=HTMLResponse)
def event_page(request: Request, city: str, index: str, _looking: Looking) -> HTMLResponse:
    parts = render.parts_of(request)
    engine = parts.projector.engine
    log_id = parts.projector.logs.get(city) if CITY.match(city) else None
    evidence = None
    if log_id is not None and index.isdigit() and len(index) < 19:
        evidence = entry_evidence(engine, log_id, int(index))
    if evidence is None:
        raise not_found(
            f"本节点没有 {city} 日志第 {index} 条（已签名检查点内）— this node holds no entry "
            f"{index} of {city}'s log in a signed checkpoint"
        )
    q = select(p_events).where(p_events.c.origin == city, p_events.c.idx == int(index))
    with engine.connect() as conn:
        row = conn.execute(q).first()
    try:
        content: Any = json.loads(evidence.entry)
        shown = json.dumps(content, ensure_ascii=False, indent=2)
    except ValueError:
        content, shown = None, evidence.entry.hex()
    return render.render(
        request,
        "event.html",
        {
            "city_code": city,
            "index": int(index),
            "outcome": None if row is None else _event_row(row),
            "event": content if isinstance(content, dict) else None,
            "content": shown,
            "evidence": evidence,
            "leaf_hash": _b64(evidence.leaf_hash),
            "proof": [_b64(p) for p in evidence.proof],
            "entry_sha256": hashlib.sha256(evidence.entry).hexdigest(),
        },
    )
