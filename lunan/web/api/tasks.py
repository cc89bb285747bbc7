"""The task ledger (台账) over JSON: tasks, progress reports, supervision, roll-ups.

Reads need any signed-in user (READ). Writes go through `lunan.coop.actions`, which check the
user's city and role and the request before appending; a refusal is a problem document (403
wrong city or role, 404 unknown object, 409 conflicting state, 422 naming the field) and
stores nothing. Task ids in URLs are `/api/v1/tasks/{city}/{n}` for `task/{city}/{n}`.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field

from lunan.auth.roles import Permission
from lunan.auth.users import User
from lunan.auth.web import require
from lunan.coop import actions, queries
from lunan.coop import supervision as sv
from lunan.coop.events import DecisionBody
from lunan.coop.models import (
    AreaList,
    CompletionFields,
    ExtensionFields,
    NoticeFields,
    ReportFields,
    Rules,
    TaskFields,
)
from lunan.coop.queries import (
    CityRollup,
    Colour,
    ColourChange,
    Rollup,
    RuleVersionView,
    Status,
    TaskView,
)
from lunan.events.errors import NotFound
from lunan.web.api.common import node_parts as _parts

router = APIRouter(prefix="/api/v1", tags=["tasks"])

Reader = Annotated[User, Depends(require(Permission.READ))]
Manager = Annotated[User, Depends(require(Permission.MANAGE_TASKS))]
Reporter = Annotated[User, Depends(require(Permission.REPORT_TASKS))]
CityPath = Annotated[str, Path(pattern=r"^\d{6}$", description="the owner city, e.g. 371300")]
NumberPath = Annotated[int, Path(ge=1, le=2**53 - 1)]
CityQuery = Annotated[str | None, Query(pattern=r"^\d{6}$")]
SORT = r"^-?(" + "|".join(queries.SORTS) + r")$"


class Created(BaseModel):
    id: str = Field(examples=["task/371300/1"])


class Updated(BaseModel):
    id: str
    changed: bool = Field(description="false when the fields were already so: nothing written")


class TaskDetail(TaskView):
    history: list[ColourChange] = Field(description="colour changes from the start to today")


class Thresholds(BaseModel):
    yellow_behind: int
    yellow_days: int
    red_behind: int


class RulesOut(BaseModel):
    in_force: Thresholds = Field(description="the rules in force today")
    defaults: Thresholds
    versions: list[RuleVersionView]


class AreasOut(BaseModel):
    areas: list[str]


class RollupOut(BaseModel):
    alliance: Rollup | None = None
    areas: list[Rollup] | None = None
    cities: list[CityRollup] | None = None


def _thresholds(t: sv.Thresholds) -> Thresholds:
    return Thresholds(
        yellow_behind=t.yellow_behind, yellow_days=t.yellow_days, red_behind=t.red_behind
    )


# --- tasks ----------------------------------------------------------------------------------


@router.get("/tasks")
def list_tasks(
    request: Request,
    _user: Reader,
    area: str | None = None,
    lead_city: CityQuery = None,
    partner_city: CityQuery = None,
    colour: Colour | None = None,
    status: Status | None = None,
    due_before: Annotated[
        date | None, Query(description="effective deadline on or before this day")
    ] = None,
    sort: Annotated[str, Query(pattern=SORT, description="'-' in front: descending")] = "number",
    today: Annotated[date | None, Query(description="judge as of this day")] = None,
) -> list[TaskView]:
    """The ledger, filtered and sorted; each task with its progress, status and colour."""
    return queries.list_tasks(
        _parts(request).projector.engine,
        area=area,
        lead_city=lead_city,
        partner_city=partner_city,
        colour=colour,
        status=status,
        due_before=due_before,
        sort=sort,
        today=today,
    )


@router.post("/tasks", status_code=201)
def create_task(fields: TaskFields, request: Request, user: Manager) -> Created:
    """Register and assign a task (立项交办): the chair city only."""
    return Created(id=actions.create_task(_parts(request), user, fields))


@router.get("/tasks/rollup")
def rollup(
    request: Request,
    _user: Reader,
    by: Literal["area", "city", "alliance"] | None = None,
    today: date | None = None,
) -> RollupOut:
    """Counts by colour and status and mean progress: by area, by city (as lead and as
    partner), for the whole alliance; all three when `by` is not given."""
    engine = _parts(request).projector.engine
    return RollupOut(
        alliance=queries.rollup_alliance(engine, today) if by in (None, "alliance") else None,
        areas=queries.rollup_by_area(engine, today) if by in (None, "area") else None,
        cities=queries.rollup_by_city(engine, today) if by in (None, "city") else None,
    )


@router.get("/tasks/rules")
def get_rules(request: Request, _user: Reader) -> RulesOut:
    """The supervision rules in force today, the defaults, and every version set."""
    engine = _parts(request).projector.engine
    return RulesOut(
        in_force=_thresholds(queries.rules_in_force(engine)),
        defaults=_thresholds(sv.DEFAULT),
        versions=queries.rule_versions(engine),
    )


@router.put("/tasks/rules")
def put_rules(rules: Rules, request: Request, user: Manager) -> Created:
    """A new version of the rules, in force from `effective_from`: the chair city only."""
    return Created(id=actions.set_rules(_parts(request), user, rules))


@router.get("/tasks/areas")
def get_areas(request: Request, _user: Reader) -> AreasOut:
    return AreasOut(areas=list(queries.current_areas(_parts(request).projector.engine)))


@router.put("/tasks/areas")
def put_areas(areas: AreaList, request: Request, user: Manager) -> Created:
    """The areas new tasks may use: the chair city only."""
    return Created(id=actions.set_areas(_parts(request), user, areas))


@router.get("/tasks/{city}/{n}")
def get_task(
    city: CityPath, n: NumberPath, request: Request, _user: Reader, today: date | None = None
) -> TaskDetail:
    """One task with its reports, notices, requests and colour history."""
    task_id = f"task/{city}/{n}"
    found = queries.task_with_history(_parts(request).projector.engine, task_id, today)
    if found is None:
        raise NotFound(f"任务 {task_id} 不存在 — no task {task_id}")
    view, history = found
    return TaskDetail(**dict(view), history=history)


@router.put("/tasks/{city}/{n}")
def update_task(
    city: CityPath, n: NumberPath, fields: TaskFields, request: Request, user: Manager
) -> Updated:
    """Replace a task's fields (the lead city stays): the chair city only."""
    task_id = f"task/{city}/{n}"
    changed = actions.update_task(_parts(request), user, task_id, fields)
    return Updated(id=task_id, changed=changed)


@router.post("/tasks/{city}/{n}/reports", status_code=201)
def report_progress(
    city: CityPath, n: NumberPath, report: ReportFields, request: Request, user: Reporter
) -> Created:
    """A progress report (进展报告) by the lead or a partner city."""
    task_id = f"task/{city}/{n}"
    return Created(id=actions.report_progress(_parts(request), user, task_id, report))


@router.post("/tasks/{city}/{n}/notices", status_code=201)
def send_notice(
    city: CityPath, n: NumberPath, notice: NoticeFields, request: Request, user: Manager
) -> Created:
    """A reminder (催办) or supervision notice (督办) to the lead: the chair city only."""
    task_id = f"task/{city}/{n}"
    return Created(id=actions.send_notice(_parts(request), user, task_id, notice))


@router.post("/tasks/{city}/{n}/extensions", status_code=201)
def request_extension(
    city: CityPath, n: NumberPath, body: ExtensionFields, request: Request, user: Reporter
) -> Created:
    """An extension request (延期申请): the lead city only."""
    task_id = f"task/{city}/{n}"
    return Created(id=actions.request_extension(_parts(request), user, task_id, body))


@router.post("/tasks/{city}/{n}/completions", status_code=201)
def request_completion(
    city: CityPath, n: NumberPath, body: CompletionFields, request: Request, user: Reporter
) -> Created:
    """A completion request (办结申请): the lead city only."""
    task_id = f"task/{city}/{n}"
    return Created(id=actions.request_completion(_parts(request), user, task_id, body))


@router.post("/notices/{city}/{n}/acknowledge", status_code=201)
def acknowledge_notice(city: CityPath, n: NumberPath, request: Request, user: Reporter) -> Created:
    """Acknowledge (签收) a notice addressed to this city."""
    notice_id = f"notice/{city}/{n}"
    return Created(id=actions.acknowledge_notice(_parts(request), user, notice_id))


@router.post("/decisions", status_code=201)
def decide(body: DecisionBody, request: Request, user: Manager) -> Created:
    """Approve or refuse a pending extension or completion request: the chair city only."""
    decision = actions.decide(_parts(request), user, body.request, body.approve, body.reason)
    return Created(id=decision)
