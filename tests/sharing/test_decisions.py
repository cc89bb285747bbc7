"""The provider decides each request once — approves with terms that may only narrow it, or
refuses with a reason — and may suspend, resume or revoke the agreement; the requester's log
records it. An agreement's status is worked out for the day asked about."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from contextlib import AbstractContextManager

import pytest
from factories import CHAIR, SharingCities, resident_check_fields, user_of

from lunan.events.errors import Conflict, Forbidden, Invalid, NotFound
from lunan.sharing import actions, queries
from lunan.sharing.models import ApprovalTerms

ZAOZHUANG, JINING, HEZE = "370400", "370800", "371700"
Refuses = Callable[..., AbstractContextManager[None]]
Clock = Callable[[dt.date], None]
D = dt.date.fromisoformat
FILTER = {"户籍地区划代码": ["371302", "371311", "371312"]}


def pending(sc: SharingCities, **changes: object) -> str:
    """A request of 枣庄 for 临沂's resident check."""
    return sc.request(ZAOZHUANG, sc.resident_check(CHAIR), **changes)


def approve(sc: SharingCities, request_id: str, **terms: object) -> str:
    approval = ApprovalTerms.model_validate({"reason": "同意", **terms})
    return actions.approve_request(sc.parts[CHAIR], user_of(CHAIR), request_id, approval)


def test_approval_creates_the_agreement_with_narrowed_terms(sc: SharingCities) -> None:
    request_id = pending(sc, fields=["身份证号", "户籍地区划代码"], row_filter=FILTER, quota=5000)
    agreement_id = approve(
        sc,
        request_id,
        fields=["身份证号"],
        row_filter={**{"户籍地区划代码": ["371302"]}, "身份证号": ["x"]},
        period={"start": "2026-04-01", "end": "2027-03-31"},
        quota=1000,
        reason="同意，限兰山区",
    )
    assert agreement_id == "data-agreement/371300/1"
    a = queries.agreement(sc.h.engine, agreement_id)
    assert a is not None
    assert (a.provider, a.requester, a.request, a.service) == (
        CHAIR,
        ZAOZHUANG,
        request_id,
        "resident-check",
    )
    assert (a.fields, a.row_filter, a.quota, a.reason) == (
        ["身份证号"],
        {"户籍地区划代码": ["371302"], "身份证号": ["x"]},
        1000,
        "同意，限兰山区",
    )
    assert (a.period_start, a.period_end) == (D("2026-04-01"), D("2027-03-31"))
    assert a.status == "not-yet-valid" and not a.acknowledged
    assert a.dataset.code == "371300-01-0001"
    view = queries.request(sc.h.engine, request_id)
    assert view is not None and (view.status, view.decision) == ("approved", agreement_id)
    # Terms left out are the request's.
    b = queries.agreement(sc.h.engine, approve(sc, pending(sc, row_filter=FILTER)))
    assert b is not None and (b.fields, b.row_filter, b.quota) == (["身份证号"], FILTER, 100000)
    assert (b.period_start, b.period_end, b.status) == (D("2026-03-02"), D("2029-03-01"), "active")


def test_terms_never_widen_the_request(sc: SharingCities, refuses: Refuses) -> None:
    request_id = pending(sc, row_filter=FILTER, quota=5000)
    cases: list[tuple[dict[str, object], str]] = [
        ({"quota": 5001}, "quota"),
        ({"fields": ["身份证号", "户籍地区划代码"]}, "fields[1]"),
        ({"period": {"start": "2026-03-01", "end": "2027-01-01"}}, "period.start"),
        ({"period": {"start": "2026-03-02", "end": "2029-03-02"}}, "period.end"),
        ({"row_filter": {}}, "row_filter.户籍地区划代码"),
        ({"row_filter": {"户籍地区划代码": ["371302", "370402"]}}, "row_filter.户籍地区划代码"),
        ({"row_filter": {**FILTER, "籍贯": ["x"]}}, "row_filter.籍贯"),
    ]
    for terms, field in cases:
        with refuses(Invalid, field=field):
            approve(sc, request_id, **terms)
    approve(sc, request_id, quota=5000)


def test_who_decides(sc: SharingCities, refuses: Refuses) -> None:
    request_id = pending(sc)
    terms = ApprovalTerms(reason="同意")
    with refuses(Forbidden, match="only the provider"):
        actions.approve_request(sc.parts[ZAOZHUANG], user_of(ZAOZHUANG), request_id, terms)
    with refuses(Forbidden, match="only the provider"):
        actions.refuse_request(sc.parts[JINING], user_of(JINING), request_id, "不同意")
    with refuses(Forbidden, match="data.manage"):
        actions.approve_request(sc.parts[CHAIR], user_of(CHAIR, "auditor"), request_id, terms)
    with refuses(Forbidden, match="own city"):
        actions.approve_request(sc.parts[CHAIR], user_of(HEZE), request_id, terms)
    with refuses(NotFound):
        actions.approve_request(sc.parts[CHAIR], user_of(CHAIR), "data-request/370400/5", terms)


def test_one_decision_per_request(sc: SharingCities, refuses: Refuses) -> None:
    refused = pending(sc)
    refusal = actions.refuse_request(sc.parts[CHAIR], user_of(CHAIR), refused, "用途不明确")
    assert refusal == "data-refusal/371300/1"
    view = queries.request(sc.h.engine, refused)
    assert view is not None
    assert (view.status, view.decision, view.decision_reason) == (
        "refused",
        refusal,
        "用途不明确",
    )
    with refuses(Conflict, match="refused"):
        approve(sc, refused)
    approved = pending(sc)
    approve(sc, approved)
    with refuses(Conflict, match="approved"):
        actions.refuse_request(sc.parts[CHAIR], user_of(CHAIR), approved, "改变主意")
    withdrawn = pending(sc)
    actions.withdraw_request(sc.parts[ZAOZHUANG], user_of(ZAOZHUANG), withdrawn)
    with refuses(Conflict, match="withdrawn"):
        approve(sc, withdrawn)


def test_an_entry_withdrawn_or_closed_meanwhile_cannot_be_granted(
    sc: SharingCities, refuses: Refuses
) -> None:
    request_id = pending(sc, fields=["身份证号", "户籍地区划代码"])
    entry = resident_check_fields(CHAIR)
    closed = tuple(
        f.model_copy(update={"category": "不予共享"}) if f.name == "户籍地区划代码" else f
        for f in entry.fields
    )
    dataset = "dataset/371300/1"
    actions.update_dataset(
        sc.parts[CHAIR], user_of(CHAIR), dataset, entry.model_copy(update={"fields": closed})
    )
    with refuses(Invalid, field="fields[1]", match="not shared"):
        approve(sc, request_id)
    approve(sc, request_id, fields=["身份证号"])
    other = pending(sc)
    actions.revoke_agreement(sc.parts[CHAIR], user_of(CHAIR), "data-agreement/371300/1", "终止")
    actions.withdraw_dataset(sc.parts[CHAIR], user_of(CHAIR), dataset)
    with refuses(Conflict, match="withdrawn"):
        approve(sc, other)
    actions.refuse_request(sc.parts[CHAIR], user_of(CHAIR), other, "目录已撤销")


def test_suspend_resume_revoke(sc: SharingCities, refuses: Refuses) -> None:
    agreement_id = approve(sc, pending(sc))
    parts, user = sc.parts[CHAIR], user_of(CHAIR)

    def status() -> str:
        view = queries.agreement(sc.h.engine, agreement_id)
        assert view is not None
        return view.status

    with refuses(Conflict, match="active"):
        actions.resume_agreement(parts, user, agreement_id, "恢复")
    actions.suspend_agreement(parts, user, agreement_id, "接口升级")
    assert status() == "suspended"
    assert [a.id for a in queries.agreements(sc.h.engine, status="suspended")] == [agreement_id]
    with refuses(Conflict, match="suspended"):
        actions.suspend_agreement(parts, user, agreement_id, "再次暂停")
    with refuses(Forbidden, match="belongs to another city"):
        actions.resume_agreement(sc.parts[ZAOZHUANG], user_of(ZAOZHUANG), agreement_id, "恢复")
    actions.resume_agreement(parts, user, agreement_id, "升级完成")
    assert status() == "active"
    actions.revoke_agreement(parts, user, agreement_id, "用途变更")
    assert status() == "revoked"
    for change in (actions.suspend_agreement, actions.resume_agreement, actions.revoke_agreement):
        with refuses(Conflict, match="revoked"):
            change(parts, user, agreement_id, "再次")
    view = queries.agreement(sc.h.engine, agreement_id)
    assert view is not None
    assert [(c.change, c.reason) for c in view.history] == [
        ("granted", "同意"),
        ("suspended", "接口升级"),
        ("resumed", "升级完成"),
        ("revoked", "用途变更"),
    ]
    with refuses(NotFound):
        actions.revoke_agreement(parts, user, "data-agreement/371300/9", "终止")


def test_status_on_a_given_day(sc: SharingCities, clock: Clock, refuses: Refuses) -> None:
    agreement_id = approve(sc, pending(sc), period={"start": "2026-04-01", "end": "2026-06-30"})
    engine = sc.h.engine

    def on(day: str) -> str:
        view = queries.agreement(engine, agreement_id, today=D(day))
        assert view is not None
        return view.status

    assert [on(d) for d in ("2026-03-31", "2026-04-01", "2026-06-30", "2026-07-01")] == [
        "not-yet-valid",
        "active",
        "active",
        "expired",
    ]
    actions.suspend_agreement(sc.parts[CHAIR], user_of(CHAIR), agreement_id, "暂停")
    assert [on(d) for d in ("2026-03-31", "2026-05-01", "2026-07-01")] == [
        "suspended",
        "suspended",
        "expired",
    ]
    found = queries.agreements(engine, requester=ZAOZHUANG, status="expired", today=D("2026-07-01"))
    assert [a.id for a in found] == [agreement_id]
    clock(D("2026-07-01"))
    with refuses(Conflict, match="expired"):
        actions.resume_agreement(sc.parts[CHAIR], user_of(CHAIR), agreement_id, "恢复")


def test_acknowledgement(sc: SharingCities, refuses: Refuses) -> None:
    agreement_id = approve(sc, pending(sc))
    with refuses(Forbidden, match="granted to 370400"):
        actions.acknowledge_agreement(sc.parts[JINING], user_of(JINING), agreement_id)
    ack = actions.acknowledge_agreement(sc.parts[ZAOZHUANG], user_of(ZAOZHUANG), agreement_id)
    assert ack == "data-ack/370400/1"
    view = queries.agreement(sc.h.engine, agreement_id)
    assert view is not None and view.acknowledged and view.acknowledgement == ack
    with refuses(Conflict, match="already acknowledged"):
        actions.acknowledge_agreement(sc.parts[ZAOZHUANG], user_of(ZAOZHUANG), agreement_id)


def test_the_active_agreement_for_a_service(sc: SharingCities) -> None:
    engine = sc.h.engine
    assert queries.active_agreement(engine, ZAOZHUANG, CHAIR, "resident-check") is None
    first = sc.agreement(ZAOZHUANG, CHAIR)
    assert queries.active_agreement(engine, ZAOZHUANG, CHAIR, "resident-check") is not None
    second = sc.agreement(ZAOZHUANG, CHAIR)
    found = queries.active_agreement(engine, ZAOZHUANG, CHAIR, "resident-check")
    assert found is not None and found.id == second
    actions.suspend_agreement(sc.parts[CHAIR], user_of(CHAIR), second, "暂停")
    found = queries.active_agreement(engine, ZAOZHUANG, CHAIR, "resident-check")
    assert found is not None and found.id == first
    assert queries.active_agreement(engine, JINING, CHAIR, "resident-check") is None
    later = queries.active_agreement(engine, ZAOZHUANG, CHAIR, "resident-check", D("2029-03-02"))
    assert later is None


@pytest.mark.parametrize("role", ["officer", "admin", "coordinator"])
def test_every_data_manager_may_decide(sc: SharingCities, role: str) -> None:
    terms = ApprovalTerms(reason="同意")
    assert actions.approve_request(sc.parts[CHAIR], user_of(CHAIR, role), pending(sc), terms)
