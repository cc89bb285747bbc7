"""What pages and the API read about governance, from the projections.

Anything that combines several logs is worked out here, when asked, never stored: whether an
agreement is in force (every party has signed its current text, each in its own log) and what
a meeting's resolutions led to (objects of other logs that name the resolution as source).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Connection, Engine, select

from lunan.alliance.config import Alliance, ChairTerm
from lunan.events.context import current_chair, loads
from lunan.events.tables import p_chairs, p_events, p_handovers, p_nodes, projection
from lunan.governance.meetings import from_resolution
from lunan.governance.models import (
    MEETING_STATUSES,
    AgendaItem,
    Attendance,
    BodyMember,
    Document,
)
from lunan.governance.tables import (
    p_gov_agreements,
    p_gov_bodies,
    p_gov_meetings,
    p_gov_projects,
    p_gov_resolutions,
    p_gov_signatures,
)

# The task ledger's projection (written by lunan.coop); read only if it exists.
TASKS_TABLE = "p_coop_tasks"


def id_key(object_id: str) -> tuple[str, str, int, str]:
    """Sort key: by kind, city, then number (task/371300/10 after task/371300/9)."""
    kind, city, local = [*object_id.split("/", 2), "", ""][:3]
    return (kind, city, int(local) if local.isdigit() else -1, local)


def city_names(conn: Connection) -> dict[str, str]:
    """City code → name, as each member's genesis entry gives it."""
    return {r.city: r.name for r in conn.execute(select(p_nodes.c.city, p_nodes.c.name))}


# --- the chair ------------------------------------------------------------------------------


class TermView(BaseModel):
    city: str
    city_name: str
    start: dt.date
    end: dt.date
    current: bool


class HandoverView(BaseModel):
    id: str
    from_city: str
    from_name: str
    to_city: str
    to_name: str
    term_start: dt.date
    term_end: dt.date
    note: str
    time: str
    accepted_by: str | None
    accepted_time: str | None


class ChairView(BaseModel):
    chair: str | None  # None between a handover and its acceptance
    chair_name: str | None
    since: str | None  # the acceptance's time; None for the first chair
    current_term: TermView | None
    next_term: TermView | None
    pending: HandoverView | None  # a handover not accepted yet
    terms: list[TermView]
    handovers: list[HandoverView]


def current_term_index(conn: Connection, terms: tuple[ChairTerm, ...]) -> int | None:
    """Which of the alliance file's terms the current chair holds: the term its accepted
    handover named, or for the first chair its first term; None between chairs."""
    chair = conn.execute(select(p_chairs).where(p_chairs.c.until_idx.is_(None))).first()
    if chair is None:
        return None
    if chair.since_origin is None:
        return next((i for i, t in enumerate(terms) if t.city == chair.city), None)
    q = (
        select(p_handovers.c.term_start)
        .where(p_handovers.c.accepted_by == chair.city)
        .order_by(p_handovers.c.term_start.desc())
    )
    start = conn.execute(q).scalar()
    return next(
        (i for i, t in enumerate(terms) if t.city == chair.city and t.start.isoformat() == start),
        None,
    )


def _handover(r: Any, names: dict[str, str]) -> HandoverView:
    return HandoverView(
        id=r.id,
        from_city=r.from_city,
        from_name=names.get(r.from_city, r.from_city),
        to_city=r.to_city,
        to_name=names.get(r.to_city, r.to_city),
        term_start=dt.date.fromisoformat(r.term_start),
        term_end=dt.date.fromisoformat(r.term_end),
        note=r.note,
        time=r.time,
        accepted_by=r.accepted_by,
        accepted_time=r.accepted_time,
    )


def chair(engine: Engine, alliance: Alliance | None) -> ChairView:
    terms = alliance.chair_terms if alliance is not None else ()
    with engine.connect() as conn:
        names = city_names(conn)
        city = current_chair(conn)
        index = current_term_index(conn, terms)
        since = None
        row = conn.execute(select(p_chairs).where(p_chairs.c.city == city)).first()
        if row is not None and row.since_origin is not None:
            q = select(p_events.c.time).where(
                p_events.c.origin == row.since_origin, p_events.c.idx == row.since_idx
            )
            since = conn.execute(q).scalar()
        rows = conn.execute(select(p_handovers).order_by(p_handovers.c.time, p_handovers.c.id))
        handovers = [_handover(r, names) for r in rows]
    views = [
        TermView(
            city=t.city,
            city_name=names.get(t.city, t.city),
            start=t.start,
            end=t.end,
            current=i == index,
        )
        for i, t in enumerate(terms)
    ]
    following = index + 1 if index is not None else None
    return ChairView(
        chair=city,
        chair_name=names.get(city, city) if city else None,
        since=since,
        current_term=views[index] if index is not None else None,
        next_term=views[following] if following is not None and following < len(views) else None,
        pending=next((h for h in handovers if h.accepted_by is None), None),
        terms=views,
        handovers=handovers,
    )


# --- bodies ---------------------------------------------------------------------------------


class BodyView(BaseModel):
    id: str
    kind: str
    name: str
    lead_city: str | None
    lead_city_name: str | None
    lead_department: str
    duties: str
    members: list[BodyMember]
    note: str
    status: str  # active | dissolved
    created_time: str
    updated_time: str


def _body(r: Any, names: dict[str, str]) -> BodyView:
    return BodyView(
        id=r.id,
        kind=r.kind,
        name=r.name,
        lead_city=r.lead_city,
        lead_city_name=names.get(r.lead_city, r.lead_city) if r.lead_city else None,
        lead_department=r.lead_department,
        duties=r.duties,
        members=[BodyMember(**m) for m in loads(r.members)],
        note=r.note,
        status=r.status,
        created_time=r.created_time,
        updated_time=r.updated_time,
    )


def bodies(engine: Engine, include_dissolved: bool = True) -> list[BodyView]:
    q = select(p_gov_bodies)
    if not include_dissolved:
        q = q.where(p_gov_bodies.c.status == "active")
    with engine.connect() as conn:
        names = city_names(conn)
        views = [_body(r, names) for r in conn.execute(q)]
    # The leadership group first, then the task forces, each in the order set up.
    return sorted(views, key=lambda b: (b.kind != "领导小组", id_key(b.id)))


def body(engine: Engine, body_id: str) -> BodyView | None:
    with engine.connect() as conn:
        r = conn.execute(select(p_gov_bodies).where(p_gov_bodies.c.id == body_id)).first()
        return None if r is None else _body(r, city_names(conn))


# --- meetings -------------------------------------------------------------------------------


class ResolutionView(BaseModel):
    id: str
    text: str
    creates: list[str]  # what the chair linked to it: tasks, agreements


class MeetingView(BaseModel):
    id: str
    number: int
    title: str
    date: dt.date
    host_city: str
    host_city_name: str
    place: str
    status: str  # planned | held | approved
    status_label: str
    agenda: list[AgendaItem]
    attendees: list[Attendance]
    documents: list[Document]
    minutes: str
    resolutions: list[ResolutionView]
    note: str
    created_time: str
    updated_time: str
    held_time: str | None
    approved_time: str | None


def _meeting(conn: Connection, r: Any, names: dict[str, str]) -> MeetingView:
    q = (
        select(p_gov_resolutions)
        .where(p_gov_resolutions.c.meeting == r.id)
        .order_by(p_gov_resolutions.c.seq)
    )
    resolutions = [
        ResolutionView(id=x.id, text=x.text, creates=loads(x.creates)) for x in conn.execute(q)
    ]
    return MeetingView(
        id=r.id,
        number=r.number,
        title=r.title,
        date=dt.date.fromisoformat(r.date),
        host_city=r.host_city,
        host_city_name=names.get(r.host_city, r.host_city),
        place=r.place,
        status=r.status,
        status_label=MEETING_STATUSES[r.status],
        agenda=[AgendaItem.model_validate(a) for a in loads(r.agenda)],
        attendees=[Attendance.model_validate(a) for a in loads(r.attendees)],
        documents=[Document.model_validate(d) for d in loads(r.documents)],
        minutes=r.minutes,
        resolutions=resolutions,
        note=r.note,
        created_time=r.created_time,
        updated_time=r.updated_time,
        held_time=r.held_time,
        approved_time=r.approved_time,
    )


def meetings(engine: Engine) -> list[MeetingView]:
    q = select(p_gov_meetings).order_by(p_gov_meetings.c.number, p_gov_meetings.c.id)
    with engine.connect() as conn:
        names = city_names(conn)
        return [_meeting(conn, r, names) for r in conn.execute(q).all()]


def meeting(engine: Engine, meeting_id: str) -> MeetingView | None:
    with engine.connect() as conn:
        r = conn.execute(select(p_gov_meetings).where(p_gov_meetings.c.id == meeting_id)).first()
        return None if r is None else _meeting(conn, r, city_names(conn))


class CreatedItem(BaseModel):
    object: str
    kind: str  # agreement | task
    resolution: str
    linked: bool  # the chair listed it in the resolution
    names_source: bool  # its own source_ref names the resolution


def created_from(engine: Engine, meeting_id: str) -> list[CreatedItem]:
    """What a meeting's resolutions led to: objects the chair linked to a resolution
    (gov.meeting.resolution_linked) and agreements and tasks whose source_ref names one
    (`meeting/371300/2#r1`), found in their own cities' projections."""
    found: dict[str, CreatedItem] = {}
    with engine.connect() as conn:
        q = select(p_gov_resolutions).where(p_gov_resolutions.c.meeting == meeting_id)
        for r in conn.execute(q):
            for obj in loads(r.creates):
                found[obj] = CreatedItem(
                    object=obj,
                    kind=obj.split("/", 1)[0],
                    resolution=r.id,
                    linked=True,
                    names_source=False,
                )
        for obj, ref in _naming(conn, meeting_id):
            resolution = ref.split("#", 1)[1]
            before = found.get(obj)
            found[obj] = CreatedItem(
                object=obj,
                kind=obj.split("/", 1)[0],
                resolution=before.resolution if before else resolution,
                linked=before is not None,
                names_source=True,
            )
    return sorted(found.values(), key=lambda c: (_resolution_key(c.resolution), id_key(c.object)))


def _resolution_key(resolution: str) -> tuple[int, str]:
    """r2 before r10; a task's free-text reference that is no rN last."""
    number = resolution[1:]
    return (int(number) if resolution.startswith("r") and number.isdigit() else 10**6, resolution)


def _naming(conn: Connection, meeting_id: str) -> list[tuple[str, str]]:
    """(object id, source_ref) of agreements and tasks whose source_ref is in the meeting."""
    prefix = from_resolution(meeting_id, "")
    q = select(p_gov_agreements.c.id, p_gov_agreements.c.source_ref).where(
        p_gov_agreements.c.source_ref.startswith(prefix, autoescape=True)
    )
    out = [(r.id, r.source_ref) for r in conn.execute(q)]
    return out + [(i, ref) for i, ref in _task_refs(conn) if ref.startswith(prefix)]


def _task_refs(conn: Connection) -> list[tuple[str, str]]:
    """(task id, source_ref) of the ledger's tasks that have one. The ledger keeps a task's
    fields as JSON (`fields`); a `source_ref` column, if it gets one, is read directly."""
    tasks = projection.tables.get(TASKS_TABLE)
    if tasks is None:
        return []
    if "source_ref" in tasks.c:
        q = select(tasks.c.id, tasks.c.source_ref).where(tasks.c.source_ref.is_not(None))
        return [(r.id, r.source_ref) for r in conn.execute(q)]
    if "fields" not in tasks.c:
        return []
    refs = (
        (r.id, (loads(r.fields) or {}).get("source_ref"))
        for r in conn.execute(select(tasks.c.id, tasks.c.fields))
    )
    return [(i, ref) for i, ref in refs if isinstance(ref, str)]


# --- agreements -----------------------------------------------------------------------------


class SignatureView(BaseModel):
    id: str
    time: str  # the signing event's time
    text_sha256: str
    current: bool  # signs the agreement's current text
    note: str


class PartyView(BaseModel):
    city: str
    city_name: str
    signed: bool  # has signed the current text
    signed_time: str | None  # when it signed the current text
    signatures: list[SignatureView]  # all its signatures, oldest first


class AgreementView(BaseModel):
    id: str
    drafter: str
    drafter_name: str
    title: str
    kind: str
    text: str
    text_sha256: str
    attachments: list[Document]
    source_ref: str | None
    signing_place: str
    signing_date: dt.date | None
    note: str
    parties: list[PartyView]
    effective: bool  # every party has signed the current text
    effective_time: str | None  # when the last of those signatures was made
    status_label: str  # 已生效 | 签署中
    created_time: str
    updated_time: str


def _agreement(conn: Connection, r: Any, names: dict[str, str]) -> AgreementView:
    q = (
        select(p_gov_signatures)
        .where(p_gov_signatures.c.agreement == r.id)
        .order_by(p_gov_signatures.c.city, p_gov_signatures.c.idx)
    )
    by_city: dict[str, list[SignatureView]] = {}
    for s in conn.execute(q):
        by_city.setdefault(s.city, []).append(
            SignatureView(
                id=s.id,
                time=s.time,
                text_sha256=s.text_sha256,
                current=s.text_sha256 == r.text_sha256,
                note=s.note,
            )
        )
    parties = []
    for city in loads(r.parties):
        signatures = by_city.get(city, [])
        current = [s for s in signatures if s.current]
        parties.append(
            PartyView(
                city=city,
                city_name=names.get(city, city),
                signed=bool(current),
                signed_time=current[0].time if current else None,
                signatures=signatures,
            )
        )
    effective = all(p.signed for p in parties)
    return AgreementView(
        id=r.id,
        drafter=r.drafter,
        drafter_name=names.get(r.drafter, r.drafter),
        title=r.title,
        kind=r.kind,
        text=r.text,
        text_sha256=r.text_sha256,
        attachments=[Document.model_validate(a) for a in loads(r.attachments)],
        source_ref=r.source_ref,
        signing_place=r.signing_place,
        signing_date=dt.date.fromisoformat(r.signing_date) if r.signing_date else None,
        note=r.note,
        parties=parties,
        effective=effective,
        effective_time=max(p.signed_time or "" for p in parties) if effective else None,
        status_label="已生效" if effective else "签署中",
        created_time=r.created_time,
        updated_time=r.updated_time,
    )


def agreements(
    engine: Engine, effective: bool | None = None, party: str | None = None
) -> list[AgreementView]:
    with engine.connect() as conn:
        names = city_names(conn)
        views = [_agreement(conn, r, names) for r in conn.execute(select(p_gov_agreements)).all()]
    views = [
        v
        for v in views
        if (effective is None or v.effective == effective)
        and (party is None or any(p.city == party for p in v.parties))
    ]
    return sorted(views, key=lambda v: id_key(v.id))


def agreement(engine: Engine, agreement_id: str) -> AgreementView | None:
    q = select(p_gov_agreements).where(p_gov_agreements.c.id == agreement_id)
    with engine.connect() as conn:
        r = conn.execute(q).first()
        return None if r is None else _agreement(conn, r, city_names(conn))


# --- landed projects ------------------------------------------------------------------------


class ProjectView(BaseModel):
    id: str
    recorded_by: str  # the city that keeps the record, not where the project is
    recorded_by_name: str
    name: str
    location: str  # "" where the source does not say
    area: str
    description: str
    source_ref: str | None
    note: str
    created_time: str
    updated_time: str


def _project(r: Any, names: dict[str, str]) -> ProjectView:
    return ProjectView(recorded_by_name=names.get(r.recorded_by, r.recorded_by), **dict(r._mapping))


def projects(engine: Engine) -> list[ProjectView]:
    with engine.connect() as conn:
        names = city_names(conn)
        views = [_project(r, names) for r in conn.execute(select(p_gov_projects))]
    return sorted(views, key=lambda v: id_key(v.id))


def project(engine: Engine, project_id: str) -> ProjectView | None:
    with engine.connect() as conn:
        r = conn.execute(select(p_gov_projects).where(p_gov_projects.c.id == project_id)).first()
        return None if r is None else _project(r, city_names(conn))
