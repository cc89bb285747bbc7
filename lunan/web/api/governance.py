"""The governance API: the chair, bodies, joint meetings, agreements, landed projects.

Reads need a signed-in user (Permission.READ); writes need Permission.MANAGE_GOVERNANCE and act
for the node's own city: alliance-wide objects (bodies, meetings) only on the chair city's node,
an agreement or project only on its own city's node, a signature on each party's own node.
Objects are addressed by their id's city and number: `body/371300/1` is /bodies/371300/1.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import Engine

from lunan.auth.roles import Permission
from lunan.auth.users import User
from lunan.auth.web import require
from lunan.governance import actions, queries
from lunan.governance.models import (
    AgendaItem,
    AgreementFields,
    AgreementTerms,
    Attendance,
    BodyFields,
    Dissolution,
    MeetingFields,
    MeetingPatch,
    Minutes,
    Model,
    ProjectFields,
    Sha256,
    StepNote,
)
from lunan.web.api.common import found as _found
from lunan.web.api.common import node_parts as _parts

router = APIRouter(prefix="/api/v1/governance", tags=["governance"])

City = Annotated[str, Path(pattern=r"^\d{6}$", description="city code in the object id")]
Number = Annotated[int, Path(ge=1, le=2**53 - 1, description="number in the object id")]
ResolutionId = Annotated[str, Path(pattern=r"^r[1-9][0-9]{0,2}$")]
Reader = Annotated[User, Depends(require(Permission.READ))]
Manager = Annotated[User, Depends(require(Permission.MANAGE_GOVERNANCE))]


class Written(BaseModel):
    """The object a write created or changed."""

    id: str


class HandoverRequest(Model):
    note: str = Field(default="", max_length=1000)  # an early handover's note gets a prefix
    early: bool = False  # hand over before the current term ends


class AcceptRequest(Model):
    handover: str | None = Field(default=None, pattern=r"^handover/\d{6}/\d+$")


class AgendaRequest(Model):
    agenda: tuple[AgendaItem, ...]


class AttendeesRequest(Model):
    attendees: tuple[Attendance, ...]


class LinkRequest(Model):
    object: str = Field(pattern=r"^(agreement|task)/\d{6}/[A-Za-z0-9._-]{1,64}$")


class SignRequest(Model):
    text_sha256: Sha256 | None = None  # the text the signer read; refused if it changed
    note: str = Field(default="", max_length=2000)


def _engine(request: Request) -> Engine:
    return _parts(request).projector.engine


# --- the chair ------------------------------------------------------------------------------


@router.get("/chair")
def get_chair(request: Request, _user: Reader) -> queries.ChairView:
    """The current chair city, the terms of the alliance file, and every handover."""
    parts = _parts(request)
    return queries.chair(parts.projector.engine, parts.alliance)


@router.post("/chair/handover", status_code=201)
def hand_over(request: Request, user: Manager, body: HandoverRequest) -> Written:
    """The chair hands over to the next term's city (at or after its term's end, or `early`)."""
    return Written(id=actions.hand_over_chair(_parts(request), user, body.note, body.early))


@router.post("/chair/accept", status_code=201)
def accept(request: Request, user: Manager, body: AcceptRequest) -> Written:
    """The next chair accepts the handover addressed to its city."""
    return Written(id=actions.accept_chair(_parts(request), user, body.handover))


# --- bodies ---------------------------------------------------------------------------------


@router.get("/bodies")
def list_bodies(
    request: Request, _user: Reader, include_dissolved: bool = True
) -> list[queries.BodyView]:
    """领导小组 first, then the 工作专班."""
    return queries.bodies(_engine(request), include_dissolved)


@router.post("/bodies", status_code=201)
def create_body(request: Request, user: Manager, body: BodyFields) -> Written:
    return Written(id=actions.create_body(_parts(request), user, body))


@router.get("/bodies/{city}/{n}")
def get_body(request: Request, _user: Reader, city: City, n: Number) -> queries.BodyView:
    body_id = f"body/{city}/{n}"
    return _found(queries.body(_engine(request), body_id), body_id)


@router.put("/bodies/{city}/{n}")
def update_body(
    request: Request, user: Manager, city: City, n: Number, body: BodyFields
) -> Written:
    return Written(id=actions.update_body(_parts(request), user, f"body/{city}/{n}", body))


@router.post("/bodies/{city}/{n}/dissolve")
def dissolve_body(
    request: Request, user: Manager, city: City, n: Number, body: Dissolution
) -> Written:
    body_id = f"body/{city}/{n}"
    return Written(id=actions.dissolve_body(_parts(request), user, body_id, body.note))


# --- meetings -------------------------------------------------------------------------------


@router.get("/meetings")
def list_meetings(request: Request, _user: Reader) -> list[queries.MeetingView]:
    return queries.meetings(_engine(request))


@router.post("/meetings", status_code=201)
def create_meeting(request: Request, user: Manager, body: MeetingFields) -> Written:
    """A joint meeting in preparation (筹备中)."""
    return Written(id=actions.create_meeting(_parts(request), user, body))


@router.get("/meetings/{city}/{n}")
def get_meeting(request: Request, _user: Reader, city: City, n: Number) -> queries.MeetingView:
    meeting_id = f"meeting/{city}/{n}"
    return _found(queries.meeting(_engine(request), meeting_id), meeting_id)


@router.patch("/meetings/{city}/{n}")
def update_meeting(
    request: Request, user: Manager, city: City, n: Number, body: MeetingPatch
) -> Written:
    """Change the fields given; the others stay. Until the minutes are approved."""
    meeting_id = f"meeting/{city}/{n}"
    return Written(id=actions.update_meeting(_parts(request), user, meeting_id, body))


@router.put("/meetings/{city}/{n}/agenda")
def set_agenda(
    request: Request, user: Manager, city: City, n: Number, body: AgendaRequest
) -> Written:
    patch = MeetingPatch(agenda=body.agenda)
    return Written(id=actions.update_meeting(_parts(request), user, f"meeting/{city}/{n}", patch))


@router.put("/meetings/{city}/{n}/attendees")
def set_attendees(
    request: Request, user: Manager, city: City, n: Number, body: AttendeesRequest
) -> Written:
    patch = MeetingPatch(attendees=body.attendees)
    return Written(id=actions.update_meeting(_parts(request), user, f"meeting/{city}/{n}", patch))


@router.post("/meetings/{city}/{n}/held")
def mark_held(request: Request, user: Manager, city: City, n: Number, body: StepNote) -> Written:
    """筹备中 → 已召开."""
    meeting_id = f"meeting/{city}/{n}"
    return Written(id=actions.mark_meeting_held(_parts(request), user, meeting_id, body.note))


@router.post("/meetings/{city}/{n}/minutes")
def record_minutes(
    request: Request, user: Manager, city: City, n: Number, body: Minutes
) -> Written:
    """The minutes and numbered resolutions (r1, r2…) of a held meeting."""
    meeting_id = f"meeting/{city}/{n}"
    return Written(id=actions.record_minutes(_parts(request), user, meeting_id, body))


@router.post("/meetings/{city}/{n}/approve")
def approve_minutes(
    request: Request, user: Manager, city: City, n: Number, body: StepNote
) -> Written:
    """已召开 → 纪要已审定; the minutes and resolutions are final."""
    meeting_id = f"meeting/{city}/{n}"
    return Written(id=actions.approve_minutes(_parts(request), user, meeting_id, body.note))


@router.post("/meetings/{city}/{n}/resolutions/{resolution}/links")
def link_resolution(
    request: Request,
    user: Manager,
    city: City,
    n: Number,
    resolution: ResolutionId,
    body: LinkRequest,
) -> Written:
    """The chair records a task or agreement created to carry out the resolution."""
    meeting_id = f"meeting/{city}/{n}"
    parts = _parts(request)
    return Written(id=actions.link_resolution(parts, user, meeting_id, resolution, body.object))


@router.post("/meetings/{city}/{n}/resolutions/{resolution}/agreements", status_code=201)
def agreement_from_resolution(
    request: Request,
    user: Manager,
    city: City,
    n: Number,
    resolution: ResolutionId,
    body: AgreementFields,
) -> Written:
    """Draft (in this city's log) an agreement carrying out the resolution; its source_ref is
    set to `meeting/<city>/<n>#<resolution>`."""
    meeting_id = f"meeting/{city}/{n}"
    parts = _parts(request)
    return Written(
        id=actions.create_agreement_from_resolution(parts, user, meeting_id, resolution, body)
    )


@router.get("/meetings/{city}/{n}/created")
def created_from(
    request: Request, _user: Reader, city: City, n: Number
) -> list[queries.CreatedItem]:
    """Tasks and agreements created from the meeting's resolutions."""
    meeting_id = f"meeting/{city}/{n}"
    _found(queries.meeting(_engine(request), meeting_id), meeting_id)
    return queries.created_from(_engine(request), meeting_id)


# --- agreements -----------------------------------------------------------------------------


@router.get("/agreements")
def list_agreements(
    request: Request,
    _user: Reader,
    effective: bool | None = None,
    party: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None,
) -> list[queries.AgreementView]:
    """Agreements with who has signed; `effective` filters those in force (or not yet)."""
    return queries.agreements(_engine(request), effective, party)


@router.post("/agreements", status_code=201)
def create_agreement(request: Request, user: Manager, body: AgreementFields) -> Written:
    """Draft an agreement; this city must be one of the parties."""
    return Written(id=actions.create_agreement(_parts(request), user, body))


@router.get("/agreements/{city}/{n}")
def get_agreement(request: Request, _user: Reader, city: City, n: Number) -> queries.AgreementView:
    agreement_id = f"agreement/{city}/{n}"
    return _found(queries.agreement(_engine(request), agreement_id), agreement_id)


@router.put("/agreements/{city}/{n}")
def update_agreement(
    request: Request, user: Manager, city: City, n: Number, body: AgreementTerms
) -> Written:
    """Revise the terms (not the parties); a new text must be signed again by every party."""
    agreement_id = f"agreement/{city}/{n}"
    return Written(id=actions.update_agreement(_parts(request), user, agreement_id, body))


@router.post("/agreements/{city}/{n}/sign", status_code=201)
def sign_agreement(
    request: Request, user: Manager, city: City, n: Number, body: SignRequest
) -> Written:
    """This city, a party, signs the agreement's current text (in its own log)."""
    agreement_id = f"agreement/{city}/{n}"
    parts = _parts(request)
    return Written(
        id=actions.sign_agreement(parts, user, agreement_id, body.text_sha256, body.note)
    )


# --- landed projects ------------------------------------------------------------------------


@router.get("/projects")
def list_projects(request: Request, _user: Reader) -> list[queries.ProjectView]:
    return queries.projects(_engine(request))


@router.post("/projects", status_code=201)
def create_project(request: Request, user: Manager, body: ProjectFields) -> Written:
    return Written(id=actions.create_project(_parts(request), user, body))


@router.get("/projects/{city}/{n}")
def get_project(request: Request, _user: Reader, city: City, n: Number) -> queries.ProjectView:
    project_id = f"project/{city}/{n}"
    return _found(queries.project(_engine(request), project_id), project_id)


@router.put("/projects/{city}/{n}")
def update_project(
    request: Request, user: Manager, city: City, n: Number, body: ProjectFields
) -> Written:
    project_id = f"project/{city}/{n}"
    return Written(id=actions.update_project(_parts(request), user, project_id, body))
