"""What governance events carry: the bodies of `gov.*` events, shared with the API and actions.

One schema per kind of fact, so that the page, the API and the projection check the same rules.
Validators are per field (not per model), so that a 422 names the field at fault.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

CityCode = Annotated[str, Field(pattern=r"^\d{6}$")]
Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
Note = Annotated[str, Field(max_length=2000)]
# Any object of the alliance, optionally one part of it: meeting/371300/2#r1
ObjectRef = Annotated[
    str, Field(pattern=r"^[a-z][a-z0-9_-]*/\d{6}/[A-Za-z0-9._-]{1,64}(#[A-Za-z0-9._-]{1,32})?$")
]

BODY_KINDS = ("领导小组", "工作专班")
BodyKind = Literal["领导小组", "工作专班"]
AGREEMENT_KINDS = ("框架协议", "协议书", "意向书", "合作协议")
AgreementKind = Literal["框架协议", "协议书", "意向书", "合作协议"]
# A meeting's life: 筹备中 → 已召开 → 纪要已审定; only forward, one step at a time.
MEETING_STATUSES = {"planned": "筹备中", "held": "已召开", "approved": "纪要已审定"}
MAX_AGENDA_DEPTH = 3


def text_sha256(text: str) -> str:
    """The hash an agreement's parties sign: SHA-256 of the text's UTF-8 bytes, hex."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Document(Model):
    """A file kept outside the log (minutes, a signed scan); the log holds its hash."""

    name: str = Field(min_length=1, max_length=200)
    sha256: Sha256
    size: int = Field(ge=0)


def _unique(values: list[str], what: str) -> None:
    seen: set[str] = set()
    for v in values:
        if v in seen:
            raise ValueError(f"{what}重复 {what} {v} is listed twice")
        seen.add(v)


# --- bodies: 领导小组, 工作专班 ---------------------------------------------------------------


class BodyMember(Model):
    city: CityCode
    department: str = Field(min_length=1, max_length=100)  # 单位, e.g. 临沂市发展改革委
    position: str = Field(default="", max_length=100)  # in the body: 组长, 成员, 联络员…
    person: str = Field(default="", max_length=100)  # a role title or a name


class BodyFields(Model):
    kind: BodyKind
    name: str = Field(min_length=1, max_length=200)
    # validate_default: the task-force checks below must run when the field is left out
    lead_city: CityCode | None = Field(default=None, validate_default=True)
    lead_department: str = Field(default="", max_length=100, validate_default=True)
    duties: str = Field(default="", max_length=4000)
    members: tuple[BodyMember, ...] = Field(default=(), max_length=300)
    note: Note = ""

    # A task force (工作专班) is led by one city's department; the leadership group need not be.
    @field_validator("lead_city")
    @classmethod
    def _task_force_city(cls, city: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("kind") == "工作专班" and city is None:
            raise ValueError("工作专班须有牵头城市 a task force needs a lead city")
        return city

    @field_validator("lead_department")
    @classmethod
    def _task_force_department(cls, department: str, info: ValidationInfo) -> str:
        if info.data.get("kind") == "工作专班" and not department.strip():
            raise ValueError("工作专班须有牵头部门 a task force needs a lead department")
        return department


class Dissolution(Model):
    note: Note = ""


# --- joint meetings: 联席会议 ----------------------------------------------------------------


class AgendaItem(Model):
    """An agenda item; ids are the meeting's own (a1, a2.1…) and stay the same across edits."""

    id: str = Field(pattern=r"^[A-Za-z0-9._-]{1,16}$")
    title: str = Field(min_length=1, max_length=300)
    presenter: str = Field(default="", max_length=200)  # 汇报单位/人
    children: tuple[AgendaItem, ...] = Field(default=(), max_length=50)


class Attendance(Model):
    """Who came from one city: names or positions (出席人员)."""

    city: CityCode
    people: tuple[Annotated[str, Field(min_length=1, max_length=100)], ...] = Field(
        default=(), max_length=100
    )


def agenda_ids(items: tuple[AgendaItem, ...]) -> list[str]:
    return [i for item in items for i in (item.id, *agenda_ids(item.children))]


def _depth(items: tuple[AgendaItem, ...]) -> int:
    return max((1 + _depth(i.children) for i in items), default=0)


class MeetingFields(Model):
    number: int = Field(ge=1, le=9999)  # 第N次联席会议
    title: str = Field(min_length=1, max_length=200)
    date: dt.date
    host_city: CityCode
    place: str = Field(default="", max_length=200)
    agenda: tuple[AgendaItem, ...] = Field(default=(), max_length=50)
    attendees: tuple[Attendance, ...] = Field(default=(), max_length=50)
    documents: tuple[Document, ...] = Field(default=(), max_length=100)
    note: Note = ""

    @field_validator("agenda")
    @classmethod
    def _agenda(cls, agenda: tuple[AgendaItem, ...]) -> tuple[AgendaItem, ...]:
        _unique(agenda_ids(agenda), "议程编号 agenda item id")
        if _depth(agenda) > MAX_AGENDA_DEPTH:
            raise ValueError(f"议程最多{MAX_AGENDA_DEPTH}层 at most {MAX_AGENDA_DEPTH} levels")
        return agenda

    @field_validator("attendees")
    @classmethod
    def _attendees(cls, attendees: tuple[Attendance, ...]) -> tuple[Attendance, ...]:
        _unique([a.city for a in attendees], "出席城市 attending city")
        return attendees


class MeetingPatch(Model):
    """A change to some of a meeting's fields; those left out (None) stay as they are."""

    number: int | None = Field(default=None, ge=1, le=9999)
    title: str | None = Field(default=None, min_length=1, max_length=200)
    date: dt.date | None = None
    host_city: CityCode | None = None
    place: str | None = Field(default=None, max_length=200)
    agenda: tuple[AgendaItem, ...] | None = None
    attendees: tuple[Attendance, ...] | None = None
    documents: tuple[Document, ...] | None = None
    note: str | None = Field(default=None, max_length=2000)


class Resolution(Model):
    id: str = Field(pattern=r"^r[1-9][0-9]{0,2}$")  # r1, r2… as the minutes number them
    text: str = Field(min_length=1, max_length=4000)


class Minutes(Model):
    minutes: str = Field(min_length=1, max_length=100_000)
    resolutions: tuple[Resolution, ...] = Field(default=(), max_length=100)

    @field_validator("resolutions")
    @classmethod
    def _ids(cls, resolutions: tuple[Resolution, ...]) -> tuple[Resolution, ...]:
        _unique([r.id for r in resolutions], "决议编号 resolution id")
        return resolutions


class StepNote(Model):
    """The body of a step in a meeting's life (held, minutes approved)."""

    note: Note = ""


class ResolutionLink(Model):
    """An object (a task of the ledger, an agreement) created to carry out a resolution."""

    resolution: str = Field(pattern=r"^r[1-9][0-9]{0,2}$")
    object: str = Field(pattern=r"^(agreement|task)/\d{6}/[A-Za-z0-9._-]{1,64}$")


# --- agreements: 协议 -----------------------------------------------------------------------


class AgreementTerms(Model):
    """What the drafter may change after drafting (the parties it may not)."""

    title: str = Field(min_length=1, max_length=200)
    kind: AgreementKind
    text: str = Field(min_length=1, max_length=200_000)
    attachments: tuple[Document, ...] = Field(default=(), max_length=100)
    signing_place: str = Field(default="", max_length=200)
    signing_date: dt.date | None = None
    note: Note = ""


class AgreementFields(AgreementTerms):
    """An agreement as drafted: its terms, its parties and where it comes from."""

    parties: tuple[CityCode, ...] = Field(min_length=2, max_length=50)
    source_ref: ObjectRef | None = None  # e.g. meeting/371300/2#r1

    @field_validator("parties")
    @classmethod
    def _parties(cls, parties: tuple[str, ...]) -> tuple[str, ...]:
        _unique(list(parties), "签约方 party")
        return parties


class AgreementDrafted(AgreementFields):
    """`gov.agreement.created`: the fields and the hash of the text (checked on apply)."""

    text_sha256: Sha256


class AgreementRevised(AgreementTerms):
    """`gov.agreement.updated`: new terms and the hash of the new text."""

    text_sha256: Sha256


class Signature(Model):
    """`gov.agreement.signed`: a party signs the text with this hash, in its own log."""

    agreement: str = Field(pattern=r"^agreement/\d{6}/[A-Za-z0-9._-]{1,64}$")
    text_sha256: Sha256
    note: Note = ""


# --- landed projects: 落地项目 ---------------------------------------------------------------


class ProjectFields(Model):
    name: str = Field(min_length=1, max_length=200)
    location: str = Field(default="", max_length=200)  # "" where the source does not say
    area: str = Field(default="", max_length=32)  # 领域, e.g. 产业协同
    description: str = Field(default="", max_length=4000)
    source_ref: ObjectRef | None = None
    note: Note = ""
