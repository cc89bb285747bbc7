"""The provider's decisions and the agreements (数据共享协议) they create.

    sharing.agreement.granted       data-agreement/<provider>/<n>  AgreementGranted (creates)
    sharing.request.refused         data-refusal/<provider>/<n>    Refusal (creates)
    sharing.agreement.suspended     data-agreement/<provider>/<n>  AgreementChange
    sharing.agreement.resumed       data-agreement/<provider>/<n>  AgreementChange
    sharing.agreement.revoked       data-agreement/<provider>/<n>  AgreementChange
    sharing.agreement.acknowledged  data-ack/<requester>/<n>       Acknowledgement (creates)

A decision is the provider's (the city of the requested entry), in its own log, with deps on
the request. The terms may narrow the request — fewer fields, a narrower row filter, a shorter
period, a smaller quota — never widen it: checked here against the request's body, which never
changes. One decision per request: the earlier decisions are all the provider's own, so the
check is stable. A withdrawal the provider had seen (its deps cover it) stops a decision.
Expiry is the end of the period, worked out when asked (queries.py).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row

from lunan.events.context import Apply, loads
from lunan.events.envelope import ObjectId
from lunan.events.registry import EventType, Scope
from lunan.sharing.models import (
    NOT_SHARED,
    Acknowledgement,
    AgreementChange,
    AgreementGranted,
    Refusal,
    terms_columns,
)
from lunan.sharing.tables import (
    p_sharing_acks,
    p_sharing_agreement_changes,
    p_sharing_agreements,
    p_sharing_datasets,
    p_sharing_refusals,
    p_sharing_requests,
)


def _decidable(ctx: Apply, request_id: str) -> Row[Any]:
    """The request, if this log may decide it now."""
    ctx.require(request_id, "data-request")
    request = ctx.row(p_sharing_requests, id=request_id)
    assert request is not None  # require() found it
    if ObjectId.parse(request.dataset).city != ctx.origin:
        raise ctx.reject("not-provider", f"{request.dataset} is not {ctx.origin}'s entry")
    decided = ctx.row(p_sharing_agreements, request=request_id) or ctx.row(
        p_sharing_refusals, request=request_id
    )
    if decided is not None:
        raise ctx.reject("decided", f"{request_id} was already decided: {decided.id}")
    if request.withdrawn_idx is not None and ctx.covers(request.requester, request.withdrawn_idx):
        raise ctx.reject("request-withdrawn", f"{request_id} was withdrawn")
    return request


def _check_narrows(ctx: Apply, body: AgreementGranted, request: Row[Any]) -> None:
    if body.dataset != request.dataset:
        raise ctx.reject("wrong-dataset", f"{body.request} asks for {request.dataset}")
    if body.requester != request.requester:
        raise ctx.reject("wrong-requester", f"{body.request} is {request.requester}'s")
    if body.purpose != request.purpose or body.scenario != request.scenario:
        raise ctx.reject("purpose-changed", "purpose and scenario are the request's")
    asked = set(loads(request.fields))
    extra = [f for f in body.fields if f not in asked]
    if extra:
        raise ctx.reject("widens-fields", f"fields not requested: {', '.join(extra)}")
    asked_filter: dict[str, list[str]] = loads(request.row_filter)
    for name, values in asked_filter.items():
        granted = body.row_filter.get(name)
        if granted is None or not set(granted) <= set(values):
            raise ctx.reject("widens-row-filter", f"the row filter on {name} is wider")
    if body.period.start.isoformat() < request.period_start:
        raise ctx.reject("widens-period", "the period starts before the requested one")
    if body.period.end.isoformat() > request.period_end:
        raise ctx.reject("widens-period", "the period ends after the requested one")
    if body.quota > request.quota:
        raise ctx.reject("widens-quota", f"quota {body.quota} exceeds {request.quota}")


def _check_entry(ctx: Apply, body: AgreementGranted) -> None:
    """Against the provider's own entry as it is now (its own log: stable)."""
    entry = ctx.row(p_sharing_datasets, id=body.dataset)
    assert entry is not None  # the request's deps made it exist
    if entry.status != "published":
        raise ctx.reject("dataset-withdrawn", f"{body.dataset} was withdrawn")
    if body.service != entry.service:
        raise ctx.reject("wrong-service", f"{body.dataset} is served as {entry.service}")
    categories = {f["name"]: f["category"] for f in loads(entry.fields)}
    for name in [*body.fields, *body.row_filter]:
        if name not in categories:
            raise ctx.reject("unknown-field", f"{body.dataset} has no field {name}")
    shut = [n for n in body.fields if categories[n] == NOT_SHARED]
    if shut or entry.category == NOT_SHARED:
        raise ctx.reject("field-not-shared", f"不予共享: {', '.join(shut) or body.dataset}")


def _change(ctx: Apply, change: str, reason: str) -> None:
    ctx.insert(
        p_sharing_agreement_changes,
        agreement=ctx.object,
        idx=ctx.idx,
        change=change,
        reason=reason,
        time=ctx.event.time,
    )


def apply_granted(ctx: Apply, body: AgreementGranted) -> None:
    request = _decidable(ctx, body.request)
    _check_narrows(ctx, body, request)
    _check_entry(ctx, body)
    ctx.insert(
        p_sharing_agreements,
        id=ctx.object,
        provider=ctx.origin,
        requester=body.requester,
        request=body.request,
        dataset=body.dataset,
        service=body.service,
        **terms_columns(body),
        quota=body.quota,
        reason=body.reason,
        status="active",
        granted_idx=ctx.idx,
        granted_time=ctx.event.time,
        changed_time=ctx.event.time,
    )
    _change(ctx, "granted", body.reason)


def apply_refused(ctx: Apply, body: Refusal) -> None:
    _decidable(ctx, body.request)
    ctx.insert(
        p_sharing_refusals,
        id=ctx.object,
        provider=ctx.origin,
        request=body.request,
        reason=body.reason,
        time=ctx.event.time,
    )


def _stored(ctx: Apply) -> str:
    row = ctx.row(p_sharing_agreements, id=ctx.object)
    assert row is not None  # the engine checked the object exists
    return str(row.status)


def _set_status(ctx: Apply, status: str, change: str, reason: str) -> None:
    ctx.update(p_sharing_agreements, {"id": ctx.object}, status=status, changed_time=ctx.event.time)
    _change(ctx, change, reason)


def apply_suspended(ctx: Apply, body: AgreementChange) -> None:
    if (status := _stored(ctx)) != "active":
        raise ctx.reject("not-active", f"{ctx.object} is {status}")
    _set_status(ctx, "suspended", "suspended", body.reason)


def apply_resumed(ctx: Apply, body: AgreementChange) -> None:
    if (status := _stored(ctx)) != "suspended":
        raise ctx.reject("not-suspended", f"{ctx.object} is {status}")
    _set_status(ctx, "active", "resumed", body.reason)


def apply_revoked(ctx: Apply, body: AgreementChange) -> None:
    if _stored(ctx) == "revoked":  # final
        raise ctx.reject("revoked", f"{ctx.object} was already revoked")
    _set_status(ctx, "revoked", "revoked", body.reason)


def apply_acknowledged(ctx: Apply, body: Acknowledgement) -> None:
    ctx.require(body.agreement, "data-agreement")
    agreement = ctx.row(p_sharing_agreements, id=body.agreement)
    assert agreement is not None  # require() found it
    if agreement.requester != ctx.origin:  # immutable: safe to read from another log
        raise ctx.reject("not-requester", f"{body.agreement} was granted to {agreement.requester}")
    earlier = ctx.row(p_sharing_acks, agreement=body.agreement)  # only this log writes these
    if earlier is not None:
        raise ctx.reject("exists", f"{earlier.id} already acknowledges {body.agreement}")
    ctx.insert(
        p_sharing_acks,
        id=ctx.object,
        requester=ctx.origin,
        agreement=body.agreement,
        time=ctx.event.time,
    )


TYPES = [
    EventType(
        "sharing.agreement.granted",
        "data-agreement",
        AgreementGranted,
        apply_granted,
        scope=Scope.OWN,
        creates=True,
        label="批准共享申请",
    ),
    EventType(
        "sharing.request.refused",
        "data-refusal",
        Refusal,
        apply_refused,
        scope=Scope.OWN,
        creates=True,
        label="不予批准共享申请",
    ),
    EventType(
        "sharing.agreement.suspended",
        "data-agreement",
        AgreementChange,
        apply_suspended,
        scope=Scope.OWN,
        label="暂停共享协议",
    ),
    EventType(
        "sharing.agreement.resumed",
        "data-agreement",
        AgreementChange,
        apply_resumed,
        scope=Scope.OWN,
        label="恢复共享协议",
    ),
    EventType(
        "sharing.agreement.revoked",
        "data-agreement",
        AgreementChange,
        apply_revoked,
        scope=Scope.OWN,
        label="终止共享协议",
    ),
    EventType(
        "sharing.agreement.acknowledged",
        "data-ack",
        Acknowledgement,
        apply_acknowledged,
        scope=Scope.OWN,
        creates=True,
        label="确认共享协议",
    ),
]
