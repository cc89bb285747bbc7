"""The task ledger's writes: one function per write, each checked before anything is appended.

Every action checks the user's permission and city (a user acts only for its own city, the
node's), then, holding the writer's lock, the request against the current projections, and
appends one event. A refusal raises Forbidden / Invalid / NotFound / Conflict
(lunan.events.errors) and stores nothing.

    chair city, MANAGE_TASKS  create_task, update_task, send_notice, decide, set_rules, set_areas
    lead or partner city      report_progress                                  (REPORT_TASKS)
    lead city                 request_extension, request_completion            (REPORT_TASKS)
    the notice's addressee    acknowledge_notice                               (REPORT_TASKS)
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel
from sqlalchemy import Engine

from lunan.auth.roles import Permission
from lunan.auth.users import User
from lunan.coop import queries
from lunan.coop.events import (
    AckBody,
    CompletionBody,
    DecisionBody,
    ExtensionBody,
    NoticeBody,
    ReportBody,
)
from lunan.coop.models import (
    AreaList,
    CompletionFields,
    ExtensionFields,
    NoticeFields,
    ReportFields,
    Rules,
    TaskFields,
)
from lunan.coop.queries import TaskView
from lunan.events.context import current_chair
from lunan.events.errors import Conflict, Forbidden, Invalid, NotFound
from lunan.services import NodeParts, authorize

CLOSED = "已办结"  # a closed task takes no more reports or requests


def _engine(parts: NodeParts) -> Engine:
    return parts.projector.engine


def _require_chair(parts: NodeParts, what: str) -> None:
    chair = current_chair(_engine(parts))
    if chair != parts.config.city:
        raise Forbidden(
            f"只有轮值城市（当前为 {chair}）可以{what} — only the chair city may do this, "
            f"and {parts.config.city} is not the chair"
        )


def _task(parts: NodeParts, task_id: str) -> TaskView:
    view = queries.get_task(_engine(parts), task_id)
    if view is None:
        raise NotFound(f"任务 {task_id} 不存在 — no task {task_id}", field="task")
    return view


def _members(parts: NodeParts) -> set[str]:
    """The alliance's member cities: from the alliance file, else the logs folded in."""
    if parts.alliance is not None and parts.alliance.members:
        return {m.city for m in parts.alliance.members}
    return set(queries.known_cities(_engine(parts)))


def _append(
    parts: NodeParts,
    user: User,
    type_name: str,
    kind: str,
    body: BaseModel,
    refers_to: Iterable[str | None] = (),
) -> str:
    """Append one event creating a new `kind` object; deps make the referred objects visible.
    Call with the writer's lock held."""
    writer = parts.writer
    object_id = writer.next_id(kind)
    deps = writer.deps_for(*(r for r in refers_to if r is not None))
    writer.append(type_name, object_id, body, user.actor(), deps)
    return object_id


# --- tasks ----------------------------------------------------------------------------------


def _check_fields(parts: NodeParts, fields: TaskFields, old: TaskView | None = None) -> None:
    engine = _engine(parts)
    if fields.area not in queries.current_areas(engine) and (
        old is None or old.fields.area != fields.area
    ):
        raise Invalid(
            f"领域“{fields.area}”不在配置的领域中 — area {fields.area!r} is not configured: "
            f"use one of {'、'.join(queries.current_areas(engine))}",
            field="area",
        )
    members = _members(parts)
    if fields.lead_city not in members:
        raise Invalid(
            f"牵头城市 {fields.lead_city} 不是联盟成员 — unknown city code {fields.lead_city}",
            field="lead_city",
        )
    for i, city in enumerate(fields.partner_cities):
        if city not in members:
            raise Invalid(
                f"配合城市 {city} 不是联盟成员 — unknown city code {city}",
                field=f"partner_cities.{i}",
            )
    same = queries.task_id_by_number(engine, fields.number)
    if same is not None and (old is None or same != old.id):
        raise Conflict(
            f"编号 {fields.number} 已被任务 {same} 使用 — task number {fields.number} is taken",
            field="number",
        )
    if fields.parent is not None:
        _check_parent(queries.task_parents(engine), fields.parent, None if old is None else old.id)


def _check_parent(parents: dict[str, str | None], parent: str, task_id: str | None) -> None:
    """The parent exists and is not the task itself or one of its sub-tasks."""
    if parent not in parents:
        raise Invalid(f"上级任务 {parent} 不存在 — no task {parent}", field="parent")
    current: str | None = parent
    seen: set[str] = set()
    while current is not None and current not in seen:
        if current == task_id:
            raise Invalid(
                f"上级任务 {parent} 是本任务或其下级 — parent {parent} is this task or under it",
                field="parent",
            )
        seen.add(current)
        current = parents.get(current)


def create_task(parts: NodeParts, user: User, fields: TaskFields) -> str:
    """Register (立项) and assign (交办) a task; returns its id `task/<chair>/<n>`."""
    authorize(parts, user, Permission.MANAGE_TASKS)
    with parts.writer.lock:
        _require_chair(parts, "立项交办任务")
        _check_fields(parts, fields)
        return _append(parts, user, "coop.task.created", "task", fields, [fields.parent])


def update_task(parts: NodeParts, user: User, task_id: str, fields: TaskFields) -> bool:
    """Replace a task's fields; False (and nothing appended) when nothing changed."""
    authorize(parts, user, Permission.MANAGE_TASKS)
    with parts.writer.lock:
        _require_chair(parts, "修改任务")
        old = _task(parts, task_id)
        if fields == old.fields:
            return False
        if fields.lead_city != old.fields.lead_city:
            raise Invalid(
                f"牵头城市不能更改（仍为 {old.fields.lead_city}） — the lead city cannot change",
                field="lead_city",
            )
        _check_fields(parts, fields, old)
        deps = parts.writer.deps_for(*(t for t in (task_id, fields.parent) if t is not None))
        parts.writer.append("coop.task.updated", task_id, fields, user.actor(), deps)
        return True


# --- progress -------------------------------------------------------------------------------


def report_progress(parts: NodeParts, user: User, task_id: str, report: ReportFields) -> str:
    """A progress report (进展报告) of the lead or a partner city; returns its id."""
    authorize(parts, user, Permission.REPORT_TASKS)
    city = parts.config.city
    with parts.writer.lock:
        task = _task(parts, task_id)
        if city != task.fields.lead_city and city not in task.fields.partner_cities:
            raise Forbidden(
                f"只有牵头城市和配合城市可以报送 {task_id} 的进展 — {city} neither leads nor "
                "supports this task"
            )
        if task.status == CLOSED:
            raise Conflict(f"任务 {task_id} 已办结 — the task is closed", field="task")
        body = ReportBody(task=task_id, **report.model_dump())
        return _append(parts, user, "coop.report.filed", "report", body, [task_id])


# --- notices --------------------------------------------------------------------------------


def send_notice(parts: NodeParts, user: User, task_id: str, notice: NoticeFields) -> str:
    """A reminder (催办) or supervision notice (督办) from the chair to the task's lead."""
    authorize(parts, user, Permission.MANAGE_TASKS)
    with parts.writer.lock:
        _require_chair(parts, "催办督办")
        _task(parts, task_id)
        body = NoticeBody(task=task_id, **notice.model_dump())
        return _append(parts, user, "coop.notice.sent", "notice", body, [task_id])


def acknowledge_notice(parts: NodeParts, user: User, notice_id: str) -> str:
    """The lead's acknowledgement (签收) of a notice addressed to it; returns the ack's id."""
    authorize(parts, user, Permission.REPORT_TASKS)
    with parts.writer.lock:
        notice = queries.find_notice(_engine(parts), notice_id)
        if notice is None:
            raise NotFound(f"通知 {notice_id} 不存在 — no notice {notice_id}", field="notice")
        if notice.to_city != parts.config.city:
            raise Forbidden(
                f"通知 {notice_id} 发给 {notice.to_city}，不是本市 — the notice is addressed "
                "to another city"
            )
        if notice.acknowledged is not None:
            raise Conflict(f"通知 {notice_id} 已签收 — already acknowledged", field="notice")
        return _append(
            parts, user, "coop.notice.acknowledged", "ack", AckBody(notice=notice_id), [notice_id]
        )


# --- requests and decisions -----------------------------------------------------------------


def _lead_task(parts: NodeParts, task_id: str, kind: str) -> TaskView:
    """The task, if this node's city leads it and it has no pending request of `kind`."""
    task = _task(parts, task_id)
    if task.fields.lead_city != parts.config.city:
        raise Forbidden(
            f"只有牵头城市 {task.fields.lead_city} 可以提出申请 — only the lead city files "
            "extension and completion requests"
        )
    if task.status == CLOSED:
        raise Conflict(f"任务 {task_id} 已办结 — the task is closed", field="task")
    requests = task.extensions if kind == "extension" else task.completions
    pending = [r.id for r in requests if r.decision is None]
    if pending:
        raise Conflict(
            f"已有待审批的申请 {pending[0]} — a request is already pending", field="task"
        )
    return task


def request_extension(parts: NodeParts, user: User, task_id: str, request: ExtensionFields) -> str:
    """An extension request (延期申请) by the lead: a new deadline after the one in force."""
    authorize(parts, user, Permission.REPORT_TASKS)
    with parts.writer.lock:
        task = _lead_task(parts, task_id, "extension")
        if request.new_deadline <= task.effective_deadline:
            raise Invalid(
                f"申请延至的日期须晚于现完成时限 {task.effective_deadline} — new_deadline must "
                "be after the deadline in force",
                field="new_deadline",
            )
        body = ExtensionBody(task=task_id, **request.model_dump())
        return _append(parts, user, "coop.extension.requested", "extension", body, [task_id])


def request_completion(
    parts: NodeParts, user: User, task_id: str, request: CompletionFields
) -> str:
    """A completion request (办结申请) by the lead."""
    authorize(parts, user, Permission.REPORT_TASKS)
    with parts.writer.lock:
        _lead_task(parts, task_id, "completion")
        body = CompletionBody(task=task_id, **request.model_dump())
        return _append(parts, user, "coop.completion.requested", "completion", body, [task_id])


def decide(parts: NodeParts, user: User, request_id: str, approve: bool, reason: str) -> str:
    """The chair's decision on a pending extension or completion request."""
    authorize(parts, user, Permission.MANAGE_TASKS)
    body = DecisionBody(request=request_id, approve=approve, reason=reason)
    with parts.writer.lock:
        _require_chair(parts, "审批申请")
        request = queries.find_request(_engine(parts), request_id)
        if request is None:
            raise NotFound(f"申请 {request_id} 不存在 — no request {request_id}", field="request")
        if request.decision is not None:
            raise Conflict(
                f"申请 {request_id} 已审批（{request.decision.id}） — already decided",
                field="request",
            )
        return _append(parts, user, "coop.decision.made", "decision", body, [request_id])


# --- settings -------------------------------------------------------------------------------


def set_rules(parts: NodeParts, user: User, rules: Rules) -> str:
    """A new version of the supervision rules, in force from its `effective_from`."""
    authorize(parts, user, Permission.MANAGE_TASKS)
    with parts.writer.lock:
        _require_chair(parts, "设置督办规则")
        return _append(parts, user, "coop.rules.set", "rules", rules)


def set_areas(parts: NodeParts, user: User, areas: AreaList) -> str:
    """The areas new tasks may be filed under; tasks keep the area they have."""
    authorize(parts, user, Permission.MANAGE_TASKS)
    with parts.writer.lock:
        _require_chair(parts, "设置任务领域")
        return _append(parts, user, "coop.areas.set", "areas", areas)
