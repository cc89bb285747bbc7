"""The reactor: a provider's node approves 无条件共享 requests at once; a requester's node
records every agreement granted to it. Both as the node itself, only what would be applied."""

from __future__ import annotations

import pytest
from factories import CHAIR, SharingCities, open_dataset_fields, user_of
from sqlalchemy import select

from lunan.events.context import loads
from lunan.events.registry import Rejected
from lunan.events.tables import p_events
from lunan.sharing import actions, queries, reactor
from lunan.web.app import AfterFold

ZAOZHUANG, JINING, HEZE = "370400", "370800", "371700"


def open_request(sc: SharingCities, city: str = HEZE) -> str:
    dataset = queries.dataset_by_service(sc.h.engine, CHAIR, "policy-documents")
    dataset_id = dataset.id if dataset else sc.publish(CHAIR, open_dataset_fields(CHAIR))
    return sc.request(city, dataset_id, fields=["文号", "标题"], legal_basis="")


def test_unconditional_requests_are_granted_and_acknowledged(sc: SharingCities) -> None:
    request_id = open_request(sc)
    conditional = sc.request(ZAOZHUANG, sc.resident_check(CHAIR))
    assert reactor.react(sc.parts[HEZE]) == 0  # nothing granted to 菏泽 yet
    assert reactor.react(sc.parts[CHAIR]) == 1  # the 无条件共享 one only
    view = queries.request(sc.h.engine, request_id)
    assert view is not None and view.status == "approved" and view.decision is not None
    assert view.decision_reason == reactor.AUTO_APPROVAL
    still = queries.request(sc.h.engine, conditional)
    assert still is not None and still.status == "pending"
    agreement = queries.agreement(sc.h.engine, view.decision)
    assert agreement is not None and not agreement.acknowledged
    assert (agreement.fields, agreement.quota) == (["文号", "标题"], 100000)
    assert reactor.react(sc.parts[HEZE]) == 1
    agreement = queries.agreement(sc.h.engine, view.decision)
    assert agreement is not None and agreement.acknowledged and agreement.status == "active"
    for city in (CHAIR, ZAOZHUANG, JINING, HEZE):
        assert reactor.react(sc.parts[city]) == 0  # nothing left to do
    with sc.h.engine.connect() as conn:
        q = select(p_events.c.type, p_events.c.actor).where(p_events.c.origin.in_([CHAIR, HEZE]))
        by_node = {t: loads(a) for t, a in conn.execute(q) if t and "agreement" in t}
    assert by_node == {
        "sharing.agreement.granted": actions.SYSTEM_ACTOR,
        "sharing.agreement.acknowledged": actions.SYSTEM_ACTOR,
    }


def test_conditional_grants_are_acknowledged_too(sc: SharingCities) -> None:
    agreement_id = sc.approve(sc.request(ZAOZHUANG, sc.resident_check(CHAIR)))
    assert reactor.react(sc.parts[JINING]) == 0
    assert reactor.react(sc.parts[ZAOZHUANG]) == 1
    view = queries.agreement(sc.h.engine, agreement_id)
    assert view is not None and view.acknowledged


def test_an_entry_restricted_since_the_request_waits_for_a_person(sc: SharingCities) -> None:
    request_id = open_request(sc)
    entry = open_dataset_fields(CHAIR)
    restricted = entry.model_copy(update={"category": "有条件共享", "legal_basis": "依据"})
    actions.update_dataset(sc.parts[CHAIR], user_of(CHAIR), "dataset/371300/1", restricted)
    assert reactor.react(sc.parts[CHAIR]) == 0
    view = queries.request(sc.h.engine, request_id)
    assert view is not None and view.status == "pending"


def test_withdrawn_requests_are_left_alone(sc: SharingCities) -> None:
    request_id = open_request(sc)
    actions.withdraw_request(sc.parts[HEZE], user_of(HEZE), request_id)
    assert reactor.react(sc.parts[CHAIR]) == 0


def test_a_rejected_append_is_not_retried(
    sc: SharingCities, monkeypatch: pytest.MonkeyPatch
) -> None:
    open_request(sc)
    calls: list[str] = []

    def rejected(*args: object) -> str:
        calls.append("grant")
        raise Rejected("decided", "a race")

    monkeypatch.setattr(actions, "grant", rejected)
    assert reactor.react(sc.parts[CHAIR]) == 0
    assert reactor.react(sc.parts[CHAIR]) == 0
    assert calls == ["grant"]


def test_the_background_step_reacts_only_when_the_folded_state_moved(
    sc: SharingCities, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    react = reactor.react
    monkeypatch.setattr(reactor, "react", lambda parts: calls.append(react(parts)) or 0)
    step = AfterFold(sc.parts[CHAIR])
    step()
    step()  # nothing moved: nothing looked for
    assert len(calls) == 1
    request_id = open_request(sc)  # folded by the request's own write, not by the step
    step()
    assert calls[1:] == [1]
    view = queries.request(sc.h.engine, request_id)
    assert view is not None and view.status == "approved"
