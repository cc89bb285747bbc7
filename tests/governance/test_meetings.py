"""Joint meetings (联席会议): planned → held → approved; resolutions and what they create."""

from __future__ import annotations

import datetime as dt

import pytest
from factories import CHAIR, CITIES, Gov, task_fields, user_of
from pydantic import ValidationError

from lunan.coop import actions as coop_actions
from lunan.events.errors import Conflict, Invalid
from lunan.governance import actions, queries
from lunan.governance.models import (
    AgendaItem,
    AgreementFields,
    Attendance,
    MeetingFields,
    MeetingPatch,
    Minutes,
    Resolution,
)

ZAOZHUANG, JINING = "370400", "370800"
AGENDA = [
    {"id": "a1", "title": "启动系列活动"},
    {
        "id": "a2",
        "title": "签订合作文件",
        "children": [{"id": "a2.1", "title": "协议一"}, {"id": "a2.2", "title": "协议二"}],
    },
]


def fields(number: int = 2, **changes: object) -> MeetingFields:
    values: dict[str, object] = {
        "number": number,
        "title": f"第{number}次联席会议",
        "date": "2021-05-13",
        "host_city": CHAIR,
        "place": "临沂",
        "agenda": AGENDA,
    }
    return MeetingFields.model_validate({**values, **changes})


MINUTES = Minutes(
    minutes="会议纪要（示例数据）",
    resolutions=(Resolution(id="r1", text="签订协议"), Resolution(id="r2", text="建立台账")),
)


def agreement(*parties: str) -> AgreementFields:
    return AgreementFields(
        title="合作框架协议（示例数据）", kind="框架协议", text="协议文本", parties=parties
    )


def approved_meeting(gov: Gov) -> str:
    p, u = gov.parts[CHAIR], user_of(CHAIR)
    m = actions.create_meeting(p, u, fields())
    actions.mark_meeting_held(p, u, m)
    actions.record_minutes(p, u, m, MINUTES)
    actions.approve_minutes(p, u, m)
    return m


def test_a_meeting_goes_from_planned_to_held_to_approved(gov: Gov) -> None:
    p, u = gov.parts[CHAIR], user_of(CHAIR)
    m = actions.create_meeting(p, u, fields())
    view = queries.meeting(gov.h.engine, m)
    assert view is not None and (view.status, view.status_label) == ("planned", "筹备中")
    assert view.agenda[1].children[0] == AgendaItem(id="a2.1", title="协议一")

    attendees = tuple(Attendance(city=c, people=("分管负责同志（示例数据）",)) for c in CITIES)
    actions.update_meeting(p, u, m, MeetingPatch(attendees=attendees, place="临沂市"))
    actions.mark_meeting_held(p, u, m)
    actions.record_minutes(p, u, m, Minutes(minutes="初稿"))
    actions.record_minutes(p, u, m, MINUTES)  # a later draft replaces the first
    actions.approve_minutes(p, u, m)

    view = queries.meeting(gov.h.engine, m)
    assert view is not None
    assert (view.status, view.place, view.minutes) == ("approved", "临沂市", MINUTES.minutes)
    assert [a.city for a in view.attendees] == list(CITIES)
    assert [r.id for r in view.resolutions] == ["r1", "r2"]
    assert tuple(view.agenda) == fields().agenda  # untouched by the patch
    assert view.held_time is not None and view.approved_time is not None


@pytest.mark.parametrize(
    ("steps", "refused"),
    [
        ([], "approve"),  # planned: not yet held
        ([], "minutes"),
        (["held"], "held"),  # held twice
        (["held"], "link"),
        (["held", "minutes", "approve"], "update"),  # approved meetings are frozen
        (["held", "minutes", "approve"], "minutes"),
    ],
)
def test_a_step_out_of_order_is_refused_with_409(gov: Gov, steps: list[str], refused: str) -> None:
    p, u = gov.parts[CHAIR], user_of(CHAIR)
    m = actions.create_meeting(p, u, fields())
    do = {
        "held": lambda: actions.mark_meeting_held(p, u, m),
        "minutes": lambda: actions.record_minutes(p, u, m, MINUTES),
        "approve": lambda: actions.approve_minutes(p, u, m),
        "update": lambda: actions.update_meeting(p, u, m, MeetingPatch(title="改")),
        "link": lambda: actions.link_resolution(p, u, m, "r1", "agreement/371300/1"),
    }
    for step in steps:
        do[step]()
    sizes = gov.sizes()
    with pytest.raises(Conflict) as e:
        do[refused]()
    assert e.value.status == 409
    assert gov.sizes() == sizes


def test_the_projection_rejects_a_raw_step_out_of_order(gov: Gov) -> None:
    m = actions.create_meeting(gov.parts[CHAIR], user_of(CHAIR), fields())
    assert gov.raw(CHAIR, "gov.meeting.approved", m, {}) == ("rejected", "bad-transition")
    assert gov.raw(CHAIR, "gov.meeting.minutes", m, {"minutes": "x"}) == (
        "rejected",
        "bad-transition",
    )
    assert gov.raw(CHAIR, "gov.meeting.held", m, {}) == ("applied", None)
    assert gov.raw(CHAIR, "gov.meeting.approved", m, {}) == ("rejected", "no-minutes")
    assert gov.raw(CHAIR, "gov.meeting.held", m, {}) == ("rejected", "bad-transition")
    assert queries.meeting(gov.h.engine, m).status == "held"  # type: ignore[union-attr]


def test_meeting_numbers_and_agenda_ids_are_unique(gov: Gov) -> None:
    p, u = gov.parts[CHAIR], user_of(CHAIR)
    actions.create_meeting(p, u, fields(1))
    m2 = actions.create_meeting(p, u, fields(2))
    with pytest.raises(Conflict) as e:
        actions.create_meeting(p, u, fields(1))
    assert e.value.field == "number"
    with pytest.raises(Conflict):
        actions.update_meeting(p, u, m2, MeetingPatch(number=1))
    raw = fields(1).model_dump(mode="json")
    assert gov.raw(CHAIR, "gov.meeting.created", "meeting/371300/9", raw) == (
        "rejected",
        "duplicate-number",
    )
    twice = [{"id": "a1", "title": "一"}, {"id": "a2", "children": [], "title": "二"}] * 2
    with pytest.raises(ValidationError, match="agenda"):
        fields(agenda=twice)
    deep: list[dict[str, object]] = [{"id": "4", "title": "第四层"}]
    for level in (3, 2, 1):
        deep = [{"id": str(level), "title": f"第{level}层", "children": deep}]
    with pytest.raises(ValidationError, match="levels"):
        fields(agenda=deep)
    with pytest.raises(Invalid) as e2:
        actions.update_meeting(p, u, m2, MeetingPatch(host_city="370100"))
    assert e2.value.field == "host_city"


def test_the_chairs_agreement_from_a_resolution_is_linked_at_once(gov: Gov) -> None:
    m = approved_meeting(gov)
    a = actions.create_agreement_from_resolution(
        gov.parts[CHAIR], user_of(CHAIR), m, "r1", agreement(CHAIR, ZAOZHUANG)
    )
    view = queries.agreement(gov.h.engine, a)
    assert view is not None and view.source_ref == f"{m}#r1"
    meeting = queries.meeting(gov.h.engine, m)
    assert meeting is not None and meeting.resolutions[0].creates == [a]
    created = queries.created_from(gov.h.engine, m)
    assert [(c.object, c.resolution, c.linked, c.names_source) for c in created] == [
        (a, "r1", True, True)
    ]


def test_another_citys_agreement_is_linked_by_the_chair_later(gov: Gov) -> None:
    m = approved_meeting(gov)
    a = actions.create_agreement_from_resolution(
        gov.parts[JINING], user_of(JINING), m, "r1", agreement(JINING, CHAIR)
    )
    assert a == "agreement/370800/1"
    created = queries.created_from(gov.h.engine, m)
    assert [(c.object, c.linked, c.names_source) for c in created] == [(a, False, True)]

    actions.link_resolution(gov.parts[CHAIR], user_of(CHAIR), m, "r1", a)
    created = queries.created_from(gov.h.engine, m)
    assert [(c.object, c.linked, c.names_source) for c in created] == [(a, True, True)]
    with pytest.raises(Conflict):
        actions.link_resolution(gov.parts[CHAIR], user_of(CHAIR), m, "r1", a)
    with pytest.raises(Invalid):  # the agreement carries out r1, not r2
        actions.link_resolution(gov.parts[CHAIR], user_of(CHAIR), m, "r2", a)

    # Raw links: without deps on 济宁's log its new agreement is unknown to the chair's event;
    # with them, it still must name the resolution it is linked to.
    other = actions.create_agreement_from_resolution(
        gov.parts[JINING], user_of(JINING), m, "r2", agreement(JINING, CHAIR)
    )
    body = {"resolution": "r1", "object": other}
    assert gov.raw(CHAIR, "gov.meeting.resolution_linked", m, body) == (
        "rejected",
        "unknown-object",
    )
    deps = gov.parts[CHAIR].writer.deps_for(other)
    assert gov.raw(CHAIR, "gov.meeting.resolution_linked", m, body, deps) == (
        "rejected",
        "not-from-resolution",
    )


def test_an_agreement_from_a_resolution_needs_approved_minutes(gov: Gov) -> None:
    p, u = gov.parts[CHAIR], user_of(CHAIR)
    m = actions.create_meeting(p, u, fields())
    with pytest.raises(Conflict):
        actions.create_agreement_from_resolution(p, u, m, "r1", agreement(CHAIR, JINING))
    m2 = approved_meeting_number(gov, 3)
    with pytest.raises(Exception, match="r9"):
        actions.create_agreement_from_resolution(p, u, m2, "r9", agreement(CHAIR, JINING))


def approved_meeting_number(gov: Gov, number: int) -> str:
    p, u = gov.parts[CHAIR], user_of(CHAIR)
    m = actions.create_meeting(p, u, fields(number, date=dt.date(2022, 1, 1)))
    actions.mark_meeting_held(p, u, m)
    actions.record_minutes(p, u, m, MINUTES)
    actions.approve_minutes(p, u, m)
    return m


def test_a_ledger_task_made_for_a_resolution_is_found_and_linked(gov: Gov) -> None:
    m = approved_meeting(gov)
    ref = f"{m}#r2"
    task = coop_actions.create_task(
        gov.parts[CHAIR], user_of(CHAIR), task_fields(source="meeting", source_ref=ref)
    )
    coop_actions.create_task(gov.parts[CHAIR], user_of(CHAIR), task_fields(number="2"))
    created = queries.created_from(gov.h.engine, m)
    assert [(c.object, c.kind, c.resolution, c.linked) for c in created] == [
        (task, "task", "r2", False)
    ]
    actions.link_resolution(gov.parts[CHAIR], user_of(CHAIR), m, "r2", task)
    assert [c.linked for c in queries.created_from(gov.h.engine, m)] == [True]
    view = queries.meeting(gov.h.engine, m)
    assert view is not None and view.resolutions[1].creates == [task]
