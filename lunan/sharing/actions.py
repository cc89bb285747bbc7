"""Data-sharing writes, one function per write: check the user, the city and the current
state, append, return the object id. A refusal raises an ActionError before anything is
appended (403 Forbidden, 404 NotFound, 409 Conflict, 422 Invalid naming the field).

Who may: a user holding Permission.MANAGE_DATA, acting for its own city (the node's). A catalog
entry is changed only by its provider; a request filed and withdrawn by the requesting city;
decided (approved with terms that may only narrow it, or refused), and its agreement suspended,
resumed or revoked, by the provider; the agreement acknowledged by the requester.
`grant` and `acknowledge` take an actor instead of a user: the reactor calls them as the node.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Row, select

from lunan.auth.roles import Permission
from lunan.auth.users import User
from lunan.events.envelope import ObjectId
from lunan.events.errors import Conflict, Forbidden, Invalid, NotFound
from lunan.services import NodeParts, authorize, latest_deps
from lunan.sharing import queries
from lunan.sharing.models import (
    MAX_RECEIVED_BEFORE,
    NOT_SHARED,
    UNCONDITIONAL,
    Acknowledgement,
    AgreementChange,
    AgreementGranted,
    ApprovalTerms,
    DatasetFields,
    Period,
    Refusal,
    RequestFields,
    Withdrawal,
)
from lunan.sharing.tables import p_sharing_agreements, p_sharing_datasets

SYSTEM_ACTOR = {"system": "lunan serve"}
REQUEST_STATUS_ZH = {"approved": "已批准", "refused": "不予批准", "withdrawn": "已撤回"}

# --- shared checks --------------------------------------------------------------------------


def _own(parts: NodeParts, object_id: str, what: str) -> None:
    if ObjectId.parse(object_id).city != parts.config.city:
        raise Forbidden(
            f"{what}{object_id}属于其他城市，只能由其所属城市办理 "
            f"{object_id} belongs to another city; only that city may do this"
        )


def _today() -> dt.date:
    return queries.today_shanghai()


def _append(
    parts: NodeParts,
    type_name: str,
    object_id: str,
    body: BaseModel,
    actor: dict[str, Any],
    deps: Iterable[tuple[str, int]] = (),
) -> str:
    return parts.writer.append(type_name, object_id, body, actor, deps).object


def _dataset(parts: NodeParts, dataset_id: str, field: str | None = None) -> queries.DatasetView:
    view = queries.dataset(parts.projector.engine, dataset_id)
    if view is None:
        raise NotFound(f"共享目录{dataset_id}不存在 {dataset_id} does not exist", field=field)
    return view


def _request(parts: NodeParts, request_id: str) -> queries.RequestView:
    view = queries.request(parts.projector.engine, request_id)
    if view is None:
        raise NotFound(f"共享申请{request_id}不存在 {request_id} does not exist")
    return view


def _agreement(parts: NodeParts, agreement_id: str) -> queries.AgreementView:
    view = queries.agreement(parts.projector.engine, agreement_id, _today())
    if view is None:
        raise NotFound(f"共享协议{agreement_id}不存在 {agreement_id} does not exist")
    return view


def _live_agreements(parts: NodeParts, dataset_id: str) -> list[queries.AgreementView]:
    """Agreements on the entry that are, or may still become, usable."""
    views = queries.agreements(parts.projector.engine, dataset=dataset_id, today=_today())
    return [a for a in views if a.status not in ("revoked", "expired")]


# --- the catalog ----------------------------------------------------------------------------


def _check_unique(parts: NodeParts, fields: DatasetFields) -> None:
    city = parts.config.city
    with parts.projector.engine.connect() as conn:
        code = conn.execute(
            select(p_sharing_datasets.c.id).where(p_sharing_datasets.c.code == fields.code)
        ).scalar()
        service = conn.execute(
            select(p_sharing_datasets.c.id).where(
                p_sharing_datasets.c.provider == city,
                p_sharing_datasets.c.service == fields.service,
            )
        ).scalar()
    if code is not None:
        raise Conflict(f"资源代码{fields.code}已被{code}使用 the code is taken by {code}", "code")
    if service is not None:
        raise Conflict(
            f"服务名{fields.service}已被{service}使用 the service is taken by {service}", "service"
        )


def publish_dataset(parts: NodeParts, user: User, fields: DatasetFields) -> str:
    """Publish a catalog entry of this city (资源代码 starting with the city's code)."""
    authorize(parts, user, Permission.MANAGE_DATA)
    city = parts.config.city
    if not fields.code.startswith(f"{city}-"):
        raise Invalid(
            f"资源代码须以本市代码{city}开头 the resource code must start with {city}", "code"
        )
    with parts.writer.lock:
        _check_unique(parts, fields)
        dataset_id = parts.writer.next_id("dataset")
        return _append(parts, "sharing.dataset.published", dataset_id, fields, user.actor())


def _check_agreed_fields(parts: NodeParts, dataset_id: str, fields: DatasetFields) -> None:
    """An update may not take away a field that a live agreement grants."""
    for a in _live_agreements(parts, dataset_id):
        for name in a.fields:
            new = fields.field(name)
            if new is None or new.category == NOT_SHARED:
                raise Conflict(
                    f"信息项{name}已由协议{a.id}共享，不能删除或改为不予共享 field {name} is "
                    f"granted by {a.id}: suspend or revoke it first",
                    "fields",
                )


def update_dataset(parts: NodeParts, user: User, dataset_id: str, fields: DatasetFields) -> str:
    """Revise an entry; its code, service and kind of answer stay as published."""
    authorize(parts, user, Permission.MANAGE_DATA)
    _own(parts, dataset_id, "共享目录")
    with parts.writer.lock:
        current = _dataset(parts, dataset_id)
        if current.status != "published":
            raise Conflict(f"共享目录{dataset_id}已撤销 {dataset_id} was withdrawn")
        for name, label in (("code", "资源代码"), ("service", "服务名"), ("answer", "应答方式")):
            if getattr(fields, name) != getattr(current, name):
                raise Invalid(
                    f"{label}发布后不能更改 {name} stays {getattr(current, name)!r}", name
                )
        _check_agreed_fields(parts, dataset_id, fields)
        return _append(parts, "sharing.dataset.updated", dataset_id, fields, user.actor())


def withdraw_dataset(parts: NodeParts, user: User, dataset_id: str, reason: str = "") -> str:
    """Withdraw an entry from the catalog; its live agreements must be revoked first."""
    authorize(parts, user, Permission.MANAGE_DATA)
    _own(parts, dataset_id, "共享目录")
    with parts.writer.lock:
        current = _dataset(parts, dataset_id)
        if current.status != "published":
            raise Conflict(f"共享目录{dataset_id}已撤销 {dataset_id} was already withdrawn")
        live = [a.id for a in _live_agreements(parts, dataset_id)]
        if live:
            raise Conflict(
                f"请先终止有效协议 revoke its agreements first: {', '.join(live)}", "dataset"
            )
        body = Withdrawal(reason=reason)
        return _append(parts, "sharing.dataset.withdrawn", dataset_id, body, user.actor())


# --- requests -------------------------------------------------------------------------------


def _check_request_fields(dataset: queries.DatasetView, fields: RequestFields) -> bool:
    """Whether the request is 无条件共享 throughout; Invalid naming the field otherwise wrong."""
    unconditional = dataset.category == UNCONDITIONAL
    for i, name in enumerate(fields.fields):
        field = dataset.field(name)
        if field is None:
            raise Invalid(f"{dataset.code}没有信息项{name} no field {name!r}", f"fields[{i}]")
        if field.category == NOT_SHARED:
            raise Invalid(
                f"信息项{name}不予共享，不能申请 field {name!r} is 不予共享 (not shared)",
                f"fields[{i}]",
            )
        unconditional = unconditional and field.category == UNCONDITIONAL
    for name in fields.row_filter:
        if dataset.field(name) is None:
            raise Invalid(f"行过滤条件{name}不是信息项 no field {name!r}", f"row_filter.{name}")
    return unconditional


def _check_request_dates(fields: RequestFields, today: dt.date) -> None:
    if fields.period.end < today:
        raise Invalid("使用期限已过 the period has already ended", "period.end")
    received = fields.received_on
    if received is not None and not today - MAX_RECEIVED_BEFORE <= received <= today:
        raise Invalid(
            "受理日期须在今天及此前60日内 received_on must be within the last 60 days",
            "received_on",
        )


def file_request(parts: NodeParts, user: User, fields: RequestFields) -> str:
    """File a request for another city's entry (共享申请)."""
    authorize(parts, user, Permission.MANAGE_DATA)
    _check_request_dates(fields, _today())
    with parts.writer.lock:
        dataset = _dataset(parts, fields.dataset, "dataset")
        if dataset.provider == parts.config.city:
            raise Invalid("本市目录无需申请 a city needs no agreement for its own entry", "dataset")
        if dataset.status != "published":
            raise Conflict(f"共享目录{dataset.code}已撤销 the entry was withdrawn", "dataset")
        if dataset.category == NOT_SHARED:
            raise Invalid(f"{dataset.code}不予共享 the entry is 不予共享 (not shared)", "dataset")
        unconditional = _check_request_fields(dataset, fields)
        if not unconditional and not fields.legal_basis.strip():
            raise Invalid(
                "申请有条件共享数据须注明依据 a request for 有条件共享 data needs its legal basis",
                "legal_basis",
            )
        deps = latest_deps(parts, fields.dataset)
        request_id = parts.writer.next_id("data-request")
        return _append(parts, "sharing.request.filed", request_id, fields, user.actor(), deps)


def withdraw_request(parts: NodeParts, user: User, request_id: str, reason: str = "") -> str:
    """The requester withdraws a request not decided yet."""
    authorize(parts, user, Permission.MANAGE_DATA)
    _own(parts, request_id, "共享申请")
    with parts.writer.lock:
        view = _request(parts, request_id)
        if view.status != "pending":
            raise Conflict(f"申请{REQUEST_STATUS_ZH[view.status]} the request is {view.status}")
        body = Withdrawal(reason=reason)
        return _append(parts, "sharing.request.withdrawn", request_id, body, user.actor())


# --- decisions ------------------------------------------------------------------------------


def _decidable(parts: NodeParts, request_id: str) -> queries.RequestView:
    view = _request(parts, request_id)
    if view.provider != parts.config.city:
        raise Forbidden(
            f"申请{request_id}由{view.provider_name}审批 only the provider "
            f"{view.provider} decides {request_id}"
        )
    if view.status != "pending":
        raise Conflict(f"申请{REQUEST_STATUS_ZH[view.status]} the request is {view.status}")
    return view


def _narrow_fields(
    view: queries.RequestView, dataset: queries.DatasetView, fields: Sequence[str]
) -> None:
    for i, name in enumerate(fields):
        if name not in view.fields:
            raise Invalid(f"信息项{name}未申请 field {name!r} was not requested", f"fields[{i}]")
        field = dataset.field(name)
        if field is None or field.category == NOT_SHARED:
            raise Invalid(f"信息项{name}现不予共享 field {name!r} is not shared", f"fields[{i}]")


def _narrow_filter(
    view: queries.RequestView, dataset: queries.DatasetView, row_filter: dict[str, list[str]]
) -> None:
    for name, values in view.row_filter.items():
        granted = row_filter.get(name)
        if granted is None or not set(granted) <= set(values):
            raise Invalid(
                f"行过滤条件{name}只能收窄 the row filter on {name!r} may only narrow: "
                f"keep it, with values among {values}",
                f"row_filter.{name}",
            )
    for name in row_filter:
        if dataset.field(name) is None:
            raise Invalid(f"行过滤条件{name}不是信息项 no field {name!r}", f"row_filter.{name}")


def _narrow_period(view: queries.RequestView, period: Period) -> None:
    if period.start < view.period_start:
        raise Invalid(
            f"期限不能早于申请的{view.period_start} may not start before {view.period_start}",
            "period.start",
        )
    if period.end > view.period_end:
        raise Invalid(
            f"期限不能晚于申请的{view.period_end} may not end after {view.period_end}",
            "period.end",
        )


def _terms(
    view: queries.RequestView, dataset: queries.DatasetView, terms: ApprovalTerms
) -> AgreementGranted:
    """The agreement's terms: the request's, narrowed where `terms` says (never widened)."""
    fields = list(terms.fields) if terms.fields is not None else view.fields
    _narrow_fields(view, dataset, fields)
    row_filter = (
        {k: list(v) for k, v in terms.row_filter.items()}
        if terms.row_filter is not None
        else view.row_filter
    )
    _narrow_filter(view, dataset, row_filter)
    period = terms.period or Period(start=view.period_start, end=view.period_end)
    _narrow_period(view, period)
    quota = terms.quota if terms.quota is not None else view.quota
    if quota > view.quota:
        raise Invalid(f"日调用上限不能超过申请的{view.quota} quota may not exceed it", "quota")
    return AgreementGranted.model_validate(
        {
            "request": view.id,
            "dataset": view.dataset,
            "requester": view.requester,
            "service": dataset.service,
            "fields": fields,
            "purpose": view.purpose,
            "scenario": view.scenario,
            "row_filter": row_filter,
            "period": period,
            "quota": quota,
            "reason": terms.reason,
        }
    )


def grant(parts: NodeParts, actor: dict[str, Any], request_id: str, terms: ApprovalTerms) -> str:
    """Approve a request to this city: creates the agreement (the reactor's and
    `approve_request`'s common path; the caller has checked who acts)."""
    with parts.writer.lock:
        view = _decidable(parts, request_id)
        dataset = _dataset(parts, view.dataset)
        if dataset.status != "published":
            raise Conflict(f"共享目录{dataset.code}已撤销 the entry was withdrawn; refuse it")
        if dataset.category == NOT_SHARED:
            raise Conflict(f"共享目录{dataset.code}现不予共享 the entry is now not shared")
        body = _terms(view, dataset, terms)
        deps = latest_deps(parts, request_id)
        agreement_id = parts.writer.next_id("data-agreement")
        return _append(parts, "sharing.agreement.granted", agreement_id, body, actor, deps)


def approve_request(parts: NodeParts, user: User, request_id: str, terms: ApprovalTerms) -> str:
    """The provider approves, with the request's terms or narrower ones; returns the
    agreement's id."""
    authorize(parts, user, Permission.MANAGE_DATA)
    return grant(parts, user.actor(), request_id, terms)


def refuse_request(parts: NodeParts, user: User, request_id: str, reason: str) -> str:
    """The provider refuses, with its reason (不予批准)."""
    authorize(parts, user, Permission.MANAGE_DATA)
    body = Refusal(request=request_id, reason=reason)
    with parts.writer.lock:
        _decidable(parts, request_id)
        deps = latest_deps(parts, request_id)
        refusal_id = parts.writer.next_id("data-refusal")
        return _append(parts, "sharing.request.refused", refusal_id, body, user.actor(), deps)


# --- agreements -----------------------------------------------------------------------------

# change → (stored statuses it starts from, the event type, what it is called)
_CHANGES = {
    "suspend": (("active",), "sharing.agreement.suspended", "暂停"),
    "resume": (("suspended",), "sharing.agreement.resumed", "恢复"),
    "revoke": (("active", "suspended"), "sharing.agreement.revoked", "终止"),
}
_STATUS_ZH = {"active": "有效", "suspended": "已暂停", "revoked": "已终止"}


def _stored_status(parts: NodeParts, agreement_id: str) -> Row[Any] | None:
    q = select(p_sharing_agreements.c.status).where(p_sharing_agreements.c.id == agreement_id)
    with parts.projector.engine.connect() as conn:
        return conn.execute(q).first()


def _change(parts: NodeParts, user: User, agreement_id: str, change: str, reason: str) -> str:
    authorize(parts, user, Permission.MANAGE_DATA)
    allowed, type_name, label = _CHANGES[change]
    body = AgreementChange(reason=reason)
    with parts.writer.lock:
        _own(parts, agreement_id, "共享协议")
        view = _agreement(parts, agreement_id)
        stored = _stored_status(parts, agreement_id)
        assert stored is not None  # the view was found
        if view.status == "expired":
            raise Conflict(f"协议已于{view.period_end}到期，无需{label} the agreement has expired")
        if stored.status not in allowed:
            raise Conflict(
                f"协议{_STATUS_ZH[stored.status]}，不能{label} the agreement is {stored.status}"
            )
        return _append(parts, type_name, agreement_id, body, user.actor())


def suspend_agreement(parts: NodeParts, user: User, agreement_id: str, reason: str) -> str:
    return _change(parts, user, agreement_id, "suspend", reason)


def resume_agreement(parts: NodeParts, user: User, agreement_id: str, reason: str) -> str:
    return _change(parts, user, agreement_id, "resume", reason)


def revoke_agreement(parts: NodeParts, user: User, agreement_id: str, reason: str) -> str:
    return _change(parts, user, agreement_id, "revoke", reason)


def acknowledge(parts: NodeParts, actor: dict[str, Any], agreement_id: str) -> str:
    """Record in this (the requester's) log an agreement granted to this city."""
    with parts.writer.lock:
        view = _agreement(parts, agreement_id)
        if view.requester != parts.config.city:
            raise Forbidden(
                f"协议{agreement_id}不是授予本市的 it was granted to {view.requester}, "
                f"not {parts.config.city}"
            )
        if view.acknowledged:
            raise Conflict(f"已确认（{view.acknowledgement}） already acknowledged")
        body = Acknowledgement(agreement=agreement_id)
        deps = parts.writer.deps_for(agreement_id)
        ack_id = parts.writer.next_id("data-ack")
        return _append(parts, "sharing.agreement.acknowledged", ack_id, body, actor, deps)


def acknowledge_agreement(parts: NodeParts, user: User, agreement_id: str) -> str:
    """A person acknowledges a grant (the reactor does it by itself in `lunan serve`)."""
    authorize(parts, user, Permission.MANAGE_DATA)
    return acknowledge(parts, user.actor(), agreement_id)
