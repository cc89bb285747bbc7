"""What pages, the API and the spreadsheet export read about the task ledger (台账).

The projection stores facts only, each written by the log that owns it. Everything combining
several logs is computed here, when asked: a task's progress (the lead's latest report, or its
children's weighted mean), effective deadline, status, colour and colour history, and the
roll-ups. `today` defaults to the current date in Asia/Shanghai; passing a date judges the
ledger as of that day (the lists of reports and notices always show everything stored).

Status (as of `today`): 已办结 when a completion request was approved; 已完成 when the
progress is 100; 已延期 when an extension was approved; 推进中 when any report was filed on the
task or a sub-task; else 待启动. A done task (已办结 or 已完成) is 绿, see `supervision`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from fractions import Fraction
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, computed_field
from sqlalchemy import Connection, Engine, Table, select

from lunan.clock import SHANGHAI
from lunan.coop import supervision as sv
from lunan.coop.models import AREAS, COLOURS, STATUSES, Attachment, TaskFields
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
from lunan.events.context import loads
from lunan.events.tables import p_nodes, p_objects

Colour = sv.Colour
Status = Literal["待启动", "推进中", "已完成", "已办结", "已延期"]
SORTS = ("number", "deadline", "progress", "colour", "status", "area", "lead_city")


def today_in_shanghai() -> date:
    return datetime.now(SHANGHAI).date()


def day_of(time: str) -> date:
    """The calendar day (Asia/Shanghai) of an event time."""
    return datetime.fromisoformat(time).astimezone(SHANGHAI).date()


# --- views ----------------------------------------------------------------------------------


class View(BaseModel):
    model_config = ConfigDict(frozen=True)


class ReportView(View):
    id: str
    task: str
    city: str
    period: str
    progress: int
    done: str
    problems: str
    next_steps: str
    attachments: tuple[Attachment, ...]
    time: str
    position: str


class AckView(View):
    id: str
    time: str
    position: str


class NoticeView(View):
    id: str
    task: str
    kind: Literal["催办", "督办"]
    message: str
    due: date | None
    to_city: str
    time: str
    position: str
    acknowledged: AckView | None


class DecisionView(View):
    id: str
    request: str
    approve: bool
    reason: str
    time: str
    position: str


class RequestView(View):
    """An extension (`new_deadline`, `text` the reason) or completion request (`text` the
    summary), with the chair's decision once made."""

    id: str
    kind: Literal["extension", "completion"]
    task: str
    city: str
    new_deadline: date | None
    text: str
    attachments: tuple[Attachment, ...]
    time: str
    position: str
    decision: DecisionView | None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def state(self) -> Literal["待审批", "已批准", "未批准"]:
        if self.decision is None:
            return "待审批"
        return "已批准" if self.decision.approve else "未批准"

    @property
    def approved(self) -> bool:
        return self.decision is not None and self.decision.approve


class ColourChange(View):
    date: date
    colour: Colour
    why: str


class TaskView(View):
    id: str
    fields: TaskFields
    progress: float  # 0–100, one decimal: the lead's latest report, or the children's mean
    colour: Colour
    why: str  # why the colour, e.g. 落后序时进度12个百分点（黄灯线10）
    status: Status
    effective_deadline: date
    expected_progress: float  # 序时进度, one decimal
    lead_reports: tuple[ReportView, ...]  # newest first
    partner_reports: tuple[ReportView, ...]  # newest first
    notices: tuple[NoticeView, ...]
    extensions: tuple[RequestView, ...]
    completions: tuple[RequestView, ...]
    children: tuple[str, ...]
    created: str  # position of the creating event, origin:idx
    created_time: str
    updated: str
    updated_time: str


class Rollup(View):
    """Counts and mean progress of a group of tasks. A sub-task counts through its parent when
    both are in the group, so that no progress is counted twice."""

    key: str
    label: str
    tasks: int
    by_colour: dict[str, int]
    by_status: dict[str, int]
    mean_progress: float | None  # None for an empty group


class CityRollup(View):
    city: str
    name: str
    as_lead: Rollup
    as_partner: Rollup


class RuleVersionView(View):
    id: str
    seq: int
    effective_from: date
    yellow_behind: int
    yellow_days: int
    red_behind: int
    time: str


# --- loading the stored facts ---------------------------------------------------------------


@dataclass
class _Ledger:
    tasks: dict[str, Any] = field(default_factory=dict)  # id -> p_coop_tasks row
    fields: dict[str, TaskFields] = field(default_factory=dict)
    reports: dict[str, list[ReportView]] = field(default_factory=dict)  # by task
    notices: dict[str, list[NoticeView]] = field(default_factory=dict)  # by task
    requests: dict[str, list[RequestView]] = field(default_factory=dict)  # by task
    rules: list[sv.RuleVersion] = field(default_factory=list)
    children: dict[str, list[str]] = field(default_factory=dict)


def _with_position(conn: Connection, table: Table) -> list[Any]:
    q = select(table, p_objects.c.created_origin, p_objects.c.created_idx).join(
        p_objects, p_objects.c.id == table.c.id
    )
    return list(conn.execute(q.order_by(table.c.id)))


def _position(row: Any) -> str:
    return f"{row.created_origin}:{row.created_idx}"


def _log_index(report: ReportView) -> int:
    """The report's index in its city's log, which orders that city's reports."""
    return int(report.position.rsplit(":", 1)[1])


def _attachments(text: str) -> tuple[Attachment, ...]:
    return tuple(Attachment.model_validate(a) for a in loads(text))


def _load(engine: Engine) -> _Ledger:
    led = _Ledger()
    with engine.connect() as conn:
        for row in conn.execute(select(p_coop_tasks)):
            led.tasks[row.id] = row
            led.fields[row.id] = TaskFields.model_validate(loads(row.fields))
        for r in _with_position(conn, p_coop_reports):
            led.reports.setdefault(r.task, []).append(_report(r))
        acks = {
            r.notice: AckView(id=r.id, time=r.time, position=_position(r))
            for r in _with_position(conn, p_coop_acks)
        }
        for r in _with_position(conn, p_coop_notices):
            led.notices.setdefault(r.task, []).append(_notice(r, acks.get(r.id)))
        decisions = {r.request: _decision(r) for r in _with_position(conn, p_coop_decisions)}
        for r in _with_position(conn, p_coop_requests):
            led.requests.setdefault(r.task, []).append(_request(r, decisions.get(r.id)))
        led.rules = [
            sv.RuleVersion(
                date.fromisoformat(r.effective_from),
                r.seq,
                sv.Thresholds(r.yellow_behind, r.yellow_days, r.red_behind),
            )
            for r in conn.execute(select(p_coop_rules))
        ]
    for task_id, f in sorted(led.fields.items(), key=lambda kv: number_key(kv[1].number)):
        if f.parent is not None:
            led.children.setdefault(f.parent, []).append(task_id)
    return led


def _report(r: Any) -> ReportView:
    return ReportView(
        id=r.id,
        task=r.task,
        city=r.city,
        period=r.period,
        progress=r.progress,
        done=r.done,
        problems=r.problems,
        next_steps=r.next_steps,
        attachments=_attachments(r.attachments),
        time=r.time,
        position=_position(r),
    )


def _notice(r: Any, ack: AckView | None) -> NoticeView:
    return NoticeView(
        id=r.id,
        task=r.task,
        kind=r.kind,
        message=r.message,
        due=None if r.due is None else date.fromisoformat(r.due),
        to_city=r.to_city,
        time=r.time,
        position=_position(r),
        acknowledged=ack,
    )


def _decision(r: Any) -> DecisionView:
    return DecisionView(
        id=r.id,
        request=r.request,
        approve=bool(r.approve),
        reason=r.reason,
        time=r.time,
        position=_position(r),
    )


def _request(r: Any, decision: DecisionView | None) -> RequestView:
    return RequestView(
        id=r.id,
        kind=r.kind,
        task=r.task,
        city=r.city,
        new_deadline=None if r.new_deadline is None else date.fromisoformat(r.new_deadline),
        text=r.text,
        attachments=_attachments(r.attachments),
        time=r.time,
        position=_position(r),
        decision=decision,
    )


def number_key(number: str) -> tuple[tuple[int, int, str], ...]:
    """Task numbers in natural order: 2 before 10, 1-2 before 1-10."""
    parts = re.split(r"(\d+)", number)
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts if p)


# --- computing views ------------------------------------------------------------------------


class _Board:
    """The ledger judged as of one day; each task's figures computed once."""

    def __init__(self, ledger: _Ledger, today: date) -> None:
        self.led = ledger
        self.today = today
        self._steps: dict[str, sv.Steps] = {}
        self._views: dict[str, TaskView] = {}

    def reports(self, task_id: str, lead: bool) -> tuple[ReportView, ...]:
        f = self.led.fields[task_id]
        cities = {f.lead_city} if lead else set(f.partner_cities)
        # Reports of a city that is neither lead nor partner (now) are not shown.
        mine = [r for r in self.led.reports.get(task_id, []) if r.city in cities]
        # Newest first: by time across cities, by log index within one.
        return tuple(sorted(mine, key=lambda r: (r.time, _log_index(r)), reverse=True))

    def steps(self, task_id: str) -> sv.Steps:
        if task_id not in self._steps:
            kids = self.led.children.get(task_id, [])
            if kids:
                self._steps[task_id] = sv.rollup_steps(
                    [(self.steps(k), self.led.fields[k].weight) for k in kids]
                )
            else:
                lead = self.reports(task_id, lead=True)
                self._steps[task_id] = sv.report_steps(
                    (_log_index(r), day_of(r.time), r.progress) for r in lead
                )
        return self._steps[task_id]

    def progress(self, task_id: str) -> Fraction:
        return sv.value_on(self.steps(task_id), self.today)

    def approvals(self, task_id: str, kind: str) -> list[tuple[date, RequestView]]:
        """Requests of `kind` approved by today, with the day of approval."""
        out = []
        for r in self.led.requests.get(task_id, []):
            if r.kind == kind and r.decision is not None and r.decision.approve:
                on = day_of(r.decision.time)
                if on <= self.today:
                    out.append((on, r))
        return out

    def facts(self, task_id: str) -> sv.Facts:
        f = self.led.fields[task_id]
        extensions = tuple(
            (on, r.new_deadline)
            for on, r in self.approvals(task_id, "extension")
            if r.new_deadline is not None
        )
        completions = [on for on, _ in self.approvals(task_id, "completion")]
        return sv.Facts(
            start=f.start,
            deadline=f.deadline,
            progress=self.steps(task_id),
            extensions=extensions,
            completed_on=min(completions, default=None),
        )

    def started(self, task_id: str) -> bool:
        filed = any(day_of(r.time) <= self.today for r in self.led.reports.get(task_id, []))
        return filed or any(self.started(k) for k in self.led.children.get(task_id, []))

    def status(self, task_id: str, facts: sv.Facts) -> Status:
        if facts.completed_on is not None:
            return "已办结"
        if self.progress(task_id) >= sv.HUNDRED:
            return "已完成"
        if facts.extensions:
            return "已延期"
        return "推进中" if self.started(task_id) else "待启动"

    def view(self, task_id: str) -> TaskView:
        if task_id in self._views:
            return self._views[task_id]
        row, f = self.led.tasks[task_id], self.led.fields[task_id]
        facts = self.facts(task_id)
        a = sv.assess(facts, sv.rules_on(self.led.rules, self.today), self.today)
        requests = self.led.requests.get(task_id, [])
        view = TaskView(
            id=task_id,
            fields=f,
            progress=sv.one_decimal(a.progress),
            colour=a.colour,
            why=a.why,
            status=self.status(task_id, facts),
            effective_deadline=facts.deadline_on(self.today),
            expected_progress=sv.one_decimal(a.expected),
            lead_reports=self.reports(task_id, lead=True),
            partner_reports=self.reports(task_id, lead=False),
            notices=tuple(self.led.notices.get(task_id, [])),
            extensions=tuple(r for r in requests if r.kind == "extension"),
            completions=tuple(r for r in requests if r.kind == "completion"),
            children=tuple(self.led.children.get(task_id, [])),
            created=row.created,
            created_time=row.created_time,
            updated=row.updated,
            updated_time=row.updated_time,
        )
        self._views[task_id] = view
        return view

    def history(self, task_id: str) -> list[ColourChange]:
        changes = sv.history(self.facts(task_id), self.led.rules, self.today)
        return [ColourChange(date=c.day, colour=c.colour, why=c.why) for c in changes]

    def all_views(self) -> list[TaskView]:
        ids = sorted(self.led.tasks, key=lambda t: number_key(self.led.fields[t].number))
        return [self.view(t) for t in ids]

    def ancestors(self, task_id: str) -> list[str]:
        out: list[str] = []
        parent = self.led.fields[task_id].parent
        while parent is not None and parent in self.led.fields and parent not in out:
            out.append(parent)
            parent = self.led.fields[parent].parent
        return out


def _board(engine: Engine, today: date | None) -> _Board:
    return _Board(_load(engine), today or today_in_shanghai())


# --- tasks ----------------------------------------------------------------------------------

_SEVERITY = {"红": 0, "黄": 1, "绿": 2}
_SORT_KEYS: dict[str, Callable[[TaskView], Any]] = {
    "number": lambda v: number_key(v.fields.number),
    "deadline": lambda v: v.effective_deadline,
    "progress": lambda v: v.progress,
    "colour": lambda v: _SEVERITY[v.colour],
    "status": lambda v: STATUSES.index(v.status),
    "area": lambda v: v.fields.area,
    "lead_city": lambda v: v.fields.lead_city,
}


def list_tasks(
    engine: Engine,
    area: str | None = None,
    lead_city: str | None = None,
    partner_city: str | None = None,
    colour: str | None = None,
    status: str | None = None,
    due_before: date | None = None,
    sort: str = "number",
    today: date | None = None,
) -> list[TaskView]:
    """The tasks matching every filter given. `due_before`: effective deadline on or before
    that day. `sort`: one of SORTS, `-` in front for descending (ties in number order);
    colour sorts 红 first."""
    key = _SORT_KEYS.get(sort.removeprefix("-"))
    if key is None:
        raise ValueError(f"unknown sort {sort!r}: use one of {', '.join(SORTS)}, or -<sort>")
    views = [
        v
        for v in _board(engine, today).all_views()
        if (area is None or v.fields.area == area)
        and (lead_city is None or v.fields.lead_city == lead_city)
        and (partner_city is None or partner_city in v.fields.partner_cities)
        and (colour is None or v.colour == colour)
        and (status is None or v.status == status)
        and (due_before is None or v.effective_deadline <= due_before)
    ]
    return sorted(views, key=key, reverse=sort.startswith("-"))


def get_task(engine: Engine, task_id: str, today: date | None = None) -> TaskView | None:
    board = _board(engine, today)
    return board.view(task_id) if task_id in board.led.tasks else None


def task_by_number(engine: Engine, number: str, today: date | None = None) -> TaskView | None:
    board = _board(engine, today)
    for task_id, f in board.led.fields.items():
        if f.number == number:
            return board.view(task_id)
    return None


def colour_history(
    engine: Engine, task_id: str, today: date | None = None
) -> list[ColourChange] | None:
    """The task's colour changes from its start to `today`; None when there is no such task."""
    board = _board(engine, today)
    return board.history(task_id) if task_id in board.led.tasks else None


def task_with_history(
    engine: Engine, task_id: str, today: date | None = None
) -> tuple[TaskView, list[ColourChange]] | None:
    """A task and its colour history, computed from one reading of the ledger."""
    board = _board(engine, today)
    if task_id not in board.led.tasks:
        return None
    return board.view(task_id), board.history(task_id)


# --- roll-ups -------------------------------------------------------------------------------


def _rollup(board: _Board, key: str, label: str, views: Iterable[TaskView]) -> Rollup:
    group = list(views)
    ids = {v.id for v in group}
    counted = [v for v in group if not ids.intersection(board.ancestors(v.id))]
    by_colour = dict.fromkeys(COLOURS, 0)
    by_status = dict.fromkeys(STATUSES, 0)
    for v in counted:
        by_colour[v.colour] += 1
        by_status[v.status] += 1
    mean = (
        sv.one_decimal(sum((board.progress(v.id) for v in counted), Fraction(0)) / len(counted))
        if counted
        else None
    )
    return Rollup(
        key=key,
        label=label,
        tasks=len(counted),
        by_colour=by_colour,
        by_status=by_status,
        mean_progress=mean,
    )


def rollup_by_area(engine: Engine, today: date | None = None) -> list[Rollup]:
    """One roll-up per configured area, then any other area a task still carries."""
    board = _board(engine, today)
    views = board.all_views()
    configured = list(current_areas(engine))
    used = sorted({v.fields.area for v in views} - set(configured))
    return [
        _rollup(board, a, a, (v for v in views if v.fields.area == a)) for a in configured + used
    ]


def rollup_by_city(engine: Engine, today: date | None = None) -> list[CityRollup]:
    """For each member city: the tasks it leads, and those it supports as a partner."""
    board = _board(engine, today)
    views = board.all_views()
    names = known_cities(engine)
    cities = set(names)
    for v in views:
        cities.update((v.fields.lead_city, *v.fields.partner_cities))
    out = []
    for city in sorted(cities):
        name = names.get(city, city)
        lead = (v for v in views if v.fields.lead_city == city)
        partner = (v for v in views if city in v.fields.partner_cities)
        out.append(
            CityRollup(
                city=city,
                name=name,
                as_lead=_rollup(board, city, f"{name}牵头", lead),
                as_partner=_rollup(board, city, f"{name}配合", partner),
            )
        )
    return out


def rollup_alliance(engine: Engine, today: date | None = None) -> Rollup:
    board = _board(engine, today)
    return _rollup(board, "alliance", "全部任务", board.all_views())


# --- settings and lookups the actions use -----------------------------------------------------


def known_cities(engine: Engine) -> dict[str, str]:
    """The member cities whose logs this node has folded in: code -> name."""
    with engine.connect() as conn:
        return {r.city: r.name for r in conn.execute(select(p_nodes.c.city, p_nodes.c.name))}


def current_areas(engine: Engine) -> tuple[str, ...]:
    """The areas new tasks may use: the chair's latest list, else the default AREAS."""
    q = select(p_coop_areas.c.areas).order_by(p_coop_areas.c.seq.desc()).limit(1)
    with engine.connect() as conn:
        text = conn.execute(q).scalar()
    return AREAS if text is None else tuple(loads(text))


def rule_versions(engine: Engine) -> list[RuleVersionView]:
    with engine.connect() as conn:
        rows = conn.execute(select(p_coop_rules).order_by(p_coop_rules.c.seq))
        return [
            RuleVersionView(
                id=r.id,
                seq=r.seq,
                effective_from=date.fromisoformat(r.effective_from),
                yellow_behind=r.yellow_behind,
                yellow_days=r.yellow_days,
                red_behind=r.red_behind,
                time=r.time,
            )
            for r in rows
        ]


def rules_in_force(engine: Engine, today: date | None = None) -> sv.Thresholds:
    versions = [
        sv.RuleVersion(
            v.effective_from, v.seq, sv.Thresholds(v.yellow_behind, v.yellow_days, v.red_behind)
        )
        for v in rule_versions(engine)
    ]
    return sv.rules_on(versions, today or today_in_shanghai())


def task_id_by_number(engine: Engine, number: str) -> str | None:
    q = select(p_coop_tasks.c.id).where(p_coop_tasks.c.number == number)
    with engine.connect() as conn:
        return conn.execute(q).scalar()


def task_parents(engine: Engine) -> dict[str, str | None]:
    """Every task's parent (None at the top)."""
    with engine.connect() as conn:
        return {
            r.id: r.parent for r in conn.execute(select(p_coop_tasks.c.id, p_coop_tasks.c.parent))
        }


def find_request(engine: Engine, request_id: str) -> RequestView | None:
    for requests in _load(engine).requests.values():
        for r in requests:
            if r.id == request_id:
                return r
    return None


def find_notice(engine: Engine, notice_id: str) -> NoticeView | None:
    for notices in _load(engine).notices.values():
        for n in notices:
            if n.id == notice_id:
                return n
    return None
