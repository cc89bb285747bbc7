"""Joint meetings (联席会议), alliance-wide, kept by the chair.

    gov.meeting.created            meeting/<chair>/<n>  MeetingFields    → 筹备中 planned
    gov.meeting.updated            meeting/<chair>/<n>  MeetingFields    (until approved)
    gov.meeting.held               meeting/<chair>/<n>  StepNote         planned → held
    gov.meeting.minutes            meeting/<chair>/<n>  Minutes          (while held)
    gov.meeting.approved           meeting/<chair>/<n>  StepNote         held → approved
    gov.meeting.resolution_linked  meeting/<chair>/<n>  ResolutionLink   (once approved)

A meeting's events all come from chair logs, and a new chair's events all follow its
predecessor's (the acceptance depends on the handover), so a meeting's status is a plain
sequence and its transitions can be enforced here, deterministically.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, select

from lunan.events.context import Apply, dumps, loads
from lunan.events.registry import EventType, Scope
from lunan.governance.models import (
    MEETING_STATUSES,
    MeetingFields,
    Minutes,
    ResolutionLink,
    StepNote,
)
from lunan.governance.rules import as_json, require_members
from lunan.governance.tables import p_gov_agreements, p_gov_meetings, p_gov_resolutions

# In which statuses each step may be taken: forward only, one step at a time.
STEPS: dict[str, tuple[str, ...]] = {
    "update": ("planned", "held"),
    "held": ("planned",),
    "minutes": ("held",),
    "approve": ("held",),
    "link": ("approved",),
}
_STEP_LABELS = {  # zh, en
    "update": ("修改会议信息", "edit the meeting"),
    "held": ("标记为已召开", "mark it held"),
    "minutes": ("录入纪要", "record the minutes"),
    "approve": ("审定纪要", "approve the minutes"),
    "link": ("关联决议落实事项", "link what a resolution created"),
}


def refusal(step: str, status: str) -> str | None:
    """Why `step` may not be taken on a meeting in `status`, or None if it may."""
    if status in STEPS[step]:
        return None
    zh, en = _STEP_LABELS[step]
    allowed = "或".join(MEETING_STATUSES[s] for s in STEPS[step])
    return (
        f"会议状态为{MEETING_STATUSES[status]}，不能{zh}（须为{allowed}） "
        f"cannot {en} while the meeting is {status} (must be {' or '.join(STEPS[step])})"
    )


def _meeting(ctx: Apply, step: str) -> Row[Any]:
    row = ctx.row(p_gov_meetings, id=ctx.object)
    assert row is not None  # the engine checked that the object exists
    problem = refusal(step, row.status)
    if problem is not None:
        raise ctx.reject("bad-transition", problem)
    return row


def _check(ctx: Apply, body: MeetingFields) -> None:
    require_members(ctx, [body.host_city], "host city")
    require_members(ctx, (a.city for a in body.attendees), "attending city")
    q = select(p_gov_meetings.c.id).where(
        p_gov_meetings.c.number == body.number, p_gov_meetings.c.id != ctx.object
    )
    other = ctx.conn.execute(q).scalar()
    if other is not None:
        raise ctx.reject("duplicate-number", f"{other} is already joint meeting {body.number}")


def _values(body: MeetingFields) -> dict[str, object]:
    return {
        "number": body.number,
        "title": body.title,
        "date": body.date.isoformat(),
        "host_city": body.host_city,
        "place": body.place,
        "agenda": dumps(as_json(body.agenda)),
        "attendees": dumps(as_json(body.attendees)),
        "documents": dumps(as_json(body.documents)),
        "note": body.note,
    }


def apply_created(ctx: Apply, body: MeetingFields) -> None:
    _check(ctx, body)
    ctx.insert(
        p_gov_meetings,
        id=ctx.object,
        status="planned",
        minutes="",
        created_time=ctx.event.time,
        updated_time=ctx.event.time,
        **_values(body),
    )


def apply_updated(ctx: Apply, body: MeetingFields) -> None:
    _meeting(ctx, "update")
    _check(ctx, body)
    ctx.update(p_gov_meetings, {"id": ctx.object}, updated_time=ctx.event.time, **_values(body))


def apply_held(ctx: Apply, body: StepNote) -> None:
    _meeting(ctx, "held")
    t = ctx.event.time
    ctx.update(p_gov_meetings, {"id": ctx.object}, status="held", held_time=t, updated_time=t)


def apply_minutes(ctx: Apply, body: Minutes) -> None:
    _meeting(ctx, "minutes")
    # Minutes are drafts until approved: each version replaces the last, resolutions too.
    ctx.delete(p_gov_resolutions, meeting=ctx.object)
    for seq, r in enumerate(body.resolutions):
        ctx.insert(
            p_gov_resolutions, meeting=ctx.object, id=r.id, seq=seq, text=r.text, creates="[]"
        )
    ctx.update(
        p_gov_meetings, {"id": ctx.object}, minutes=body.minutes, updated_time=ctx.event.time
    )


def apply_approved(ctx: Apply, body: StepNote) -> None:
    row = _meeting(ctx, "approve")
    if not row.minutes:
        raise ctx.reject("no-minutes", f"{ctx.object} has no minutes to approve")
    t = ctx.event.time
    ctx.update(
        p_gov_meetings, {"id": ctx.object}, status="approved", approved_time=t, updated_time=t
    )


def from_resolution(meeting: str, resolution: str) -> str:
    """The source_ref of what a resolution created: meeting/371300/2#r1."""
    return f"{meeting}#{resolution}"


def apply_resolution_linked(ctx: Apply, body: ResolutionLink) -> None:
    _meeting(ctx, "link")
    r = ctx.row(p_gov_resolutions, meeting=ctx.object, id=body.resolution)
    if r is None:
        raise ctx.reject("unknown-resolution", f"{ctx.object} has no resolution {body.resolution}")
    creates: list[str] = loads(r.creates)
    if body.object in creates:
        raise ctx.reject("exists", f"{body.object} is already linked to {body.resolution}")
    kind = body.object.split("/", 1)[0]
    ctx.require(body.object, kind)
    if kind == "agreement":
        # source_ref is fixed when an agreement is drafted, so reading it here is safe.
        agreement = ctx.row(p_gov_agreements, id=body.object)
        expected = from_resolution(ctx.object, body.resolution)
        if agreement is None or agreement.source_ref != expected:
            raise ctx.reject(
                "not-from-resolution", f"{body.object} does not name {expected} as its source"
            )
    ctx.update(
        p_gov_resolutions,
        {"meeting": ctx.object, "id": body.resolution},
        creates=dumps([*creates, body.object]),
    )
    ctx.update(p_gov_meetings, {"id": ctx.object}, updated_time=ctx.event.time)


def _type(name: str, body: Any, apply: Any, label: str, creates: bool = False) -> EventType:
    return EventType(
        name, "meeting", body, apply, scope=Scope.ALLIANCE, creates=creates, label=label
    )


TYPES = [
    _type("gov.meeting.created", MeetingFields, apply_created, "筹备联席会议", creates=True),
    _type("gov.meeting.updated", MeetingFields, apply_updated, "修改联席会议"),
    _type("gov.meeting.held", StepNote, apply_held, "联席会议召开"),
    _type("gov.meeting.minutes", Minutes, apply_minutes, "录入会议纪要"),
    _type("gov.meeting.approved", StepNote, apply_approved, "审定会议纪要"),
    _type(
        "gov.meeting.resolution_linked",
        ResolutionLink,
        apply_resolution_linked,
        "关联决议落实事项",
    ),
]
