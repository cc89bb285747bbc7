"""Landed projects (落地项目), each owned by the city that records it.

    gov.project.created  project/<city>/<n>  ProjectFields
    gov.project.updated  project/<city>/<n>  ProjectFields

The recording city is not a claim about where a project is: that is `location`, left empty
where the source does not say.
"""

from __future__ import annotations

from lunan.events.context import Apply
from lunan.events.registry import EventType, Scope
from lunan.governance.models import ProjectFields
from lunan.governance.tables import p_gov_projects


def _values(ctx: Apply, body: ProjectFields) -> dict[str, object]:
    if body.source_ref is not None:
        ctx.require(body.source_ref.split("#", 1)[0])
    return {
        "name": body.name,
        "location": body.location,
        "area": body.area,
        "description": body.description,
        "source_ref": body.source_ref,
        "note": body.note,
        "updated_time": ctx.event.time,
    }


def apply_created(ctx: Apply, body: ProjectFields) -> None:
    values = _values(ctx, body)
    ctx.insert(
        p_gov_projects, id=ctx.object, recorded_by=ctx.origin, created_time=ctx.event.time, **values
    )


def apply_updated(ctx: Apply, body: ProjectFields) -> None:
    values = _values(ctx, body)
    ctx.update(p_gov_projects, {"id": ctx.object}, **values)


TYPES = [
    EventType(
        "gov.project.created",
        "project",
        ProjectFields,
        apply_created,
        scope=Scope.OWN,
        creates=True,
        label="登记落地项目",
    ),
    EventType(
        "gov.project.updated",
        "project",
        ProjectFields,
        apply_updated,
        scope=Scope.OWN,
        label="修改落地项目",
    ),
]
