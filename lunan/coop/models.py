"""What a task of the ledger (台账) holds: the body of `coop.task.created` / `.updated`.

Shared by the event types, the API and the spreadsheet import, so that every way in checks
the same rules. Field titles are the Chinese column headers of the spreadsheet.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

CityCode = Annotated[str, Field(pattern=r"^\d{6}$")]
Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]

AREAS = (
    "交通互联",
    "产业协同",
    "科技创新",
    "文化旅游",
    "乡村振兴",
    "数据共享",
    "法治协作",
    "生态保护",
    "公共服务",
)
# Where a task comes from (任务来源), as stored → as shown.
SOURCES = {
    "meeting": "会议决议",
    "agreement": "协议",
    "work-points": "年度工作要点",
    "instruction": "领导批示",
}
STATUSES = ("待启动", "推进中", "已完成", "已办结", "已延期")


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Attachment(Model):
    """A document kept outside the log; the log holds its hash (佐证附件)."""

    name: str = Field(min_length=1, max_length=200)
    sha256: Sha256
    size: int = Field(ge=0)


class Milestone(Model):
    date: date
    title: str = Field(min_length=1, max_length=200)


class TaskFields(Model):
    number: str = Field(min_length=1, max_length=32, title="编号")
    title: str = Field(min_length=1, max_length=200, title="任务名称")
    requirement: str = Field(default="", max_length=4000, title="工作目标及任务要求")
    area: str = Field(min_length=1, max_length=32, title="领域")
    source: Literal["meeting", "agreement", "work-points", "instruction"] = Field(
        default="work-points", title="任务来源"
    )
    source_ref: str | None = Field(default=None, max_length=120, title="来源文件")
    lead_city: CityCode = Field(title="牵头城市")
    lead_department: str = Field(min_length=1, max_length=100, title="牵头部门")
    partner_cities: tuple[CityCode, ...] = Field(default=(), title="配合城市")
    responsible: str = Field(default="", max_length=100, title="责任人")
    start: date = Field(title="开始日期")
    deadline: date = Field(title="完成时限")
    milestones: tuple[Milestone, ...] = Field(default=(), title="节点")
    weight: int | None = Field(default=None, ge=1, le=100, title="权重")
    parent: str | None = Field(default=None, pattern=r"^task/\d{6}/\d+$", title="上级任务")
    attachments: tuple[Attachment, ...] = ()

    # Field validators (not a model validator), so that an error names its field.
    @field_validator("deadline")
    @classmethod
    def _after_start(cls, deadline: date, info: ValidationInfo) -> date:
        start = info.data.get("start")
        if start is not None and deadline < start:
            raise ValueError("完成时限早于开始日期 deadline is before start")
        return deadline

    @field_validator("partner_cities")
    @classmethod
    def _partners(cls, partners: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        if info.data.get("lead_city") in partners:
            raise ValueError("牵头城市不能同时为配合城市 the lead city is not also a partner")
        if len(set(partners)) != len(partners):
            raise ValueError("配合城市重复 a partner city is listed twice")
        return partners


# --- what the cities send about a task, besides the task itself ------------------------------
# Each is the body of an event minus the object it refers to (added in lunan.coop.events), so
# the API, the actions and the spreadsheet import take the same input and check the same rules.

COLOURS = ("绿", "黄", "红")  # on track; behind or near the deadline; overdue or far behind
NOTICE_KINDS = ("催办", "督办")  # a reminder; a supervision notice (督办单)


class ReportFields(Model):
    """A progress report (进展报告), filed by the lead or a partner city."""

    period: str = Field(min_length=1, max_length=40, title="报告期", examples=["2026-11"])
    progress: int = Field(ge=0, le=100, title="进度(%)")
    done: str = Field(default="", max_length=4000, title="进展情况")
    problems: str = Field(default="", max_length=4000, title="存在问题")
    next_steps: str = Field(default="", max_length=4000, title="下步打算")
    attachments: tuple[Attachment, ...] = Field(default=(), title="佐证附件")


class NoticeFields(Model):
    """A reminder (催办) or supervision notice (督办) from the chair to a task's lead."""

    kind: Literal["催办", "督办"] = Field(title="类别")
    message: str = Field(min_length=1, max_length=2000, title="内容")
    due: date | None = Field(default=None, title="办复时限")


class ExtensionFields(Model):
    """An extension request (延期申请) by the lead."""

    new_deadline: date = Field(title="申请延至")
    reason: str = Field(min_length=1, max_length=2000, title="延期理由")


class CompletionFields(Model):
    """A completion request (办结申请) by the lead."""

    summary: str = Field(min_length=1, max_length=4000, title="办结情况")
    attachments: tuple[Attachment, ...] = Field(default=(), title="佐证附件")


class Rules(Model):
    """Supervision rules (督办规则), in force from `effective_from` until a later version's date.

    黄 when progress lags the time-expected progress by ≥ `yellow_behind` points or the deadline
    is at most `yellow_days` days away; 红 when overdue or lagging by ≥ `red_behind` points."""

    effective_from: date = Field(title="生效日期")
    yellow_behind: int = Field(default=10, ge=1, le=100, title="黄灯：落后百分点")
    yellow_days: int = Field(default=15, ge=0, le=366, title="黄灯：距完成时限天数")
    red_behind: int = Field(default=30, ge=1, le=100, title="红灯：落后百分点")

    @field_validator("red_behind")
    @classmethod
    def _red_beyond_yellow(cls, red: int, info: ValidationInfo) -> int:
        yellow = info.data.get("yellow_behind")
        if yellow is not None and red < yellow:
            raise ValueError("红灯阈值须不小于黄灯阈值 red_behind must be ≥ yellow_behind")
        return red


class AreaList(Model):
    """The areas (领域) a new task may be filed under; the chair configures them."""

    areas: tuple[Annotated[str, Field(min_length=1, max_length=32)], ...] = Field(
        min_length=1, max_length=50, title="领域"
    )

    @field_validator("areas")
    @classmethod
    def _unique(cls, areas: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(areas)) != len(areas):
            raise ValueError("领域重复 an area is listed twice")
        return areas
