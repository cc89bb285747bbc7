"""Data-sharing state is a function of the logs, whatever order their entries arrive in: the
cases where logs race (a request filed while the entry changes, a grant racing a withdrawal, a
second decision, an acknowledgement by the wrong city) fold to the same dump every time."""

from __future__ import annotations

from typing import Any

from factories import (
    CHAIR,
    SharingCities,
    assert_any_interleaving_folds_the_same,
    grant_body,
    open_dataset_fields,
    resident_check_fields,
    sharing_request,
    user_of,
)
from sqlalchemy import select

from lunan.events.tables import p_events
from lunan.sharing import actions, queries, reactor
from lunan.sharing.models import ApprovalTerms

ZAOZHUANG, JINING, HEZE = "370400", "370800", "371700"


def write_scenario(sc: SharingCities) -> list[str]:
    """Returns the rejection reasons the scenario means to cause, in log order."""
    p, chair = sc.parts, user_of(CHAIR)
    checks = sc.publish(CHAIR)
    sc.publish(CHAIR, open_dataset_fields(CHAIR))
    theirs = sc.publish(ZAOZHUANG)
    asked = sc.request(ZAOZHUANG, checks, fields=["身份证号", "户籍地区划代码"])
    seen_v1 = p[JINING].writer.deps_for(checks)

    entry = resident_check_fields(CHAIR)
    closed = tuple(
        f.model_copy(update={"category": "不予共享"}) if f.name == "户籍地区划代码" else f
        for f in entry.fields
    )
    actions.update_dataset(p[CHAIR], chair, checks, entry.model_copy(update={"fields": closed}))
    # 济宁 asks for the field as it saw it (before the update): applied. 菏泽 saw the update.
    body = {**asked_body(checks), "fields": ["身份证号", "户籍地区划代码"]}
    sc.raw(JINING, "sharing.request.filed", "data-request/370800/1", body, seen_v1)
    latest = [(CHAIR, sc.h.projector.positions()[CHAIR] - 1)]
    sc.raw(HEZE, "sharing.request.filed", "data-request/371700/1", body, latest)

    terms = ApprovalTerms(reason="同意，仅身份证号", fields=("身份证号",), quota=50)
    granted = actions.approve_request(p[CHAIR], chair, asked, terms)
    reactor.react(p[ZAOZHUANG])  # acknowledges

    sc.request(HEZE, "dataset/371300/2", fields=["文号"], legal_basis="")
    reactor.react(p[CHAIR])  # grants the 无条件共享 request
    reactor.react(p[HEZE])  # acknowledges it

    raced = "data-request/370800/1"
    before = p[CHAIR].writer.deps_for(raced)
    actions.withdraw_request(p[JINING], user_of(JINING), raced)
    sc.raw(
        CHAIR,
        "sharing.agreement.granted",
        "data-agreement/371300/3",
        grant_body(sc, raced, fields=["身份证号"]),
        before,
    )

    mine = sc.request(CHAIR, theirs)
    actions.refuse_request(p[ZAOZHUANG], user_of(ZAOZHUANG), mine, "用途不符")
    seen_mine = p[ZAOZHUANG].writer.deps_for(mine)
    refusal = {"request": mine, "reason": "再次"}
    sc.raw(ZAOZHUANG, "sharing.request.refused", "data-refusal/370400/2", refusal, seen_mine)

    for change in (actions.suspend_agreement, actions.resume_agreement, actions.revoke_agreement):
        change(p[CHAIR], chair, granted, "示例数据")
    ack = {"agreement": granted}
    seen_grant = p[JINING].writer.deps_for(granted)
    sc.raw(JINING, "sharing.agreement.acknowledged", "data-ack/370800/1", ack, seen_grant)
    return ["field-not-shared", "decided", "not-requester"]


def asked_body(dataset: str) -> dict[str, Any]:
    dumped: dict[str, Any] = sharing_request(dataset).model_dump(mode="json")
    return dumped


def test_any_interleaving_folds_to_the_same_sharing_state(sc: SharingCities) -> None:
    expected_rejections = write_scenario(sc)
    h = sc.h
    with h.engine.connect() as conn:
        q = select(p_events.c.origin, p_events.c.idx, p_events.c.reason).where(
            p_events.c.status == "rejected"
        )
        rejected = sorted(conn.execute(q).all())
    assert sorted(r for _, _, r in rejected) == sorted(expected_rejections)
    jining = queries.request(h.engine, "data-request/370800/1")
    assert (
        jining is not None and jining.status == "approved"
    )  # granted before it saw the withdrawal
    assert_any_interleaving_folds_the_same(h, examples=20, steps=80)
