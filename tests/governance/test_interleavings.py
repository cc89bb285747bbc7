"""Governance state is a function of the logs, whatever order their entries arrive in: the
cases where logs race (a text revised while parties sign, a resolution linked to another city's
agreement, the chair handed over mid-meeting) fold to the same dump in every interleaving."""

from __future__ import annotations

import contextlib
import datetime as dt

from factories import CHAIR, CITIES, Gov, actor, assert_any_interleaving_folds_the_same, user_of
from sqlalchemy import select

from lunan.events.registry import Rejected
from lunan.events.tables import p_events
from lunan.governance import actions, queries
from lunan.governance.models import (
    AgreementFields,
    AgreementTerms,
    BodyFields,
    MeetingFields,
    Minutes,
    Resolution,
    text_sha256,
)

ZAOZHUANG, JINING, HEZE = "370400", "370800", "371700"


def write_scenario(gov: Gov) -> None:
    p = gov.parts
    chair = user_of(CHAIR)
    actions.create_body(p[CHAIR], chair, BodyFields(kind="领导小组", name="领导小组"))
    day = dt.date(2021, 5, 13)
    fields = MeetingFields(number=1, title="第1次联席会议", date=day, host_city=CHAIR)
    m = actions.create_meeting(p[CHAIR], chair, fields)
    actions.mark_meeting_held(p[CHAIR], chair, m)
    minutes = Minutes(minutes="纪要", resolutions=(Resolution(id="r1", text="签订协议"),))
    actions.record_minutes(p[CHAIR], chair, m, minutes)
    actions.approve_minutes(p[CHAIR], chair, m)

    draft = AgreementFields(title="协议", kind="协议书", text="旧文本", parties=tuple(CITIES))
    a = actions.create_agreement_from_resolution(p[JINING], user_of(JINING), m, "r1", draft)
    seen_draft = p[HEZE].writer.deps_for(a)
    actions.sign_agreement(p[ZAOZHUANG], user_of(ZAOZHUANG), a)
    actions.update_agreement(
        p[JINING], user_of(JINING), a, AgreementTerms(title="协议", kind="协议书", text="新文本")
    )
    # 菏泽 signs the text it had seen (the draft), racing the revision: valid, not current.
    old = {"agreement": a, "text_sha256": text_sha256("旧文本")}
    p[HEZE].writer.append(
        "gov.agreement.signed", "signature/371700/1", old, actor(HEZE), seen_draft
    )
    for city in CITIES:  # 枣庄 again too: it had signed the draft
        actions.sign_agreement(p[city], user_of(city), a)
    actions.link_resolution(p[CHAIR], chair, m, "r1", a)

    handover = actions.hand_over_chair(p[CHAIR], chair, early=True)
    with contextlib.suppress(Rejected):  # the old chair after its handover: rejected
        p[CHAIR].writer.append("gov.meeting.updated", m, fields, actor(CHAIR))
    actions.accept_chair(p[ZAOZHUANG], user_of(ZAOZHUANG), handover)
    second = fields.model_copy(update={"number": 2, "host_city": ZAOZHUANG})
    actions.create_meeting(p[ZAOZHUANG], user_of(ZAOZHUANG), second)


def test_any_interleaving_folds_to_the_same_governance_state(gov: Gov) -> None:
    write_scenario(gov)
    h = gov.h
    view = queries.agreement(h.engine, "agreement/370800/1")
    assert view is not None and view.effective
    assert [s.current for s in view.parties[3].signatures] == [False, True]  # 菏泽
    with h.engine.connect() as conn:
        q = select(p_events.c.reason).where(p_events.c.status == "rejected")
        assert conn.execute(q).scalars().all() == ["not-chair"]
    assert_any_interleaving_folds_the_same(h, examples=20, steps=60)
