"""What the projection itself refuses, whatever a (faulty or hostile) node appends: each
sharing event bypassing the actions, rejected with a stable reason and never applied."""

from __future__ import annotations

from typing import Any

from factories import (
    CHAIR,
    SharingCities,
    grant_body,
    open_dataset_fields,
    resident_check_fields,
    sharing_request,
    user_of,
)

from lunan.sharing import actions
from lunan.sharing.models import Withdrawal

ZAOZHUANG, JINING, HEZE = "370400", "370800", "371700"


def body(model: Any) -> dict[str, Any]:
    dumped: dict[str, Any] = model.model_dump(mode="json")
    return dumped


def deps(sc: SharingCities, city: str, *objects: str) -> list[tuple[str, int]]:
    return sc.parts[city].writer.deps_for(*objects)


def test_catalog_rules(sc: SharingCities) -> None:
    entry = body(resident_check_fields(CHAIR))
    assert sc.raw(ZAOZHUANG, "sharing.dataset.published", "dataset/371300/1", entry) == (
        "rejected",
        "not-owner",
    )
    assert sc.raw(ZAOZHUANG, "sharing.dataset.published", "dataset/370400/1", entry) == (
        "rejected",
        "code-not-own",
    )
    assert sc.raw(CHAIR, "sharing.dataset.published", "dataset/371300/1", entry)[0] == "applied"
    again = sc.raw(CHAIR, "sharing.dataset.published", "dataset/371300/2", entry)
    assert again == ("rejected", "code-taken")
    other_code = {**entry, "code": "371300-01-0002"}
    again = sc.raw(CHAIR, "sharing.dataset.published", "dataset/371300/2", other_code)
    assert again == ("rejected", "service-taken")
    for name, value in (("code", "371300-01-0002"), ("service", "other"), ("answer", "rows")):
        changed = {**entry, name: value}
        outcome = sc.raw(CHAIR, "sharing.dataset.updated", "dataset/371300/1", changed)
        assert outcome == ("rejected", f"{name}-changed")
    bad = {**entry, "legal_basis": ""}
    assert sc.raw(CHAIR, "sharing.dataset.updated", "dataset/371300/1", bad) == (
        "rejected",
        "invalid-body",
    )
    withdraw = body(Withdrawal())
    assert sc.raw(CHAIR, "sharing.dataset.withdrawn", "dataset/371300/1", withdraw)[0] == "applied"
    for type_, b in (("updated", entry), ("withdrawn", withdraw)):
        outcome = sc.raw(CHAIR, f"sharing.dataset.{type_}", "dataset/371300/1", b)
        assert outcome == ("rejected", "withdrawn")


def test_request_rules(sc: SharingCities) -> None:
    dataset = sc.publish(CHAIR)
    seen = deps(sc, ZAOZHUANG, dataset)
    request = body(sharing_request(dataset))

    def file(b: dict[str, Any], d: list[tuple[str, int]] = seen) -> tuple[str, str | None]:
        obj = sc.parts[ZAOZHUANG].writer.next_id("data-request")
        return sc.raw(ZAOZHUANG, "sharing.request.filed", obj, b, d)

    assert file(request, []) == ("rejected", "unknown-object")  # no deps on the entry
    assert file({**request, "fields": ["姓名"]}) == ("rejected", "field-not-shared")
    assert file({**request, "fields": ["手机号"]}) == ("rejected", "unknown-field")
    assert file({**request, "row_filter": {"手机号": ["1"]}}) == ("rejected", "unknown-field")
    assert file({**request, "legal_basis": ""}) == ("rejected", "legal-basis-required")
    assert file({**request, "received_on": "2020-01-01"}) == ("rejected", "bad-received-on")
    own = sc.raw(CHAIR, "sharing.request.filed", "data-request/371300/1", request)
    assert own == ("rejected", "own-dataset")
    assert file(request) == ("applied", None)
    request_id = "data-request/370400/1"
    withdraw = body(Withdrawal(reason="不需要"))
    assert sc.raw(ZAOZHUANG, "sharing.request.withdrawn", request_id, withdraw)[0] == "applied"
    again = sc.raw(ZAOZHUANG, "sharing.request.withdrawn", request_id, withdraw)
    assert again == ("rejected", "withdrawn")
    foreign = sc.raw(JINING, "sharing.request.withdrawn", request_id, withdraw, seen)
    assert foreign == ("rejected", "not-owner")


def test_a_request_is_checked_against_the_entry_its_writer_saw(sc: SharingCities) -> None:
    dataset = sc.publish(CHAIR)
    seen = deps(sc, ZAOZHUANG, dataset)
    entry = resident_check_fields(CHAIR)
    closed = tuple(f.model_copy(update={"category": "不予共享"}) for f in entry.fields)
    actions.update_dataset(
        sc.parts[CHAIR], user_of(CHAIR), dataset, entry.model_copy(update={"fields": closed})
    )
    # 枣庄 had seen only the first version, in which 身份证号 was shared: valid.
    request = body(sharing_request(dataset))
    outcome = sc.raw(ZAOZHUANG, "sharing.request.filed", "data-request/370400/1", request, seen)
    assert outcome == ("applied", None)
    # 济宁 saw the update: refused.
    latest = [("371300", sc.h.projector.positions()["371300"] - 1)]
    outcome = sc.raw(JINING, "sharing.request.filed", "data-request/370800/1", request, latest)
    assert outcome == ("rejected", "field-not-shared")
    # …and the provider cannot grant the closed field, whatever 枣庄 saw.
    seen_request = deps(sc, CHAIR, "data-request/370400/1")
    b = grant_body(sc, "data-request/370400/1")
    granted = sc.raw(CHAIR, "sharing.agreement.granted", "data-agreement/371300/1", b, seen_request)
    assert granted == ("rejected", "field-not-shared")


def test_grants_never_widen_the_request(sc: SharingCities) -> None:
    dataset = sc.publish(CHAIR)
    request_id = sc.request(ZAOZHUANG, dataset, row_filter={"户籍地区划代码": ["371302"]}, quota=10)
    b = grant_body(sc, request_id)
    outcome = sc.raw(CHAIR, "sharing.agreement.granted", "data-agreement/371300/1", b, [])
    assert outcome == ("rejected", "unknown-object")  # 临沂's log never declared the request
    seen = deps(sc, CHAIR, request_id)

    def try_grant(**changes: Any) -> str | None:
        b = grant_body(sc, request_id, **changes)
        status, reason = sc.raw(
            CHAIR, "sharing.agreement.granted", "data-agreement/371300/1", b, seen
        )
        assert status == "rejected"
        return reason

    assert try_grant(quota=11) == "widens-quota"
    assert try_grant(fields=["身份证号", "户籍地区划代码"]) == "widens-fields"
    assert try_grant(row_filter={}) == "widens-row-filter"
    assert try_grant(row_filter={"户籍地区划代码": ["371302", "371311"]}) == "widens-row-filter"
    assert try_grant(period={"start": "2026-03-01", "end": "2027-01-01"}) == "widens-period"
    assert try_grant(period={"start": "2026-03-02", "end": "2029-03-02"}) == "widens-period"
    assert try_grant(purpose="其他用途") == "purpose-changed"
    assert try_grant(scenario="其他场景") == "purpose-changed"
    assert try_grant(requester=JINING) == "wrong-requester"
    assert try_grant(service="residents") == "wrong-service"
    assert try_grant(row_filter={"户籍地区划代码": ["371302"], "籍贯": ["x"]}) == "unknown-field"
    other = sc.publish(CHAIR, open_dataset_fields(CHAIR))
    assert try_grant(dataset=other) == "wrong-dataset"


def test_one_decision_by_the_provider_only(sc: SharingCities) -> None:
    dataset = sc.publish(CHAIR)
    request_id = sc.request(ZAOZHUANG, dataset)
    b = grant_body(sc, request_id)
    by_other = sc.raw(
        JINING,
        "sharing.agreement.granted",
        "data-agreement/370800/1",
        b,
        deps(sc, JINING, request_id),
    )
    assert by_other == ("rejected", "not-provider")
    refusal = {"request": request_id, "reason": "不同意"}
    by_other = sc.raw(
        HEZE,
        "sharing.request.refused",
        "data-refusal/371700/1",
        refusal,
        deps(sc, HEZE, request_id),
    )
    assert by_other == ("rejected", "not-provider")
    seen = deps(sc, CHAIR, request_id)
    assert sc.raw(CHAIR, "sharing.agreement.granted", "data-agreement/371300/1", b, seen)[0] == (
        "applied"
    )
    assert sc.raw(CHAIR, "sharing.agreement.granted", "data-agreement/371300/2", b, seen) == (
        "rejected",
        "decided",
    )
    assert sc.raw(CHAIR, "sharing.request.refused", "data-refusal/371300/1", refusal, seen) == (
        "rejected",
        "decided",
    )


def test_a_withdrawal_the_provider_had_seen_stops_its_decision(sc: SharingCities) -> None:
    dataset = sc.publish(CHAIR)
    raced, seen_withdrawn = sc.request(ZAOZHUANG, dataset), sc.request(ZAOZHUANG, dataset)
    before = deps(sc, CHAIR, raced, seen_withdrawn)
    for request_id in (raced, seen_withdrawn):
        actions.withdraw_request(sc.parts[ZAOZHUANG], user_of(ZAOZHUANG), request_id)
    after = [("370400", sc.h.projector.positions()["370400"] - 1)]
    # Written before the withdrawal reached 临沂: the grant stands (a race, the same everywhere).
    b = grant_body(sc, raced)
    assert sc.raw(CHAIR, "sharing.agreement.granted", "data-agreement/371300/1", b, before)[0] == (
        "applied"
    )
    refusal = {"request": seen_withdrawn, "reason": "不同意"}
    assert sc.raw(CHAIR, "sharing.request.refused", "data-refusal/371300/1", refusal, after) == (
        "rejected",
        "request-withdrawn",
    )


def test_agreement_changes_and_acknowledgements(sc: SharingCities) -> None:
    agreement_id = sc.approve(sc.request(ZAOZHUANG, sc.publish(CHAIR)))
    reason = {"reason": "原因"}
    change = "sharing.agreement."
    assert sc.raw(CHAIR, change + "resumed", agreement_id, reason) == ("rejected", "not-suspended")
    assert sc.raw(ZAOZHUANG, change + "suspended", agreement_id, reason) == (
        "rejected",
        "not-owner",
    )
    assert sc.raw(CHAIR, change + "suspended", agreement_id, reason)[0] == "applied"
    assert sc.raw(CHAIR, change + "suspended", agreement_id, reason) == ("rejected", "not-active")
    assert sc.raw(CHAIR, change + "revoked", agreement_id, reason)[0] == "applied"
    assert sc.raw(CHAIR, change + "revoked", agreement_id, reason) == ("rejected", "revoked")
    assert sc.raw(CHAIR, change + "resumed", agreement_id, reason) == ("rejected", "not-suspended")

    ack = {"agreement": agreement_id}
    acked = "sharing.agreement.acknowledged"
    assert sc.raw(ZAOZHUANG, acked, "data-ack/370400/1", ack) == ("rejected", "unknown-object")
    seen = deps(sc, ZAOZHUANG, agreement_id)
    assert sc.raw(JINING, acked, "data-ack/370800/1", ack, seen) == ("rejected", "not-requester")
    assert sc.raw(ZAOZHUANG, acked, "data-ack/370400/1", ack, seen)[0] == "applied"
    assert sc.raw(ZAOZHUANG, acked, "data-ack/370400/2", ack, seen) == ("rejected", "exists")
