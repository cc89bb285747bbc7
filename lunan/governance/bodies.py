"""Bodies of the linkage mechanism: 领导小组 and 工作专班, alliance-wide, kept by the chair.

gov.body.created    body/<chair>/<n>  BodyFields
gov.body.updated    body/<chair>/<n>  BodyFields (the kind never changes)
gov.body.dissolved  body/<chair>/<n>  Dissolution
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row

from lunan.events.context import Apply, dumps
from lunan.events.registry import EventType, Scope
from lunan.governance.models import BodyFields, Dissolution
from lunan.governance.rules import as_json, require_members
from lunan.governance.tables import p_gov_bodies


def _check(ctx: Apply, body: BodyFields) -> None:
    require_members(ctx, [body.lead_city], "lead city")
    require_members(ctx, (m.city for m in body.members), "member city")


def _values(body: BodyFields) -> dict[str, object]:
    return {
        "name": body.name,
        "lead_city": body.lead_city,
        "lead_department": body.lead_department,
        "duties": body.duties,
        "members": dumps(as_json(body.members)),
        "note": body.note,
    }


def apply_created(ctx: Apply, body: BodyFields) -> None:
    _check(ctx, body)
    ctx.insert(
        p_gov_bodies,
        id=ctx.object,
        kind=body.kind,
        status="active",
        created_time=ctx.event.time,
        updated_time=ctx.event.time,
        **_values(body),
    )


def _live(ctx: Apply) -> Row[Any]:
    row = ctx.row(p_gov_bodies, id=ctx.object)
    assert row is not None  # the engine checked that the object exists
    if row.status == "dissolved":
        raise ctx.reject("dissolved", f"{ctx.object} was dissolved")
    return row


def apply_updated(ctx: Apply, body: BodyFields) -> None:
    row = _live(ctx)
    if row.kind != body.kind:
        raise ctx.reject("immutable", f"{ctx.object} is a {row.kind}; its kind cannot change")
    _check(ctx, body)
    ctx.update(p_gov_bodies, {"id": ctx.object}, updated_time=ctx.event.time, **_values(body))


def apply_dissolved(ctx: Apply, body: Dissolution) -> None:
    _live(ctx)
    note = {"note": body.note} if body.note else {}  # else the body's note stays
    ctx.update(
        p_gov_bodies, {"id": ctx.object}, status="dissolved", updated_time=ctx.event.time, **note
    )


TYPES = [
    EventType(
        "gov.body.created",
        "body",
        BodyFields,
        apply_created,
        scope=Scope.ALLIANCE,
        creates=True,
        label="设立机构",
    ),
    EventType(
        "gov.body.updated",
        "body",
        BodyFields,
        apply_updated,
        scope=Scope.ALLIANCE,
        label="调整机构",
    ),
    EventType(
        "gov.body.dissolved",
        "body",
        Dissolution,
        apply_dissolved,
        scope=Scope.ALLIANCE,
        label="撤销机构",
    ),
]
