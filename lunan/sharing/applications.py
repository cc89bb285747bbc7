"""Sharing requests (共享申请), each in the requesting city's log.

    sharing.request.filed      data-request/<requester>/<n>  RequestFields (creates), deps on
                               the catalog entry as the requester last saw it
    sharing.request.withdrawn  data-request/<requester>/<n>  Withdrawal

A request is checked against the entry as its writer saw it (the latest version its deps
cover), so the outcome is the same on every node whatever order the logs arrive in. The
provider's decision is in the provider's log (agreements.py); a request's state combining both
is worked out by queries.py.
"""

from __future__ import annotations

import datetime as dt

from lunan.clock import SHANGHAI
from lunan.events.context import Apply, loads
from lunan.events.envelope import ObjectId
from lunan.events.registry import EventType, Scope
from lunan.sharing.catalog import seen_version
from lunan.sharing.models import (
    CONDITIONAL,
    MAX_RECEIVED_BEFORE,
    NOT_SHARED,
    UNCONDITIONAL,
    RequestFields,
    Withdrawal,
    terms_columns,
)
from lunan.sharing.tables import p_sharing_requests


def event_day(ctx: Apply) -> dt.date:
    """The day (in Shanghai) the event was written."""
    return dt.datetime.fromisoformat(ctx.event.time).astimezone(SHANGHAI).date()


def _check_fields(ctx: Apply, body: RequestFields, fields: dict[str, str]) -> None:
    for name in body.fields:
        if name not in fields:
            raise ctx.reject("unknown-field", f"{body.dataset} has no field {name}")
        if fields[name] == NOT_SHARED:
            raise ctx.reject("field-not-shared", f"field {name} is 不予共享 (not shared)")
    for name in body.row_filter:
        if name not in fields:
            raise ctx.reject("unknown-field", f"row filter on {name}: no such field")


def apply_filed(ctx: Apply, body: RequestFields) -> None:
    ctx.require(body.dataset, "dataset")
    provider = ObjectId.parse(body.dataset).city
    if provider == ctx.origin:
        raise ctx.reject("own-dataset", "a city needs no agreement for its own entry")
    version = seen_version(ctx, body.dataset)
    assert version is not None  # require() found the entry, so its first version is covered
    if version.status != "published":
        raise ctx.reject("dataset-withdrawn", f"{body.dataset} was withdrawn")
    if version.category == NOT_SHARED:
        raise ctx.reject("not-shared", f"{body.dataset} is 不予共享 (not shared)")
    fields = {f["name"]: f["category"] for f in loads(version.fields)}
    _check_fields(ctx, body, fields)
    unconditional = version.category == UNCONDITIONAL and all(
        fields[n] == UNCONDITIONAL for n in body.fields
    )
    if not unconditional and not body.legal_basis.strip():
        raise ctx.reject("legal-basis-required", "有条件共享 data needs the request's legal basis")
    day = event_day(ctx)
    received = body.received_on or day
    if not day - MAX_RECEIVED_BEFORE <= received <= day:
        raise ctx.reject(
            "bad-received-on", f"received_on {received} is not within 60 days before {day}"
        )
    ctx.insert(
        p_sharing_requests,
        id=ctx.object,
        requester=ctx.origin,
        provider=provider,
        dataset=body.dataset,
        **terms_columns(body),
        legal_basis=body.legal_basis,
        volume=body.volume,
        consent_required=body.consent_required,
        quota=body.quota,
        category=UNCONDITIONAL if unconditional else CONDITIONAL,
        received_on=received.isoformat(),
        note=body.note,
        status="pending",
        withdrawn_idx=None,
        withdrawn_reason=None,
        withdrawn_time=None,
        filed_idx=ctx.idx,
        filed_time=ctx.event.time,
    )


def apply_withdrawn(ctx: Apply, body: Withdrawal) -> None:
    row = ctx.row(p_sharing_requests, id=ctx.object)
    assert row is not None  # the engine checked the object exists
    if row.status != "pending":
        raise ctx.reject("withdrawn", f"{ctx.object} was already withdrawn")
    ctx.update(
        p_sharing_requests,
        {"id": ctx.object},
        status="withdrawn",
        withdrawn_idx=ctx.idx,
        withdrawn_reason=body.reason,
        withdrawn_time=ctx.event.time,
    )


TYPES = [
    EventType(
        "sharing.request.filed",
        "data-request",
        RequestFields,
        apply_filed,
        scope=Scope.OWN,
        creates=True,
        label="提交共享申请",
    ),
    EventType(
        "sharing.request.withdrawn",
        "data-request",
        Withdrawal,
        apply_withdrawn,
        scope=Scope.OWN,
        label="撤回共享申请",
    ),
]
