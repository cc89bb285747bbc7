"""What data-sharing events carry: catalog entries (共享目录), requests (共享申请), agreements
(数据共享协议), shared by the event types, the actions and the API so all check the same rules.

Validators are per field (never per model), so that a 422 names the field at fault.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from lunan.events.context import dumps
from lunan.sharing.workdays import DEADLINE_WORKING_DAYS

# The three sharing categories of 国发〔2016〕51号, per dataset and per field.
UNCONDITIONAL, CONDITIONAL, NOT_SHARED = "无条件共享", "有条件共享", "不予共享"
CATEGORIES = (UNCONDITIONAL, CONDITIONAL, NOT_SHARED)
Category = Literal["无条件共享", "有条件共享", "不予共享"]
FIELD_TYPES = ("text", "integer", "decimal", "date", "boolean", "resident_id", "division_code")
FieldType = Literal["text", "integer", "decimal", "date", "boolean", "resident_id", "division_code"]
UPDATE_CYCLES = ("实时", "每日", "每周", "每月", "每季度", "每年", "不定期")
UpdateCycle = Literal["实时", "每日", "每周", "每月", "每季度", "每年", "不定期"]
Mode = Literal["api", "file"]
Answer = Literal["rows", "exists"]  # "exists": the service answers only 是/否

DATASET_ID = r"^dataset/\d{6}/\d+$"
REQUEST_ID = r"^data-request/\d{6}/\d+$"
AGREEMENT_ID = r"^data-agreement/\d{6}/\d+$"
# Resource code: provider city, class (2 digits), sequence (4 digits): 371300-05-0001.
CODE = r"^\d{6}-\d{2}-\d{4}$"
SERVICE = r"^[a-z0-9-]{2,40}$"
# How far before its filing a paper application may have been received (受理日期).
MAX_RECEIVED_BEFORE = dt.timedelta(days=60)

FieldName = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^\s,]+$")]
FilterValue = Annotated[str, Field(min_length=1, max_length=200)]
Text = Annotated[str, Field(min_length=1, max_length=2000)]
Reason = Annotated[str, Field(min_length=1, max_length=2000)]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _unique(values: tuple[str, ...], what: str) -> tuple[str, ...]:
    seen: set[str] = set()
    for v in values:
        if v in seen:
            raise ValueError(f"{what}重复 {what} {v!r} is listed twice")
        seen.add(v)
    return values


def restricted(category: str) -> bool:
    return category != UNCONDITIONAL


# --- catalog entries ------------------------------------------------------------------------


class DataField(Model):
    """One data item (信息项) of a catalog entry, with its own sharing category."""

    name: FieldName
    type: FieldType
    description: str = Field(default="", max_length=500)
    category: Category


class DatasetFields(Model):
    """A catalog entry as the provider publishes it (`sharing.dataset.published`/`.updated`).
    Where and how the node serves it (the adapter) is node-local, never in the log."""

    code: str = Field(pattern=CODE, title="资源代码", examples=["371300-05-0001"])
    name: str = Field(min_length=1, max_length=200, title="资源名称")
    department: str = Field(min_length=1, max_length=100, title="提供部门")
    description: str = Field(default="", max_length=4000, title="资源摘要")
    fields: tuple[DataField, ...] = Field(min_length=1, max_length=200, title="信息项")
    category: Category = Field(title="共享类型")
    # validate_default: the check must run when the basis is left out
    legal_basis: str = Field(default="", max_length=2000, validate_default=True, title="共享依据")
    update_cycle: UpdateCycle = Field(title="更新周期")
    modes: tuple[Mode, ...] = Field(min_length=1, max_length=2, title="共享方式")
    service: str = Field(pattern=SERVICE, title="服务名", examples=["resident-check"])
    answer: Answer = "rows"
    keys: tuple[FieldName, ...] = Field(default=(), max_length=10, validate_default=True)
    sample: bool = Field(default=False, title="示例数据")
    # The provider's time to decide a 有条件共享 request, in working days (国发〔2016〕51号: 10).
    response_working_days: int = Field(default=DEADLINE_WORKING_DAYS, ge=1, le=60, title="答复时限")

    @field_validator("fields")
    @classmethod
    def _field_names(cls, fields: tuple[DataField, ...]) -> tuple[DataField, ...]:
        _unique(tuple(f.name for f in fields), "信息项 field")
        return fields

    @field_validator("legal_basis")
    @classmethod
    def _basis(cls, basis: str, info: ValidationInfo) -> str:
        # A restriction, of the whole entry or of any field, needs its basis (国发〔2016〕51号).
        categories = [info.data.get("category"), *(f.category for f in info.data.get("fields", ()))]
        if not basis.strip() and any(c is not None and restricted(c) for c in categories):
            raise ValueError(
                "有条件共享、不予共享须注明依据 a restricted entry or field needs a legal basis"
            )
        return basis

    @field_validator("modes")
    @classmethod
    def _modes(cls, modes: tuple[str, ...]) -> tuple[str, ...]:
        return _unique(modes, "共享方式 mode")

    @field_validator("keys")
    @classmethod
    def _keys(cls, keys: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        _unique(keys, "查询条件 key")
        names = {f.name for f in info.data.get("fields", ())}
        for key in keys:
            if names and key not in names:
                raise ValueError(f"查询条件{key}不是信息项 key {key!r} is not one of the fields")
        if info.data.get("answer") == "exists" and not keys:
            raise ValueError("是/否核验服务须有查询条件 an exists service needs key fields")
        return keys

    def field(self, name: str) -> DataField | None:
        return next((f for f in self.fields if f.name == name), None)


class Withdrawal(Model):
    """`sharing.dataset.withdrawn` and `sharing.request.withdrawn`."""

    reason: str = Field(default="", max_length=2000)


# --- requests -------------------------------------------------------------------------------


class Period(Model):
    start: dt.date
    end: dt.date

    @field_validator("end")
    @classmethod
    def _order(cls, end: dt.date, info: ValidationInfo) -> dt.date:
        start = info.data.get("start")
        if start is not None and end < start:
            raise ValueError("结束日期早于开始日期 the period ends before it starts")
        return end


RowFilter = dict[FieldName, tuple[FilterValue, ...]]


def _row_filter(row_filter: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    if len(row_filter) > 20:
        raise ValueError("行过滤条件最多20项 at most 20 row filter fields")
    for name, values in row_filter.items():
        if not 1 <= len(values) <= 500:
            raise ValueError(f"{name}: 须列出1–500个允许值 list 1–500 allowed values")
        _unique(values, f"{name}的取值 value of {name}")
    return row_filter


class RequestFields(Model):
    """A sharing request (共享申请) as the requester files it (`sharing.request.filed`)."""

    dataset: str = Field(pattern=DATASET_ID, title="申请资源")
    fields: tuple[FieldName, ...] = Field(min_length=1, max_length=200, title="申请信息项")
    purpose: Text = Field(title="用途")
    scenario: Text = Field(title="应用场景")
    # Equality only: the provider returns rows whose field has one of the listed values.
    row_filter: RowFilter = Field(default_factory=dict, title="行过滤条件")
    period: Period = Field(title="使用期限")
    legal_basis: str = Field(default="", max_length=2000, title="申请依据")
    volume: int = Field(ge=0, le=10**9, title="预计日调用量")
    consent_required: bool = Field(default=False, title="是否需数据主体同意")
    quota: int = Field(ge=1, le=10**9, title="日调用上限")
    # The day a paper application was received (受理日期) when it is entered later; the
    # deadline runs from it. None: the day of filing.
    received_on: dt.date | None = Field(default=None, title="受理日期")
    note: str = Field(default="", max_length=2000, title="备注")

    @field_validator("fields")
    @classmethod
    def _fields(cls, fields: tuple[str, ...]) -> tuple[str, ...]:
        return _unique(fields, "信息项 field")

    @field_validator("row_filter")
    @classmethod
    def _filter(cls, row_filter: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        return _row_filter(row_filter)


# --- decisions and agreements ---------------------------------------------------------------


class ApprovalTerms(Model):
    """What the provider grants: the request's terms, narrowed where given (never widened)."""

    fields: tuple[FieldName, ...] | None = Field(default=None, min_length=1, max_length=200)
    row_filter: RowFilter | None = None
    period: Period | None = None
    quota: int | None = Field(default=None, ge=1, le=10**9)
    reason: Reason = Field(title="审批意见")

    @field_validator("fields")
    @classmethod
    def _fields(cls, fields: tuple[str, ...] | None) -> tuple[str, ...] | None:
        return None if fields is None else _unique(fields, "信息项 field")

    @field_validator("row_filter")
    @classmethod
    def _filter(
        cls, row_filter: dict[str, tuple[str, ...]] | None
    ) -> dict[str, tuple[str, ...]] | None:
        return None if row_filter is None else _row_filter(row_filter)


class AgreementGranted(Model):
    """`sharing.agreement.granted`, in the provider's log: the terms both sides hold to."""

    request: str = Field(pattern=REQUEST_ID)
    dataset: str = Field(pattern=DATASET_ID)
    requester: str = Field(pattern=r"^\d{6}$")
    service: str = Field(pattern=SERVICE)
    fields: tuple[FieldName, ...] = Field(min_length=1, max_length=200)
    purpose: Text
    scenario: Text
    row_filter: RowFilter = Field(default_factory=dict)
    period: Period
    quota: int = Field(ge=1, le=10**9)
    reason: Reason

    @field_validator("fields")
    @classmethod
    def _fields(cls, fields: tuple[str, ...]) -> tuple[str, ...]:
        return _unique(fields, "信息项 field")

    @field_validator("row_filter")
    @classmethod
    def _filter(cls, row_filter: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        return _row_filter(row_filter)


def terms_columns(body: RequestFields | AgreementGranted) -> dict[str, str]:
    """The columns a request or an agreement stores its terms in (its projection row):
    fields, purpose, scenario, row filter and period."""
    return {
        "fields": dumps(list(body.fields)),
        "purpose": body.purpose,
        "scenario": body.scenario,
        "row_filter": dumps({k: list(v) for k, v in body.row_filter.items()}),
        "period_start": body.period.start.isoformat(),
        "period_end": body.period.end.isoformat(),
    }


class Refusal(Model):
    """`sharing.request.refused`, in the provider's log."""

    request: str = Field(pattern=REQUEST_ID)
    reason: Reason


class AgreementChange(Model):
    """`sharing.agreement.suspended` / `.resumed` / `.revoked`, in the provider's log."""

    reason: Reason


class Acknowledgement(Model):
    """`sharing.agreement.acknowledged`, in the requester's log: its copy of the agreement."""

    agreement: str = Field(pattern=AGREEMENT_ID)
