"""Catalog entries (共享目录), each owned by the providing city.

    sharing.dataset.published  dataset/<provider>/<n>  DatasetFields  (creates)
    sharing.dataset.updated    dataset/<provider>/<n>  DatasetFields
    sharing.dataset.withdrawn  dataset/<provider>/<n>  Withdrawal

The resource code, the service and the kind of answer never change once published: agreements
and exchanges name them. Every version is kept (p_sharing_dataset_versions) so that another
city's request can be checked against the entry as that city saw it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, select

from lunan.events.context import Apply, dumps
from lunan.events.registry import EventType, Scope
from lunan.sharing.models import DatasetFields, Withdrawal
from lunan.sharing.tables import p_sharing_dataset_versions, p_sharing_datasets


def _values(body: DatasetFields) -> dict[str, Any]:
    return {
        "name": body.name,
        "department": body.department,
        "description": body.description,
        "fields": dumps([f.model_dump(mode="json") for f in body.fields]),
        "category": body.category,
        "legal_basis": body.legal_basis,
        "update_cycle": body.update_cycle,
        "modes": dumps(list(body.modes)),
        "keys": dumps(list(body.keys)),
        "sample": body.sample,
        "response_working_days": body.response_working_days,
    }


def _record_version(ctx: Apply, fields: str, category: str, status: str) -> None:
    ctx.insert(
        p_sharing_dataset_versions,
        dataset=ctx.object,
        idx=ctx.idx,
        origin=ctx.origin,
        fields=fields,
        category=category,
        status=status,
    )


def seen_version(ctx: Apply, dataset_id: str) -> Row[Any] | None:
    """The entry as the event's writer saw it: its latest version the event's deps cover."""
    q = (
        select(p_sharing_dataset_versions)
        .where(p_sharing_dataset_versions.c.dataset == dataset_id)
        .order_by(p_sharing_dataset_versions.c.idx.desc())
    )
    for row in ctx.conn.execute(q):
        if ctx.covers(row.origin, row.idx):
            return row
    return None


def apply_published(ctx: Apply, body: DatasetFields) -> None:
    if not body.code.startswith(f"{ctx.origin}-"):
        raise ctx.reject("code-not-own", f"resource code {body.code} must start with {ctx.origin}")
    # Every entry whose code or service could clash is this log's own: the check is stable.
    if ctx.row(p_sharing_datasets, code=body.code) is not None:
        raise ctx.reject("code-taken", f"resource code {body.code} is already published")
    if ctx.row(p_sharing_datasets, provider=ctx.origin, service=body.service) is not None:
        raise ctx.reject("service-taken", f"service {body.service} is already published")
    values = _values(body)
    ctx.insert(
        p_sharing_datasets,
        id=ctx.object,
        provider=ctx.origin,
        code=body.code,
        service=body.service,
        answer=body.answer,
        status="published",
        withdrawn_reason=None,
        created_time=ctx.event.time,
        updated_time=ctx.event.time,
        **values,
    )
    _record_version(ctx, values["fields"], body.category, "published")


def _published(ctx: Apply) -> Row[Any]:
    row = ctx.row(p_sharing_datasets, id=ctx.object)
    assert row is not None  # the engine checked the object exists
    if row.status != "published":
        raise ctx.reject("withdrawn", f"{ctx.object} was withdrawn")
    return row


def apply_updated(ctx: Apply, body: DatasetFields) -> None:
    row = _published(ctx)
    # Agreements and exchanges name these: they stay as published.
    if body.code != row.code:
        raise ctx.reject("code-changed", f"the code of {ctx.object} stays {row.code}")
    if body.service != row.service:
        raise ctx.reject("service-changed", f"the service of {ctx.object} stays {row.service}")
    if body.answer != row.answer:
        raise ctx.reject("answer-changed", f"the answer of {ctx.object} stays {row.answer}")
    values = _values(body)
    ctx.update(p_sharing_datasets, {"id": ctx.object}, updated_time=ctx.event.time, **values)
    _record_version(ctx, values["fields"], body.category, "published")


def apply_withdrawn(ctx: Apply, body: Withdrawal) -> None:
    row = _published(ctx)
    ctx.update(
        p_sharing_datasets,
        {"id": ctx.object},
        status="withdrawn",
        withdrawn_reason=body.reason,
        updated_time=ctx.event.time,
    )
    _record_version(ctx, row.fields, row.category, "withdrawn")


TYPES = [
    EventType(
        "sharing.dataset.published",
        "dataset",
        DatasetFields,
        apply_published,
        scope=Scope.OWN,
        creates=True,
        label="发布共享目录",
    ),
    EventType(
        "sharing.dataset.updated",
        "dataset",
        DatasetFields,
        apply_updated,
        scope=Scope.OWN,
        label="更新共享目录",
    ),
    EventType(
        "sharing.dataset.withdrawn",
        "dataset",
        Withdrawal,
        apply_withdrawn,
        scope=Scope.OWN,
        label="撤销共享目录",
    ),
]
