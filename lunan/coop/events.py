"""The task ledger's event types: their bodies, and how each is folded into the projection.

Who writes what (object ids name the owner, DESIGN §3.2):

    task/<chair>/<n>        coop.task.created, coop.task.updated   the chair (alliance-wide)
    rules/<chair>/<n>       coop.rules.set                         the chair (alliance-wide)
    areas/<chair>/<n>       coop.areas.set                         the chair (alliance-wide)
    decision/<chair>/<n>    coop.decision.made                     the chair (alliance-wide)
    notice/<chair>/<n>      coop.notice.sent                       the chair city, as itself
    report/<city>/<n>       coop.report.filed                      the lead or a partner city
    ack/<lead>/<n>          coop.notice.acknowledged               the notice's addressee
    extension/<lead>/<n>    coop.extension.requested               the task's lead city
    completion/<lead>/<n>   coop.completion.requested              the task's lead city

An apply function reads another log's object only through `ctx.require` and uses only its
immutable attributes: a task's lead city (which `coop.task.updated` may not change) and a
notice's addressee. Rules that depend on changeable facts — a partner may report, an extension
must move the deadline — are checked by the actions when writing, not here.
"""

from __future__ import annotations

from pydantic import Field
from sqlalchemy import Table, func, select

from lunan.coop.models import (
    AreaList,
    CompletionFields,
    ExtensionFields,
    Model,
    NoticeFields,
    ReportFields,
    Rules,
    TaskFields,
)
from lunan.coop.tables import (
    p_coop_acks,
    p_coop_areas,
    p_coop_decisions,
    p_coop_notices,
    p_coop_reports,
    p_coop_requests,
    p_coop_rules,
    p_coop_tasks,
)
from lunan.events.context import Apply, dumps
from lunan.events.registry import EventType, Scope

TASK_ID = r"^task/\d{6}/\d+$"
NOTICE_ID = r"^notice/\d{6}/\d+$"
REQUEST_ID = r"^(extension|completion)/\d{6}/\d+$"


# --- bodies ---------------------------------------------------------------------------------


class ReportBody(ReportFields):
    task: str = Field(pattern=TASK_ID)


class NoticeBody(NoticeFields):
    task: str = Field(pattern=TASK_ID)


class AckBody(Model):
    notice: str = Field(pattern=NOTICE_ID)


class ExtensionBody(ExtensionFields):
    task: str = Field(pattern=TASK_ID)


class CompletionBody(CompletionFields):
    task: str = Field(pattern=TASK_ID)


class DecisionBody(Model):
    request: str = Field(pattern=REQUEST_ID, title="申请", examples=["extension/370400/1"])
    approve: bool = Field(title="是否批准")
    reason: str = Field(default="", max_length=2000, title="审批意见")


# --- tasks ----------------------------------------------------------------------------------


def _check_task(ctx: Apply, body: TaskFields) -> None:
    """What every version of a task must satisfy: a known parent, no loop, a unique number.

    Tasks are only ever written by the chair, each chair's events following the previous
    chair's, so every task row here is covered by the event's deps and reading them is stable.
    """
    if body.parent is not None:
        ctx.require(body.parent, "task")
        if _descends_from(ctx, body.parent, ctx.object):
            raise ctx.reject("invalid-body", f"parent {body.parent} is {ctx.object} or under it")
    q = select(p_coop_tasks.c.id).where(
        p_coop_tasks.c.number == body.number, p_coop_tasks.c.id != ctx.object
    )
    other = ctx.conn.execute(q).scalar()
    if other is not None:
        raise ctx.reject("duplicate-number", f"task number {body.number} is {other}'s")


def _descends_from(ctx: Apply, task: str, ancestor: str) -> bool:
    seen: set[str] = set()
    current: str | None = task
    while current is not None and current not in seen:
        if current == ancestor:
            return True
        seen.add(current)
        row = ctx.row(p_coop_tasks, id=current)
        current = None if row is None else row.parent
    return False


def _task_columns(body: TaskFields) -> dict[str, str | None]:
    return {
        "number": body.number,
        "area": body.area,
        "lead_city": body.lead_city,
        "parent": body.parent,
        "fields": dumps(body.model_dump(mode="json")),
    }


def apply_task_created(ctx: Apply, body: TaskFields) -> None:
    _check_task(ctx, body)
    ctx.insert(
        p_coop_tasks,
        id=ctx.object,
        **_task_columns(body),
        created=ctx.position,
        created_time=ctx.event.time,
        updated=ctx.position,
        updated_time=ctx.event.time,
    )


def apply_task_updated(ctx: Apply, body: TaskFields) -> None:
    row = ctx.row(p_coop_tasks, id=ctx.object)
    if row is None:  # the object exists (the engine checked), so its creation was refused
        raise ctx.reject("unknown-object", f"{ctx.object} is not a task")
    if body.lead_city != row.lead_city:
        raise ctx.reject(
            "lead-fixed", f"the lead city of {ctx.object} is {row.lead_city}; it cannot change"
        )
    _check_task(ctx, body)
    ctx.update(
        p_coop_tasks,
        {"id": ctx.object},
        **_task_columns(body),
        updated=ctx.position,
        updated_time=ctx.event.time,
    )


def _lead_of(ctx: Apply, task: str) -> str:
    ctx.require(task, "task")
    row = ctx.row(p_coop_tasks, id=task)
    if row is None:
        raise ctx.reject("unknown-object", f"{task} is not a task")
    lead: str = row.lead_city
    return lead


# --- progress reports -----------------------------------------------------------------------


def apply_report(ctx: Apply, body: ReportBody) -> None:
    # Whether the city is the lead or a partner is checked when writing: partners may change.
    ctx.require(body.task, "task")
    ctx.insert(
        p_coop_reports,
        id=ctx.object,
        task=body.task,
        city=ctx.origin,
        idx=ctx.idx,
        period=body.period,
        progress=body.progress,
        done=body.done,
        problems=body.problems,
        next_steps=body.next_steps,
        attachments=dumps([a.model_dump(mode="json") for a in body.attachments]),
        time=ctx.event.time,
    )


# --- rules and areas (versions, numbered in the order the chairs set them) ------------------


def _next_seq(ctx: Apply, table: Table) -> int:
    count: int = ctx.conn.execute(select(func.count()).select_from(table)).scalar_one()
    return count + 1


def apply_rules(ctx: Apply, body: Rules) -> None:
    ctx.insert(
        p_coop_rules,
        id=ctx.object,
        seq=_next_seq(ctx, p_coop_rules),
        effective_from=body.effective_from.isoformat(),
        yellow_behind=body.yellow_behind,
        yellow_days=body.yellow_days,
        red_behind=body.red_behind,
        time=ctx.event.time,
    )


def apply_areas(ctx: Apply, body: AreaList) -> None:
    ctx.insert(
        p_coop_areas,
        id=ctx.object,
        seq=_next_seq(ctx, p_coop_areas),
        areas=dumps(list(body.areas)),
        time=ctx.event.time,
    )


# --- notices --------------------------------------------------------------------------------


def apply_notice(ctx: Apply, body: NoticeBody) -> None:
    if not ctx.is_chair(ctx.origin):
        raise ctx.reject("not-chair", f"only the chair city sends notices; {ctx.origin} is not")
    lead = _lead_of(ctx, body.task)
    ctx.insert(
        p_coop_notices,
        id=ctx.object,
        task=body.task,
        kind=body.kind,
        message=body.message,
        due=None if body.due is None else body.due.isoformat(),
        to_city=lead,
        time=ctx.event.time,
    )


def apply_ack(ctx: Apply, body: AckBody) -> None:
    ctx.require(body.notice, "notice")
    notice = ctx.row(p_coop_notices, id=body.notice)
    if notice is None or notice.to_city != ctx.origin:
        raise ctx.reject("not-addressee", f"{body.notice} is not addressed to {ctx.origin}")
    # Only the addressee acknowledges, in its own log: this lookup reads one log's rows.
    if ctx.row(p_coop_acks, notice=body.notice) is not None:
        raise ctx.reject("exists", f"{body.notice} was already acknowledged")
    ctx.insert(p_coop_acks, id=ctx.object, notice=body.notice, city=ctx.origin, time=ctx.event.time)


# --- requests and decisions -----------------------------------------------------------------


def _insert_request(
    ctx: Apply, kind: str, task: str, text: str, new_deadline: str | None, attachments: str
) -> None:
    lead = _lead_of(ctx, task)
    if lead != ctx.origin:
        raise ctx.reject("not-lead", f"only the lead city {lead} of {task} files a {kind} request")
    ctx.insert(
        p_coop_requests,
        id=ctx.object,
        kind=kind,
        task=task,
        city=ctx.origin,
        new_deadline=new_deadline,
        text=text,
        attachments=attachments,
        time=ctx.event.time,
    )


def apply_extension(ctx: Apply, body: ExtensionBody) -> None:
    _insert_request(
        ctx, "extension", body.task, body.reason, body.new_deadline.isoformat(), dumps([])
    )


def apply_completion(ctx: Apply, body: CompletionBody) -> None:
    attachments = dumps([a.model_dump(mode="json") for a in body.attachments])
    _insert_request(ctx, "completion", body.task, body.summary, None, attachments)


def apply_decision(ctx: Apply, body: DecisionBody) -> None:
    ctx.require(body.request)  # its kind is extension or completion: the body's pattern says so
    # Decisions are the chair's, each chair's following the last: one log's rows at a time.
    if ctx.row(p_coop_decisions, request=body.request) is not None:
        raise ctx.reject("exists", f"{body.request} was already decided")
    ctx.insert(
        p_coop_decisions,
        id=ctx.object,
        request=body.request,
        approve=body.approve,
        reason=body.reason,
        time=ctx.event.time,
    )


TYPES: list[EventType] = [
    EventType(
        "coop.task.created",
        "task",
        TaskFields,
        apply_task_created,
        scope=Scope.ALLIANCE,
        creates=True,
        label="任务立项",
    ),
    EventType(
        "coop.task.updated",
        "task",
        TaskFields,
        apply_task_updated,
        scope=Scope.ALLIANCE,
        label="任务修改",
    ),
    EventType(
        "coop.report.filed", "report", ReportBody, apply_report, creates=True, label="进展报告"
    ),
    EventType(
        "coop.rules.set",
        "rules",
        Rules,
        apply_rules,
        Scope.ALLIANCE,
        creates=True,
        label="督办规则",
    ),
    EventType(
        "coop.areas.set",
        "areas",
        AreaList,
        apply_areas,
        Scope.ALLIANCE,
        creates=True,
        label="任务领域",
    ),
    EventType(
        "coop.notice.sent", "notice", NoticeBody, apply_notice, creates=True, label="催办督办"
    ),
    EventType(
        "coop.notice.acknowledged", "ack", AckBody, apply_ack, creates=True, label="通知签收"
    ),
    EventType(
        "coop.extension.requested",
        "extension",
        ExtensionBody,
        apply_extension,
        creates=True,
        label="延期申请",
    ),
    EventType(
        "coop.completion.requested",
        "completion",
        CompletionBody,
        apply_completion,
        creates=True,
        label="办结申请",
    ),
    EventType(
        "coop.decision.made",
        "decision",
        DecisionBody,
        apply_decision,
        Scope.ALLIANCE,
        creates=True,
        label="审批决定",
    ),
]
