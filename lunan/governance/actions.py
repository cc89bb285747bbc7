"""Governance writes, one function per write: check the user, the city and the current state,
append, return the object id. A refusal raises an ActionError before anything is appended.

Who may: a user holding Permission.MANAGE_GOVERNANCE, acting for its own city (the node's).
Alliance-wide objects (bodies, meetings) and the handover are the chair city's; agreements and
projects their own city's; a signature is a party's, in its own log.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import Row, Table, select

from lunan.alliance.config import ChairTerm
from lunan.auth.roles import Permission
from lunan.auth.users import User
from lunan.clock import SHANGHAI
from lunan.events.context import current_chair, loads
from lunan.events.core import Acceptance, Handover
from lunan.events.envelope import ObjectId
from lunan.events.errors import Conflict, Forbidden, Invalid, NotFound
from lunan.events.tables import p_handovers, p_objects
from lunan.governance import meetings, queries
from lunan.governance.models import (
    AgreementDrafted,
    AgreementFields,
    AgreementRevised,
    AgreementTerms,
    BodyFields,
    Dissolution,
    MeetingFields,
    MeetingPatch,
    Minutes,
    ProjectFields,
    ResolutionLink,
    Signature,
    StepNote,
    text_sha256,
)
from lunan.governance.tables import (
    p_gov_agreements,
    p_gov_bodies,
    p_gov_meetings,
    p_gov_projects,
    p_gov_resolutions,
)
from lunan.services import NodeParts, authorize, latest_deps

# --- shared checks --------------------------------------------------------------------------


def _chair(parts: NodeParts) -> str | None:
    with parts.projector.engine.connect() as conn:
        return current_chair(conn)


def _check_chair(parts: NodeParts, what: str) -> None:
    chair = _chair(parts)
    if chair != parts.config.city:
        holder = chair or "无（交接中） none (handover pending)"
        raise Forbidden(
            f"只有轮值城市可以{what}，现任轮值城市：{holder} "
            f"only the chair city may do this; the chair is {holder}"
        )


def _check_cities(parts: NodeParts, cities: Iterable[str | None], field: str) -> None:
    members = set(parts.projector.logs)
    for city in cities:
        if city is not None and city not in members:
            raise Invalid(
                f"{city}不是联盟成员城市 {city} is not a member of the alliance "
                f"(members: {', '.join(sorted(members))})",
                field=field,
            )


def _row(parts: NodeParts, table: Table, object_id: str, what: str) -> Row[Any]:
    with parts.projector.engine.connect() as conn:
        row = conn.execute(select(table).where(table.c.id == object_id)).first()
    if row is None:
        raise NotFound(f"{what}{object_id}不存在 {object_id} does not exist")
    return row


def _own(parts: NodeParts, object_id: str, what: str) -> None:
    if ObjectId.parse(object_id).city != parts.config.city:
        raise Forbidden(
            f"{what}{object_id}属于其他城市，只能由其所属城市修改 "
            f"{object_id} belongs to another city; only its own city changes it"
        )


def _append(
    parts: NodeParts,
    type_name: str,
    object_id: str,
    body: BaseModel,
    user: User,
    deps: Iterable[tuple[str, int]] = (),
) -> str:
    return parts.writer.append(type_name, object_id, body, user.actor(), deps).object


def _source_deps(parts: NodeParts, ref: str | None, field: str) -> list[tuple[str, int]]:
    """The deps that let an event refer to `ref` (an object, or a part of one: `…#r1`)."""
    if ref is None:
        return []
    source = ref.split("#", 1)[0]
    with parts.projector.engine.connect() as conn:
        known = conn.execute(select(p_objects.c.id).where(p_objects.c.id == source)).first()
    if known is None:
        raise Invalid(f"{source}不存在 {source} does not exist", field=field)
    return parts.writer.deps_for(source)


# --- the chair ------------------------------------------------------------------------------


def _terms(parts: NodeParts) -> tuple[ChairTerm, ...]:
    if parts.alliance is None or not parts.alliance.chair_terms:
        raise Conflict(
            "联盟文件未规定轮值任期 the alliance file lists no chair terms: "
            "add them (`lunan alliance`) before handing over the chair"
        )
    return parts.alliance.chair_terms


def hand_over_chair(parts: NodeParts, user: User, note: str = "", early: bool = False) -> str:
    """Hand the chair to the next term's city (alliance file), at or after this term's end;
    `early` hands it over before the end (e.g. when the members agreed to it)."""
    authorize(parts, user, Permission.MANAGE_GOVERNANCE)
    terms = _terms(parts)
    city = parts.config.city
    with parts.writer.lock:
        _check_chair(parts, "移交轮值")
        with parts.projector.engine.connect() as conn:
            index = queries.current_term_index(conn, terms)
        if index is None:
            raise Conflict(
                "联盟文件中找不到本市的当前任期 the alliance file has no term for the current chair"
            )
        if index + 1 >= len(terms):
            raise Conflict(
                "联盟文件中没有下一任期 the alliance file lists no next term: "
                "the members add it in a new alliance version"
            )
        current, following = terms[index], terms[index + 1]
        today = dt.datetime.now(SHANGHAI).date()
        if today < current.end and not early:
            raise Conflict(
                f"本任期至{current.end}结束，提前移交须注明 early the term runs until "
                f"{current.end}: set early to hand over before that",
                field="early",
            )
        if following.city == city:
            raise Conflict("下一任期仍为本市，无需移交 the next term is this city's again")
        if today < current.end:  # the log says so, for whoever audits the rotation
            note = f"提前移交（本任期至{current.end}） {note}".strip()
        body = Handover(
            to=following.city, term_start=following.start, term_end=following.end, note=note
        )
        return _append(
            parts, "alliance.chair.handover", parts.writer.next_id("handover"), body, user
        )


def accept_chair(parts: NodeParts, user: User, handover: str | None = None) -> str:
    """Accept the handover addressed to this city: from now on the alliance-wide objects are
    this city's to change."""
    authorize(parts, user, Permission.MANAGE_GOVERNANCE)
    city = parts.config.city
    with parts.writer.lock:
        q = select(p_handovers.c.id).where(
            p_handovers.c.to_city == city, p_handovers.c.accepted_by.is_(None)
        )
        with parts.projector.engine.connect() as conn:
            pending = list(conn.execute(q).scalars())
        if handover is not None and handover not in pending:
            raise NotFound(f"没有待本市接任的交接{handover} no such handover to {city} is pending")
        if not pending:
            raise Conflict(f"没有移交给本市的交接 no handover to {city} awaits acceptance")
        chosen = handover or pending[0]
        return _append(
            parts,
            "alliance.chair.accepted",
            parts.writer.next_id("acceptance"),
            Acceptance(handover=chosen),
            user,
            parts.writer.deps_for(chosen),
        )


# --- bodies ---------------------------------------------------------------------------------


def _check_body(parts: NodeParts, fields: BodyFields) -> None:
    _check_cities(parts, [fields.lead_city], "lead_city")
    for i, m in enumerate(fields.members):
        _check_cities(parts, [m.city], f"members[{i}].city")


def create_body(parts: NodeParts, user: User, fields: BodyFields) -> str:
    authorize(parts, user, Permission.MANAGE_GOVERNANCE)
    _check_body(parts, fields)
    with parts.writer.lock:
        _check_chair(parts, "设立领导小组、工作专班")
        return _append(parts, "gov.body.created", parts.writer.next_id("body"), fields, user)


def _live_body(parts: NodeParts, body_id: str) -> Row[Any]:
    row = _row(parts, p_gov_bodies, body_id, "机构")
    if row.status == "dissolved":
        raise Conflict(f"{row.name}已撤销 {body_id} was dissolved")
    return row


def update_body(parts: NodeParts, user: User, body_id: str, fields: BodyFields) -> str:
    authorize(parts, user, Permission.MANAGE_GOVERNANCE)
    _check_body(parts, fields)
    with parts.writer.lock:
        _check_chair(parts, "调整领导小组、工作专班")
        row = _live_body(parts, body_id)
        if row.kind != fields.kind:
            raise Invalid(f"机构类别不能更改 a {row.kind} stays a {row.kind}", field="kind")
        return _append(parts, "gov.body.updated", body_id, fields, user)


def dissolve_body(parts: NodeParts, user: User, body_id: str, note: str = "") -> str:
    authorize(parts, user, Permission.MANAGE_GOVERNANCE)
    with parts.writer.lock:
        _check_chair(parts, "撤销领导小组、工作专班")
        _live_body(parts, body_id)
        return _append(parts, "gov.body.dissolved", body_id, Dissolution(note=note), user)


# --- meetings -------------------------------------------------------------------------------


def _check_meeting(parts: NodeParts, fields: MeetingFields, meeting_id: str | None) -> None:
    _check_cities(parts, [fields.host_city], "host_city")
    for i, a in enumerate(fields.attendees):
        _check_cities(parts, [a.city], f"attendees[{i}].city")
    q = select(p_gov_meetings.c.id).where(p_gov_meetings.c.number == fields.number)
    with parts.projector.engine.connect() as conn:
        other = conn.execute(q).scalar()
    if other is not None and other != meeting_id:
        raise Conflict(
            f"第{fields.number}次联席会议已存在（{other}） joint meeting {fields.number} exists",
            field="number",
        )


def _meeting_in(parts: NodeParts, meeting_id: str, step: str) -> Row[Any]:
    """The meeting, if `step` may be taken now (409 otherwise)."""
    row = _row(parts, p_gov_meetings, meeting_id, "会议")
    problem = meetings.refusal(step, row.status)
    if problem is not None:
        raise Conflict(problem)
    return row


def create_meeting(parts: NodeParts, user: User, fields: MeetingFields) -> str:
    authorize(parts, user, Permission.MANAGE_GOVERNANCE)
    with parts.writer.lock:
        _check_chair(parts, "筹备联席会议")
        _check_meeting(parts, fields, None)
        return _append(parts, "gov.meeting.created", parts.writer.next_id("meeting"), fields, user)


def _fields_of(row: Row[Any]) -> dict[str, Any]:
    return {
        "number": row.number,
        "title": row.title,
        "date": row.date,
        "host_city": row.host_city,
        "place": row.place,
        "agenda": loads(row.agenda),
        "attendees": loads(row.attendees),
        "documents": loads(row.documents),
        "note": row.note,
    }


def update_meeting(parts: NodeParts, user: User, meeting_id: str, patch: MeetingPatch) -> str:
    """Change the fields `patch` gives (agenda, attendees, documents…), until approval."""
    authorize(parts, user, Permission.MANAGE_GOVERNANCE)
    with parts.writer.lock:
        _check_chair(parts, "修改联席会议")
        row = _meeting_in(parts, meeting_id, "update")
        changes = patch.model_dump(mode="json", exclude_none=True)
        try:
            fields = MeetingFields.model_validate({**_fields_of(row), **changes})
        except ValidationError as e:
            first = e.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise Invalid(f"{where}: {first['msg']}", field=where) from e
        _check_meeting(parts, fields, meeting_id)
        return _append(parts, "gov.meeting.updated", meeting_id, fields, user)


def _step(
    parts: NodeParts, user: User, meeting_id: str, step: str, type_name: str, note: str
) -> str:
    authorize(parts, user, Permission.MANAGE_GOVERNANCE)
    with parts.writer.lock:
        _check_chair(parts, "办理联席会议事项")
        row = _meeting_in(parts, meeting_id, step)
        if step == "approve" and not row.minutes:
            raise Conflict(f"{meeting_id}尚无会议纪要 the meeting has no minutes to approve")
        return _append(parts, type_name, meeting_id, StepNote(note=note), user)


def mark_meeting_held(parts: NodeParts, user: User, meeting_id: str, note: str = "") -> str:
    """筹备中 → 已召开."""
    return _step(parts, user, meeting_id, "held", "gov.meeting.held", note)


def approve_minutes(parts: NodeParts, user: User, meeting_id: str, note: str = "") -> str:
    """已召开 → 纪要已审定: the minutes and resolutions are final from now on."""
    return _step(parts, user, meeting_id, "approve", "gov.meeting.approved", note)


def record_minutes(parts: NodeParts, user: User, meeting_id: str, minutes: Minutes) -> str:
    """The minutes and numbered resolutions of a held meeting; replaces an earlier draft."""
    authorize(parts, user, Permission.MANAGE_GOVERNANCE)
    with parts.writer.lock:
        _check_chair(parts, "录入会议纪要")
        _meeting_in(parts, meeting_id, "minutes")
        return _append(parts, "gov.meeting.minutes", meeting_id, minutes, user)


def _resolution(parts: NodeParts, meeting_id: str, resolution: str) -> Row[Any]:
    """The resolution of an approved meeting (a resolution counts once the minutes do)."""
    _meeting_in(parts, meeting_id, "link")
    q = select(p_gov_resolutions).where(
        p_gov_resolutions.c.meeting == meeting_id, p_gov_resolutions.c.id == resolution
    )
    with parts.projector.engine.connect() as conn:
        row = conn.execute(q).first()
    if row is None:
        raise NotFound(
            f"{meeting_id}没有决议{resolution} the meeting has no resolution {resolution}"
        )
    return row


def link_resolution(
    parts: NodeParts, user: User, meeting_id: str, resolution: str, object_id: str
) -> str:
    """Record in a resolution an object created to carry it out: an agreement whose source_ref
    names the resolution, or a task of the ledger (coop) made for it."""
    authorize(parts, user, Permission.MANAGE_GOVERNANCE)
    link = ResolutionLink(resolution=resolution, object=object_id)
    with parts.writer.lock:
        _check_chair(parts, "关联决议落实事项")
        row = _resolution(parts, meeting_id, resolution)
        if object_id in loads(row.creates):
            raise Conflict(f"{object_id}已关联 {object_id} is already linked", field="object")
        if link.object.startswith("agreement/"):
            agreement = _row(parts, p_gov_agreements, object_id, "协议")
            expected = meetings.from_resolution(meeting_id, resolution)
            if agreement.source_ref != expected:
                raise Invalid(
                    f"协议来源不是{expected} the agreement's source_ref is not {expected}",
                    field="object",
                )
        deps = _source_deps(parts, object_id, "object")
        return _append(parts, "gov.meeting.resolution_linked", meeting_id, link, user, deps)


# --- agreements -----------------------------------------------------------------------------


def create_agreement(parts: NodeParts, user: User, fields: AgreementFields) -> str:
    """Draft an agreement in this city's log; the parties then sign it, each in its own."""
    authorize(parts, user, Permission.MANAGE_GOVERNANCE)
    city = parts.config.city
    _check_cities(parts, fields.parties, "parties")
    if city not in fields.parties:
        raise Invalid(f"起草城市{city}须为签约方 the drafting city must be a party", "parties")
    with parts.writer.lock:
        deps = _source_deps(parts, fields.source_ref, "source_ref")
        body = AgreementDrafted(**fields.model_dump(), text_sha256=text_sha256(fields.text))
        agreement_id = parts.writer.next_id("agreement")
        return _append(parts, "gov.agreement.created", agreement_id, body, user, deps)


def create_agreement_from_resolution(
    parts: NodeParts, user: User, meeting_id: str, resolution: str, fields: AgreementFields
) -> str:
    """Draft an agreement that carries out a meeting's resolution (source_ref
    `meeting/…#r1`). The chair's node also links it in the resolution at once; another
    city's agreement the chair links later (`link_resolution`)."""
    authorize(parts, user, Permission.MANAGE_GOVERNANCE)
    with parts.writer.lock:
        _resolution(parts, meeting_id, resolution)
        ref = meetings.from_resolution(meeting_id, resolution)
        if fields.source_ref not in (None, ref):
            raise Invalid(f"来源应为{ref} source_ref must be {ref} or empty", "source_ref")
        agreement_id = create_agreement(parts, user, fields.model_copy(update={"source_ref": ref}))
        if _chair(parts) == parts.config.city:
            link_resolution(parts, user, meeting_id, resolution, agreement_id)
        return agreement_id


def _agreement_view(parts: NodeParts, agreement_id: str) -> queries.AgreementView:
    view = queries.agreement(parts.projector.engine, agreement_id)
    if view is None:
        raise NotFound(f"协议{agreement_id}不存在 {agreement_id} does not exist")
    return view


def update_agreement(parts: NodeParts, user: User, agreement_id: str, terms: AgreementTerms) -> str:
    """Revise an agreement's terms (never its parties). A new text needs every party's
    signature again; the text of an agreement in force does not change (draft a new one)."""
    authorize(parts, user, Permission.MANAGE_GOVERNANCE)
    _own(parts, agreement_id, "协议")
    with parts.writer.lock:
        view = _agreement_view(parts, agreement_id)
        sha256 = text_sha256(terms.text)
        if view.effective and sha256 != view.text_sha256:
            raise Conflict(
                "协议已生效，文本不能再修改，请另行签订补充协议 the agreement is in force: "
                "its text no longer changes; draft a supplementary agreement",
                field="text",
            )
        body = AgreementRevised(**terms.model_dump(), text_sha256=sha256)
        return _append(parts, "gov.agreement.updated", agreement_id, body, user)


def sign_agreement(
    parts: NodeParts,
    user: User,
    agreement_id: str,
    text_sha256: str | None = None,
    note: str = "",
) -> str:
    """Sign an agreement's current text for this city, in its own log. `text_sha256`, the
    hash of the text the signer read, guards against signing a text changed meanwhile."""
    authorize(parts, user, Permission.MANAGE_GOVERNANCE)
    city = parts.config.city
    with parts.writer.lock:
        view = _agreement_view(parts, agreement_id)
        party = next((p for p in view.parties if p.city == city), None)
        if party is None:
            raise Forbidden(f"本市不是{agreement_id}的签约方 {city} is not a party to it")
        if text_sha256 is not None and text_sha256 != view.text_sha256:
            raise Conflict(
                "协议文本已更新，请阅读最新文本后再签署 the text changed since it was read: "
                f"the current text's hash is {view.text_sha256}",
                field="text_sha256",
            )
        if party.signed:
            raise Conflict(f"本市已签署该协议现行文本 {city} has already signed this text")
        body = Signature(agreement=agreement_id, text_sha256=view.text_sha256, note=note)
        deps = latest_deps(parts, agreement_id)
        signature_id = parts.writer.next_id("signature")
        return _append(parts, "gov.agreement.signed", signature_id, body, user, deps)


# --- landed projects ------------------------------------------------------------------------


def create_project(parts: NodeParts, user: User, fields: ProjectFields) -> str:
    authorize(parts, user, Permission.MANAGE_GOVERNANCE)
    with parts.writer.lock:
        deps = _source_deps(parts, fields.source_ref, "source_ref")
        project_id = parts.writer.next_id("project")
        return _append(parts, "gov.project.created", project_id, fields, user, deps)


def update_project(parts: NodeParts, user: User, project_id: str, fields: ProjectFields) -> str:
    authorize(parts, user, Permission.MANAGE_GOVERNANCE)
    _own(parts, project_id, "项目")
    with parts.writer.lock:
        _row(parts, p_gov_projects, project_id, "项目")
        deps = _source_deps(parts, fields.source_ref, "source_ref")
        return _append(parts, "gov.project.updated", project_id, fields, user, deps)
