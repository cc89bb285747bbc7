"""Sharing requests (共享申请): filed by the requesting city for another's entry, never for a
不予共享 field, with a legal basis for restricted data; due within 10 working days of receipt."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from contextlib import AbstractContextManager

from factories import (
    CHAIR,
    SharingCities,
    open_dataset_fields,
    resident_check_fields,
    sharing_request,
    user_of,
)

from lunan.events.errors import Conflict, Forbidden, Invalid, NotFound
from lunan.sharing import actions, queries

ZAOZHUANG, JINING, HEZE = "370400", "370800", "371700"
Refuses = Callable[..., AbstractContextManager[None]]
Clock = Callable[[dt.date], None]
D = dt.date.fromisoformat


def file(sc: SharingCities, city: str, dataset: str, **changes: object) -> str:
    return actions.file_request(sc.parts[city], user_of(city), sharing_request(dataset, **changes))


def test_file_a_request(sc: SharingCities) -> None:
    dataset = sc.publish(CHAIR)
    request_id = file(sc, ZAOZHUANG, dataset, row_filter={"户籍地区划代码": ["371302"]})
    assert request_id == "data-request/370400/1"
    view = queries.request(sc.h.engine, request_id)
    assert view is not None
    assert (view.requester, view.provider, view.dataset_code, view.status) == (
        ZAOZHUANG,
        CHAIR,
        "371300-01-0001",
        "pending",
    )
    assert (view.category, view.fields, view.row_filter) == (
        "有条件共享",
        ["身份证号"],
        {"户籍地区划代码": ["371302"]},
    )
    assert (view.received_on, view.due, view.working_days_left, view.overdue) == (
        D("2026-03-02"),
        D("2026-03-16"),
        10,
        False,
    )
    assert [r.id for r in queries.requests(sc.h.engine, provider=CHAIR)] == [request_id]
    assert queries.requests(sc.h.engine, requester=CHAIR) == []


def test_refusals_when_filing(sc: SharingCities, refuses: Refuses) -> None:
    dataset = sc.publish(CHAIR)
    parts, user = sc.parts[ZAOZHUANG], user_of(ZAOZHUANG)

    def attempt(**changes: object) -> None:
        actions.file_request(parts, user, sharing_request(dataset, **changes))

    with refuses(Forbidden):
        actions.file_request(parts, user_of(ZAOZHUANG, "viewer"), sharing_request(dataset))
    with refuses(Forbidden, match="own city"):
        actions.file_request(parts, user_of(JINING), sharing_request(dataset))
    with refuses(NotFound, field="dataset"):
        actions.file_request(parts, user, sharing_request("dataset/371300/7"))
    with refuses(Invalid, field="dataset", match="own entry"):
        actions.file_request(sc.parts[CHAIR], user_of(CHAIR), sharing_request(dataset))
    with refuses(Invalid, field="fields[1]", match="不予共享"):
        attempt(fields=["身份证号", "姓名"])
    with refuses(Invalid, field="fields[0]", match="no field"):
        attempt(fields=["手机号"])
    with refuses(Invalid, field="row_filter.户籍", match="no field"):
        attempt(row_filter={"户籍": ["371302"]})
    with refuses(Invalid, field="legal_basis"):
        attempt(legal_basis=" ")
    with refuses(Invalid, field="period.end"):
        attempt(period={"start": "2025-01-01", "end": "2026-03-01"})
    with refuses(Invalid, field="received_on"):
        attempt(received_on="2025-12-31")  # more than 60 days before filing
    with refuses(Invalid, field="received_on"):
        attempt(received_on="2026-03-03")  # in the future


def test_an_unconditional_request_needs_no_basis(sc: SharingCities) -> None:
    dataset = sc.publish(CHAIR, open_dataset_fields(CHAIR))
    request_id = file(sc, HEZE, dataset, fields=["文号", "标题"], legal_basis="")
    view = queries.request(sc.h.engine, request_id)
    assert view is not None and view.category == "无条件共享"


def test_not_shared_or_withdrawn_entries_cannot_be_requested(
    sc: SharingCities, refuses: Refuses
) -> None:
    shut = resident_check_fields(CHAIR, code="371300-01-0002", service="shut", category="不予共享")
    closed = sc.publish(CHAIR, shut)
    with refuses(Invalid, field="dataset", match="不予共享"):
        file(sc, ZAOZHUANG, closed)
    dataset = sc.publish(CHAIR)
    actions.withdraw_dataset(sc.parts[CHAIR], user_of(CHAIR), dataset)
    with refuses(Conflict, field="dataset", match="withdrawn"):
        file(sc, ZAOZHUANG, dataset)


def test_withdraw_a_request(sc: SharingCities, refuses: Refuses) -> None:
    dataset = sc.publish(CHAIR)
    request_id = file(sc, ZAOZHUANG, dataset)
    with refuses(Forbidden, match="belongs to another city"):
        actions.withdraw_request(sc.parts[CHAIR], user_of(CHAIR), request_id)
    with refuses(NotFound):
        actions.withdraw_request(sc.parts[ZAOZHUANG], user_of(ZAOZHUANG), "data-request/370400/9")
    actions.withdraw_request(sc.parts[ZAOZHUANG], user_of(ZAOZHUANG), request_id, "不再需要")
    view = queries.request(sc.h.engine, request_id)
    assert view is not None and (view.status, view.withdrawn_reason) == ("withdrawn", "不再需要")
    assert not view.overdue
    with refuses(Conflict, match="withdrawn"):
        actions.withdraw_request(sc.parts[ZAOZHUANG], user_of(ZAOZHUANG), request_id)
    decided = sc.approve(file(sc, ZAOZHUANG, dataset))
    request_two = "data-request/370400/2"
    assert decided.startswith("data-agreement/")
    with refuses(Conflict, match="approved"):
        actions.withdraw_request(sc.parts[ZAOZHUANG], user_of(ZAOZHUANG), request_two)


def test_deadline_and_overdue(sc: SharingCities, clock: Clock) -> None:
    dataset = sc.publish(CHAIR)
    late = file(sc, ZAOZHUANG, dataset, received_on="2026-02-13")  # a paper application
    fresh = file(sc, JINING, dataset)
    engine = sc.h.engine
    # From Friday 13 February: the 14th and 28th are Saturdays worked, 15th–23rd 春节.
    view = queries.request(engine, late, today=D("2026-03-02"))
    assert view is not None and view.due == D("2026-03-05") and not view.overdue
    assert view.working_days_left == 3
    view = queries.request(engine, late, today=D("2026-03-06"))
    assert view is not None and view.overdue and view.working_days_left == -1
    overdue = queries.requests(engine, provider=CHAIR, overdue=True, today=D("2026-03-16"))
    assert [r.id for r in overdue] == [late]
    overdue = queries.requests(engine, provider=CHAIR, overdue=True, today=D("2026-03-17"))
    assert [r.id for r in overdue] == [late, fresh]
    assert queries.requests(engine, overdue=True, today=D("2026-03-17"), working_days=15) == [
        queries.request(engine, late, today=D("2026-03-17"), working_days=15)
    ]
    # A decision, however late, ends the overdue flag.
    clock(D("2026-03-20"))
    sc.approve(late)
    view = queries.request(engine, late)
    assert view is not None and view.status == "approved" and not view.overdue
    assert view.decided_at is not None and view.decided_at.startswith("2026-03-20")


def test_a_provider_sets_its_own_answer_time_per_entry(sc: SharingCities) -> None:
    dataset = sc.publish(CHAIR, resident_check_fields(CHAIR, response_working_days=3))
    request = file(sc, ZAOZHUANG, dataset, received_on="2026-03-02")  # a Monday
    view = queries.request(sc.h.engine, request, today=D("2026-03-02"))
    assert view is not None and view.due == D("2026-03-05")  # 3 working days, not 10
    entry = queries.dataset(sc.h.engine, dataset)
    assert entry is not None and entry.response_working_days == 3
