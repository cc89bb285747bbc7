"""The rotating chair (轮值城市): handover at a term's end, acceptance, and what moves with it."""

from __future__ import annotations

import datetime as dt

import pytest
from factories import CHAIR, Gov, user_of

from lunan.clock import SHANGHAI
from lunan.events.errors import Conflict, Forbidden, NotFound
from lunan.governance import actions, queries
from lunan.governance.models import MeetingFields

ZAOZHUANG, JINING = "370400", "370800"
TODAY = dt.datetime.now(SHANGHAI).date()


def meeting(number: int = 1, host: str = CHAIR) -> MeetingFields:
    return MeetingFields(
        number=number, title=f"第{number}次联席会议（示例数据）", date=TODAY, host_city=host
    )


def test_the_chair_hands_over_early_and_the_next_city_takes_over(gov: Gov) -> None:
    old, new = gov.parts[CHAIR], gov.parts[ZAOZHUANG]
    first = actions.create_meeting(old, user_of(CHAIR), meeting(1))
    handover = actions.hand_over_chair(old, user_of(CHAIR), note="经四市商定", early=True)

    view = queries.chair(gov.h.engine, old.alliance)
    assert view.chair is None  # between the handover and its acceptance: nobody
    assert view.pending is not None and view.pending.id == handover
    assert view.pending.to_city == ZAOZHUANG
    assert view.pending.term_start == TODAY + dt.timedelta(days=2)
    assert view.pending.note.startswith("提前移交") and view.pending.note.endswith("经四市商定")

    acceptance = actions.accept_chair(new, user_of(ZAOZHUANG))
    assert acceptance == f"acceptance/{ZAOZHUANG}/1"
    view = queries.chair(gov.h.engine, new.alliance)
    assert (view.chair, view.chair_name, view.pending) == (ZAOZHUANG, "枣庄", None)
    assert view.current_term is not None and view.current_term.city == ZAOZHUANG
    assert [t.current for t in view.terms] == [False, True]
    assert view.handovers[0].accepted_by == ZAOZHUANG
    assert view.since is not None

    # The alliance-wide meeting now belongs to the new chair: its change is applied…
    actions.mark_meeting_held(new, user_of(ZAOZHUANG), first)
    assert queries.meeting(gov.h.engine, first).status == "held"  # type: ignore[union-attr]
    # …and the old chair's action is refused, and its raw event rejected.
    with pytest.raises(Forbidden, match="轮值城市"):
        actions.create_meeting(old, user_of(CHAIR), meeting(2))
    assert gov.raw(CHAIR, "gov.meeting.minutes", first, {"minutes": "旧轮值城市的纪要"}) == (
        "rejected",
        "not-chair",
    )
    second = actions.create_meeting(new, user_of(ZAOZHUANG), meeting(2, ZAOZHUANG))
    assert second == f"meeting/{ZAOZHUANG}/1"


def test_a_handover_before_the_term_ends_needs_early(gov: Gov) -> None:
    sizes = gov.sizes()
    with pytest.raises(Conflict, match="early") as e:
        actions.hand_over_chair(gov.parts[CHAIR], user_of(CHAIR))
    assert e.value.field == "early"
    assert gov.sizes() == sizes


def test_a_handover_at_the_term_end_needs_no_flag(gov: Gov) -> None:
    gov.set_terms(
        [
            (CHAIR, TODAY - dt.timedelta(days=365), TODAY),
            (ZAOZHUANG, TODAY + dt.timedelta(days=1), TODAY + dt.timedelta(days=366)),
            (JINING, TODAY + dt.timedelta(days=367), TODAY + dt.timedelta(days=700)),
        ]
    )
    handover = actions.hand_over_chair(gov.parts[CHAIR], user_of(CHAIR))
    actions.accept_chair(gov.parts[ZAOZHUANG], user_of(ZAOZHUANG), handover)
    view = queries.chair(gov.h.engine, gov.parts[CHAIR].alliance)
    assert view.next_term is not None and view.next_term.city == JINING


@pytest.mark.parametrize(
    ("city", "role", "user_city"),
    [
        (ZAOZHUANG, "coordinator", ZAOZHUANG),  # not the chair
        (CHAIR, "officer", CHAIR),  # no governance permission
        (CHAIR, "coordinator", ZAOZHUANG),  # a user of another city
    ],
)
def test_only_the_chairs_coordinator_hands_over(
    gov: Gov, city: str, role: str, user_city: str
) -> None:
    sizes = gov.sizes()
    with pytest.raises(Forbidden):
        actions.hand_over_chair(gov.parts[city], user_of(user_city, role), early=True)
    assert gov.sizes() == sizes


def test_accepting_needs_a_handover_to_this_city(gov: Gov) -> None:
    with pytest.raises(Conflict, match="no handover"):
        actions.accept_chair(gov.parts[ZAOZHUANG], user_of(ZAOZHUANG))
    handover = actions.hand_over_chair(gov.parts[CHAIR], user_of(CHAIR), early=True)
    with pytest.raises(Conflict, match="no handover"):
        actions.accept_chair(gov.parts[JINING], user_of(JINING))
    with pytest.raises(NotFound):
        actions.accept_chair(gov.parts[ZAOZHUANG], user_of(ZAOZHUANG), "handover/371300/9")
    actions.accept_chair(gov.parts[ZAOZHUANG], user_of(ZAOZHUANG), handover)


def test_no_next_term_no_handover(gov: Gov) -> None:
    gov.set_terms([(CHAIR, TODAY - dt.timedelta(days=30), TODAY)])
    with pytest.raises(Conflict, match="next term"):
        actions.hand_over_chair(gov.parts[CHAIR], user_of(CHAIR))
