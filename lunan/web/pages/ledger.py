"""台账 (the task ledger): the filtered list, a task's page, the forms of each role, and the
spreadsheet's export and import.

Who may act (checked by `lunan.coop.actions`; the page only hides what would be refused):
the chair city's coordinators register tasks, send 催办/督办 and approve requests; the lead and
partner cities' officers and coordinators report progress; the lead city asks for an extension
or for completion and acknowledges notices.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from lunan.auth.roles import Permission
from lunan.auth.users import User
from lunan.coop import actions, queries, spreadsheet
from lunan.coop.events import DecisionBody
from lunan.coop.models import (
    COLOURS,
    NOTICE_KINDS,
    SOURCES,
    STATUSES,
    CompletionFields,
    ExtensionFields,
    NoticeFields,
    ReportFields,
    TaskFields,
)
from lunan.coop.queries import TaskView
from lunan.events.context import current_chair
from lunan.events.errors import Invalid
from lunan.web.pages import render
from lunan.web.pages.deps import Form, Reader, forbidden, needs, not_found
from lunan.web.pages.forms import FormState, optional, text, texts, upload
from lunan.web.pages.i18n import Translator

router = APIRouter(include_in_schema=False)

Manager = Annotated[User, Depends(needs(Permission.MANAGE_TASKS))]
Reporter = Annotated[User, Depends(needs(Permission.REPORT_TASKS))]

CITY = re.compile(r"^\d{6}$")
MILESTONE = re.compile(r"^(\d{4}-\d{1,2}-\d{1,2})[\s:：]+(\S.*)$")
MAX_UPLOAD = 10 * 1024 * 1024
SORT_LABELS = {
    "number": "编号",
    "deadline": "完成时限",
    "progress": "进度",
    "colour": "预警",
    "status": "状态",
    "area": "领域",
    "lead_city": "牵头城市",
}
DONE = {
    "created": "任务已立项交办",
    "report": "进展已报送",
    "notice": "通知已发出",
    "extension": "延期申请已提交",
    "completion": "办结申请已提交",
    "decision": "审批已完成",
    "ack": "通知已签收",
}
TASK_FIELDS = (
    "number",
    "title",
    "requirement",
    "area",
    "source",
    "source_ref",
    "lead_city",
    "lead_department",
    "partner_cities",
    "responsible",
    "start",
    "deadline",
    "milestones",
    "weight",
    "parent",
)


def task_id_of(city: str, n: str) -> str:
    if not CITY.match(city) or not n.isdigit() or len(n) > 15:
        raise not_found(f"任务 task/{city}/{n} 不存在")
    return f"task/{city}/{int(n)}"


def task_url(task_id: str) -> str:
    return "/tasks/" + task_id.removeprefix("task/")


# --- the list -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    area: str = ""
    lead_city: str = ""
    partner_city: str = ""
    colour: str = ""
    status: str = ""
    due_before: str = ""
    sort: str = "number"

    @property
    def due(self) -> date | None:
        try:
            return date.fromisoformat(self.due_before) if self.due_before else None
        except ValueError:
            return None

    def query(self) -> str:
        """The filters as a query string, for the export link."""
        pairs = [(k, v) for k, v in self.__dict__.items() if v and k != "sort"]
        return "&".join(f"{k}={quote(v)}" for k, v in pairs)


def filters_of(
    area: str, lead_city: str, partner_city: str, colour: str, status: str, due: str, sort: str
) -> Filters:
    """What was asked for, with anything that is not a valid choice dropped."""
    sort_key = sort.removeprefix("-")
    return Filters(
        area=area,
        lead_city=lead_city if CITY.match(lead_city) else "",
        partner_city=partner_city if CITY.match(partner_city) else "",
        colour=colour if colour in COLOURS else "",
        status=status if status in STATUSES else "",
        due_before=due if re.match(r"^\d{4}-\d{2}-\d{2}$", due) else "",
        sort=sort if sort_key in queries.SORTS else "number",
    )


Text = Annotated[str, Query(max_length=100)]


@router.get("/tasks", response_class=HTMLResponse)
def task_list(
    request: Request,
    user: Reader,
    area: Text = "",
    lead_city: Text = "",
    partner_city: Text = "",
    colour: Text = "",
    status: Text = "",
    due_before: Text = "",
    sort: Text = "number",
) -> HTMLResponse:
    parts = render.parts_of(request)
    engine = parts.projector.engine
    f = filters_of(area, lead_city, partner_city, colour, status, due_before, sort)
    tasks = queries.list_tasks(
        engine,
        area=f.area or None,
        lead_city=f.lead_city or None,
        partner_city=f.partner_city or None,
        colour=f.colour or None,
        status=f.status or None,
        due_before=f.due,
        sort=f.sort,
    )
    areas = list(queries.current_areas(engine))
    areas += sorted({t.fields.area for t in queries.list_tasks(engine)} - set(areas))
    context = {
        "active": "tasks",
        "tasks": tasks,
        "filters": f,
        "areas": areas,
        "colours": COLOURS,
        "statuses": STATUSES,
        "sorts": SORT_LABELS,
        "alliance": queries.rollup_alliance(engine),
        "may_create": _is_chair_manager(request, user),
    }
    template = "_task_table.html" if render.is_htmx(request) else "tasks.html"
    return render.render(request, template, context)


def _is_chair_manager(request: Request, user: User) -> bool:
    parts = render.parts_of(request)
    city = parts.config.city
    return (
        user.can(Permission.MANAGE_TASKS)
        and user.city == city
        and current_chair(parts.projector.engine) == city
    )


# --- a task's page --------------------------------------------------------------------------


@dataclass(frozen=True)
class Perms:
    """What the user may do on this task from this node (the actions check it again)."""

    report: bool
    notice: bool
    extension: bool
    completion: bool
    decide: bool
    ack: frozenset[str]  # notices this user may acknowledge


def perms(request: Request, user: User, task: TaskView) -> Perms:
    parts = render.parts_of(request)
    city = parts.config.city
    own = user.city == city
    open_ = task.status != actions.CLOSED
    reporter = own and user.can(Permission.REPORT_TASKS)
    lead = reporter and task.fields.lead_city == city and open_
    chair = own and user.can(Permission.MANAGE_TASKS) and _is_chair_manager(request, user)
    return Perms(
        report=reporter and open_ and city in (task.fields.lead_city, *task.fields.partner_cities),
        notice=chair,
        extension=lead and not any(r.decision is None for r in task.extensions),
        completion=lead and not any(r.decision is None for r in task.completions),
        decide=chair,
        ack=frozenset(
            n.id for n in task.notices if reporter and n.to_city == city and n.acknowledged is None
        ),
    )


@dataclass(frozen=True)
class TimelineItem:
    day: date
    label: str  # zh, translated in the template
    title: str
    kind: str  # start | milestone | deadline | extended | today
    past: bool


def timeline(task: TaskView, today: date) -> list[TimelineItem]:
    """The task's dates in order: start, milestones, deadline (and the one in force), today."""
    f = task.fields
    items = [TimelineItem(f.start, "开始", "", "start", f.start <= today)]
    items += [
        TimelineItem(m.date, "节点事项", m.title, "milestone", m.date <= today)
        for m in f.milestones
    ]
    items.append(TimelineItem(f.deadline, "完成时限", "", "deadline", f.deadline <= today))
    if task.effective_deadline != f.deadline:
        items.append(
            TimelineItem(
                task.effective_deadline, "延期至", "", "extended", task.effective_deadline <= today
            )
        )
    items.append(TimelineItem(today, "今天", "", "today", True))
    order = {"start": 0, "milestone": 1, "deadline": 2, "extended": 3, "today": 4}
    return sorted(items, key=lambda i: (i.day, order[i.kind]))


def report_form(task: TaskView, node_city: str, today: date) -> FormState:
    progress = int(task.progress) if task.fields.lead_city == node_city else ""
    return FormState("report", {"period": today.strftime("%Y-%m"), "progress": progress})


def task_context(
    request: Request,
    user: User,
    task_id: str,
    forms: dict[str, FormState] | None = None,
    done: str | None = None,
) -> dict[str, Any]:
    parts = render.parts_of(request)
    engine = parts.projector.engine
    found = queries.task_with_history(engine, task_id)
    if found is None:
        raise not_found(f"任务 {task_id} 不存在 — no task {task_id}")
    task, history = found
    today = render.today()
    states = {
        "report": report_form(task, parts.config.city, today),
        "notice": FormState("notice", {"kind": "催办"}),
        "extension": FormState("extension"),
        "completion": FormState("completion"),
        "decision": FormState("decision"),
        **(forms or {}),
    }
    parent = queries.get_task(engine, task.fields.parent) if task.fields.parent else None
    children = [v for c in task.children if (v := queries.get_task(engine, c)) is not None]
    return {
        "active": "tasks",
        "task": task,
        "url": task_url(task_id),
        "history": list(reversed(history)),
        "timeline": timeline(task, today),
        "parent_task": parent,
        "children": children,
        "perm": perms(request, user, task),
        "forms": states,
        "blank_decision": FormState("decision"),
        "done": DONE.get(done or ""),
        "sources": SOURCES,
        "notice_kinds": NOTICE_KINDS,
        "pending": [r for r in (*task.extensions, *task.completions) if r.decision is None],
    }


@router.get("/tasks/{city}/{n}", response_class=HTMLResponse)
def task_page(
    request: Request,
    city: str,
    n: str,
    user: Reader,
    ok: Annotated[str, Query(max_length=20)] = "",
) -> HTMLResponse:
    return render.render(
        request, "task.html", task_context(request, user, task_id_of(city, n), done=ok)
    )


def _answer(request: Request, user: User, task_id: str, state: FormState) -> Response:
    """After an action form: the refreshed task (htmx) or a redirect to it; on failure the
    form again with its errors, in place."""
    if state.ok:
        if render.is_htmx(request):
            context = task_context(request, user, task_id, done=state.name)
            return render.render(request, "_task.html", context)
        return RedirectResponse(f"{task_url(task_id)}?ok={state.name}", status_code=303)
    context = task_context(request, user, task_id, forms={state.name: state})
    if render.is_htmx(request):
        target = state.value("target", f"form-{state.name}")
        headers = {"HX-Retarget": f"#{target}", "HX-Reswap": "outerHTML"}
        return render.render(
            request, f"_form_{state.name}.html", context, status=state.status, headers=headers
        )
    return render.render(request, "task.html", context, status=state.status)


def _translator(request: Request) -> Translator:
    return Translator(render.viewer_of(request).lang)


@router.post("/tasks/{city}/{n}/reports", response_class=HTMLResponse)
def post_report(request: Request, city: str, n: str, user: Reporter, form: Form) -> Response:
    task_id, _ = task_id_of(city, n), _translator(request)
    names = ("period", "progress", "done", "problems", "next_steps")
    state = FormState("report", {k: text(form, k) for k in names})
    fields = state.validate(ReportFields, dict(state.values), _)
    if fields is not None:
        parts = render.parts_of(request)
        state.attempt(lambda: actions.report_progress(parts, user, task_id, fields), _)
    return _answer(request, user, task_id, state)


@router.post("/tasks/{city}/{n}/notices", response_class=HTMLResponse)
def post_notice(request: Request, city: str, n: str, user: Manager, form: Form) -> Response:
    task_id, _ = task_id_of(city, n), _translator(request)
    state = FormState("notice", {k: text(form, k) for k in ("kind", "message", "due")})
    data = {**state.values, "due": optional(state.values["due"])}
    fields = state.validate(NoticeFields, data, _)
    if fields is not None:
        parts = render.parts_of(request)
        state.attempt(lambda: actions.send_notice(parts, user, task_id, fields), _)
    return _answer(request, user, task_id, state)


@router.post("/tasks/{city}/{n}/extensions", response_class=HTMLResponse)
def post_extension(request: Request, city: str, n: str, user: Reporter, form: Form) -> Response:
    task_id, _ = task_id_of(city, n), _translator(request)
    state = FormState("extension", {k: text(form, k) for k in ("new_deadline", "reason")})
    fields = state.validate(ExtensionFields, dict(state.values), _)
    if fields is not None:
        parts = render.parts_of(request)
        state.attempt(lambda: actions.request_extension(parts, user, task_id, fields), _)
    return _answer(request, user, task_id, state)


@router.post("/tasks/{city}/{n}/completions", response_class=HTMLResponse)
def post_completion(request: Request, city: str, n: str, user: Reporter, form: Form) -> Response:
    task_id, _ = task_id_of(city, n), _translator(request)
    state = FormState("completion", {"summary": text(form, "summary")})
    fields = state.validate(CompletionFields, dict(state.values), _)
    if fields is not None:
        parts = render.parts_of(request)
        state.attempt(lambda: actions.request_completion(parts, user, task_id, fields), _)
    return _answer(request, user, task_id, state)


def decision_target(request_id: str) -> str:
    return "form-decision-" + re.sub(r"[^A-Za-z0-9]", "-", request_id)


@router.post("/tasks/{city}/{n}/decisions", response_class=HTMLResponse)
def post_decision(request: Request, city: str, n: str, user: Manager, form: Form) -> Response:
    task_id, _ = task_id_of(city, n), _translator(request)
    request_id = text(form, "request")
    state = FormState(
        "decision",
        {
            "request": request_id,
            "approve": text(form, "approve"),
            "reason": text(form, "reason"),
            "target": decision_target(request_id),
        },
    )
    asked = queries.find_request(render.parts_of(request).projector.engine, request_id)
    if asked is None or asked.task != task_id:
        raise not_found(f"申请 {request_id} 不存在 — no such request on {task_id}")
    approve = state.values["approve"]
    if approve not in ("1", "0"):
        state.add("approve", _("请选择批准或不批准"))
    body = state.validate(
        DecisionBody,
        {"request": request_id, "approve": approve == "1", "reason": state.values["reason"]},
        _,
    )
    if body is not None and state.ok:
        parts = render.parts_of(request)
        state.attempt(
            lambda: actions.decide(parts, user, body.request, body.approve, body.reason), _
        )
    return _answer(request, user, task_id, state)


@router.post("/tasks/{city}/{n}/acknowledge", response_class=HTMLResponse)
def post_acknowledge(request: Request, city: str, n: str, user: Reporter, form: Form) -> Response:
    task_id, _ = task_id_of(city, n), _translator(request)
    notice_id = text(form, "notice")
    notice = queries.find_notice(render.parts_of(request).projector.engine, notice_id)
    if notice is None or notice.task != task_id:
        raise not_found(f"通知 {notice_id} 不存在 — no such notice on {task_id}")
    state = FormState("ack", {"notice": notice_id, "target": "notices"})
    parts = render.parts_of(request)
    state.attempt(lambda: actions.acknowledge_notice(parts, user, notice_id), _)
    return _answer(request, user, task_id, state)


# --- registering a task ---------------------------------------------------------------------


def _require_chair_manager(request: Request, user: User) -> None:
    """Registering and importing tasks is the chair city's: a 403 page before any form."""
    if not _is_chair_manager(request, user):
        parts = render.parts_of(request)
        chair = current_chair(parts.projector.engine)
        raise forbidden(
            f"只有轮值城市（当前为 {chair or '—'}）的工作专班可以立项交办任务，本节点为 "
            f"{parts.config.city} — only the chair city's coordinators register tasks"
        )


def new_task_context(request: Request, state: FormState) -> dict[str, Any]:
    parts = render.parts_of(request)
    engine = parts.projector.engine
    _ = _translator(request)
    return {
        "active": "tasks",
        "form": state,
        "area_options": [(a, _(a)) for a in queries.current_areas(engine)],
        "source_options": [(k, _(v)) for k, v in SOURCES.items()],
        "city_options": [(c, _(n)) for c, n in render.city_names(parts).items()],
        "parent_options": [
            (t.id, f"{t.fields.number} {t.fields.title}") for t in queries.list_tasks(engine)
        ],
    }


@router.get("/tasks/new", response_class=HTMLResponse)
def new_task(request: Request, user: Manager) -> HTMLResponse:
    _require_chair_manager(request, user)
    today = render.today()
    state = FormState(
        "task",
        {"source": "work-points", "start": today.isoformat(), "partner_cities": []},
    )
    return render.render(request, "task_new.html", new_task_context(request, state))


def parse_milestones(lines: str, state: FormState, _: Translator) -> list[dict[str, str]]:
    out = []
    for i, line in enumerate(lines.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        m = MILESTONE.match(line)
        if m is None:
            state.add("milestones", _("第{n}行应为“YYYY-MM-DD 节点名称”", n=i))
            continue
        out.append({"date": m.group(1), "title": m.group(2)})
    return out


def task_fields(form: FormData | None, state: FormState, _: Translator) -> TaskFields | None:
    state.values = {k: text(form, k) for k in TASK_FIELDS}
    state.values["partner_cities"] = texts(form, "partner_cities")
    state.values["milestones"] = (form.get("milestones") if form else "") or ""
    data: dict[str, Any] = {
        **state.values,
        "source_ref": optional(state.values["source_ref"]),
        "weight": optional(state.values["weight"]),
        "parent": optional(state.values["parent"]),
        "partner_cities": tuple(state.values["partner_cities"]),
        "milestones": parse_milestones(str(state.values["milestones"]), state, _),
    }
    fields = state.validate(TaskFields, data, _)
    return fields if state.ok else None


@router.post("/tasks/new", response_class=HTMLResponse)
def create_task(request: Request, user: Manager, form: Form) -> Response:
    _require_chair_manager(request, user)
    _ = _translator(request)
    state = FormState("task")
    fields = task_fields(form, state, _)
    task_id = None
    if fields is not None:
        parts = render.parts_of(request)
        task_id = state.attempt(lambda: actions.create_task(parts, user, fields), _)
    if task_id is not None:
        target = f"{task_url(task_id)}?ok=created"
        if render.is_htmx(request):
            return Response(status_code=200, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)
    template = "_task_form.html" if render.is_htmx(request) else "task_new.html"
    return render.render(request, template, new_task_context(request, state), status=state.status)


# --- the spreadsheet ------------------------------------------------------------------------


@router.get("/tasks/export.xlsx")
def export(
    request: Request,
    _user: Reader,
    area: Text = "",
    lead_city: Text = "",
    partner_city: Text = "",
) -> Response:
    parts = render.parts_of(request)
    f = filters_of(area, lead_city, partner_city, "", "", "", "number")
    data = spreadsheet.export_tasks(
        parts,
        area=f.area or None,
        lead_city=f.lead_city or None,
        partner_city=f.partner_city or None,
    )
    day = render.today().isoformat()
    # RFC 6266: a Chinese name for browsers (filename*), an ASCII one for the rest.
    disposition = (
        f"attachment; filename=\"tasks-{day}.xlsx\"; filename*=UTF-8''{quote(f'台账-{day}.xlsx')}"
    )
    return Response(
        data,
        media_type=spreadsheet.MEDIA_TYPE,
        headers={"Content-Disposition": disposition, "Cache-Control": "no-store"},
    )


@router.get("/tasks/import", response_class=HTMLResponse)
def import_page(request: Request, user: Manager) -> HTMLResponse:
    _require_chair_manager(request, user)
    return render.render(
        request, "task_import.html", {"active": "tasks", "form": FormState("import")}
    )


@router.post("/tasks/import", response_class=HTMLResponse)
def import_post(request: Request, user: Manager, form: Form) -> HTMLResponse:
    _require_chair_manager(request, user)
    _ = _translator(request)
    state = FormState("import")
    context: dict[str, Any] = {"active": "tasks", "form": state}
    file = upload(form, "file")
    if file is None or not file.filename:
        state.add("file", _("请选择要导入的 .xlsx 文件"))
    else:
        data = file.file.read(MAX_UPLOAD + 1)
        if len(data) > MAX_UPLOAD:
            state.add("file", _("文件超过10 MB"), 413)
        else:
            parts = render.parts_of(request)
            cells: list[spreadsheet.CellError] = []

            def run() -> spreadsheet.Imported:
                try:
                    return spreadsheet.import_tasks(parts, user, data)
                except spreadsheet.SpreadsheetInvalid as e:
                    cells.extend(e.errors)  # every bad cell, listed under the file field
                    raise Invalid(e.message, field="file") from e

            state.values["file"] = file.filename
            context["result"] = state.attempt(run, _)
            context["cells"] = cells
    return render.render(request, "task_import.html", context, status=state.status)
