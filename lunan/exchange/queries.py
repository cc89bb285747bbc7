"""The audit of the exchange, computed when asked from the replicated logs' records.

Every node holds every member's log, so every node can answer: per agreement, per city (as
provider and as requester) and alliance-wide, how many requests were served, denied and
received, with the rows and bytes served, by day; and, for one exchange, the records both
sides logged, each linked to its event (`/api/v1/events/{city}/{index}`), which carries the
inclusion proof.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel
from sqlalchemy import Engine, Select, func, or_, select

from lunan.events.tables import p_nodes
from lunan.exchange.tables import p_exchange_denied, p_exchange_received, p_exchange_served


class Counts(BaseModel):
    served: int = 0  # answers with data, as the providers logged them
    denied: int = 0  # signed requests refused, as the providers logged them
    received: int = 0  # answers of any kind, as the requesters logged them
    rows: int = 0  # rows served (a 是/否 answer counts none)
    bytes: int = 0  # bytes of the answers served

    def add(self, other: Counts) -> None:
        for name in Counts.model_fields:
            setattr(self, name, getattr(self, name) + getattr(other, name))


class DayCounts(Counts):
    day: str


class AgreementCounts(Counts):
    agreement: str  # "" for denied requests that named no readable agreement
    provider: str
    requester: str
    service: str


class CityCounts(BaseModel):
    city: str
    name: str
    as_provider: Counts
    as_requester: Counts


class Audit(BaseModel):
    agreement: str | None
    city: str | None
    total: Counts
    by_day: list[DayCounts]
    by_agreement: list[AgreementCounts]
    by_city: list[CityCounts]


# One group: (agreement, day, provider, requester, service) with its counts.
_Group = tuple[tuple[str, str, str, str, str], Counts]


def _groups(engine: Engine, agreement: str | None, city: str | None) -> Iterable[_Group]:
    served, denied, received = p_exchange_served.c, p_exchange_denied.c, p_exchange_received.c
    queries: list[tuple[Select[Any], str]] = [
        (
            select(
                served.agreement,
                served.day,
                served.origin,
                served.requester,
                served.service,
                func.count(),
                func.sum(served.rows),
                func.sum(served.bytes),
            ),
            "served",
        ),
        (
            select(
                denied.agreement,
                denied.day,
                denied.origin,
                denied.requester,
                denied.service,
                func.count(),
            ),
            "denied",
        ),
        (
            select(
                received.agreement,
                received.day,
                received.provider,
                received.origin,
                received.service,
                func.count(),
            ),
            "received",
        ),
    ]
    with engine.connect() as conn:
        for q, kind in queries:
            cols = list(q.selected_columns)
            provider_col, requester_col = cols[2], cols[3]
            if agreement is not None:
                q = q.where(cols[0] == agreement)
            if city is not None:
                q = q.where(or_(provider_col == city, requester_col == city))
            q = q.group_by(*cols[:5])
            for r in conn.execute(q):
                counts = Counts(**{kind: r[5]})
                if kind == "served":
                    counts.rows, counts.bytes = int(r[6] or 0), int(r[7] or 0)
                yield (r[0], r[1], r[2], r[3], r[4]), counts


def audit(engine: Engine, agreement: str | None = None, city: str | None = None) -> Audit:
    """Counts for one agreement, one city's exchanges (as either party), or the alliance."""
    total = Counts()
    days: dict[str, DayCounts] = {}
    agreements: dict[tuple[str, str, str, str], AgreementCounts] = {}
    cities: dict[str, tuple[Counts, Counts]] = {}
    for (a, day, provider, requester, service), counts in _groups(engine, agreement, city):
        total.add(counts)
        days.setdefault(day, DayCounts(day=day)).add(counts)
        key = (a, provider, requester, service)
        agreements.setdefault(
            key,
            AgreementCounts(agreement=a, provider=provider, requester=requester, service=service),
        ).add(counts)
        cities.setdefault(provider, (Counts(), Counts()))[0].add(counts)
        cities.setdefault(requester, (Counts(), Counts()))[1].add(counts)
    with engine.connect() as conn:
        names = {r.city: r.name for r in conn.execute(select(p_nodes.c.city, p_nodes.c.name))}
    return Audit(
        agreement=agreement,
        city=city,
        total=total,
        by_day=[days[d] for d in sorted(days)],
        by_agreement=[agreements[k] for k in sorted(agreements)],
        by_city=[
            CityCounts(city=c, name=names.get(c, c), as_provider=p, as_requester=r)
            for c, (p, r) in sorted(cities.items())
            if city is None or c == city
        ],
    )


class Record(BaseModel):
    """One side's record of an exchange."""

    kind: Literal["served", "denied", "received"]
    city: str  # whose log holds it
    index: int
    object: str
    time: str
    agreement: str
    service: str
    provider: str
    requester: str
    status: int
    rows: int | None
    bytes: int | None
    reason: str | None  # a denial's problem type slug
    verified: bool | None  # a received answer's signature checked out
    request_digest: str
    response_digest: str | None
    event: str  # the event with its inclusion proof: /api/v1/events/{city}/{index}


def records(engine: Engine, request_id: str) -> list[Record]:
    """What the provider and the requester logged of one exchange, provider first."""
    out: list[Record] = []
    with engine.connect() as conn:
        for r in conn.execute(
            select(p_exchange_served).where(p_exchange_served.c.request_id == request_id)
        ):
            out.append(
                _record(r, "served", r.origin, r.requester, 200, r.rows, r.bytes, None, None)
            )
        for r in conn.execute(
            select(p_exchange_denied).where(p_exchange_denied.c.request_id == request_id)
        ):
            out.append(
                _record(r, "denied", r.origin, r.requester, r.status, None, None, r.reason, None)
            )
        for r in conn.execute(
            select(p_exchange_received).where(p_exchange_received.c.request_id == request_id)
        ):
            out.append(
                _record(
                    r, "received", r.provider, r.origin, r.status, r.rows, None, None, r.verified
                )
            )
    return out


def _record(
    r: Any,
    kind: Literal["served", "denied", "received"],
    provider: str,
    requester: str,
    status: int,
    rows: int | None,
    size: int | None,
    reason: str | None,
    verified: bool | None,
) -> Record:
    return Record(
        kind=kind,
        city=r.origin,
        index=r.idx,
        object=r.id,
        time=r.time,
        agreement=r.agreement,
        service=r.service,
        provider=provider,
        requester=requester,
        status=status,
        rows=rows,
        bytes=size,
        reason=reason,
        verified=None if verified is None else bool(verified),
        request_digest=r.request_digest,
        response_digest=getattr(r, "response_digest", None),
        event=f"/api/v1/events/{r.origin}/{r.idx}",
    )
