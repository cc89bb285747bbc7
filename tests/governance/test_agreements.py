"""Agreements (协议): drafted in one city's log, signed by each party in its own; in force when
every party has signed the current text, which is decided when asked, not stored."""

from __future__ import annotations

import pytest
from factories import CHAIR, CITIES, Gov, user_of
from sqlalchemy import select

from lunan.events.errors import Conflict, Forbidden, Invalid
from lunan.events.tables import p_events
from lunan.governance import actions, queries
from lunan.governance.models import AgreementFields, AgreementTerms, text_sha256

ZAOZHUANG, JINING, HEZE = "370400", "370800", "371700"
TEXT = "第一条 各方共建共享（示例数据）"


def fields(*parties: str, text: str = TEXT) -> AgreementFields:
    return AgreementFields(
        title="鲁南经济圈红色文化旅游合作框架协议",
        kind="框架协议",
        text=text,
        parties=parties or tuple(CITIES),
        signing_place="临沂",
    )


def terms(text: str) -> AgreementTerms:
    return AgreementTerms(title="鲁南经济圈红色文化旅游合作框架协议", kind="框架协议", text=text)


def sign(gov: Gov, city: str, agreement: str) -> str:
    return actions.sign_agreement(gov.parts[city], user_of(city), agreement)


def test_in_force_only_once_every_party_has_signed(gov: Gov) -> None:
    a = actions.create_agreement(gov.parts[CHAIR], user_of(CHAIR), fields())
    view = queries.agreement(gov.h.engine, a)
    assert view is not None and view.text_sha256 == text_sha256(TEXT)
    for city in CITIES:
        assert not view.effective and view.status_label == "签署中"
        sign(gov, city, a)
        view = queries.agreement(gov.h.engine, a)
        assert view is not None
        assert next(p for p in view.parties if p.city == city).signed
    assert view.effective and view.status_label == "已生效"
    assert view.effective_time == max(p.signed_time or "" for p in view.parties)
    assert [p.city_name for p in view.parties] == list(CITIES.values())
    assert [v.id for v in queries.agreements(gov.h.engine, effective=True)] == [a]
    assert queries.agreements(gov.h.engine, effective=False) == []
    with pytest.raises(Conflict, match="already signed"):
        sign(gov, JINING, a)


def test_a_text_change_voids_earlier_signatures_when_asked(gov: Gov) -> None:
    drafter = gov.parts[CHAIR]
    a = actions.create_agreement(drafter, user_of(CHAIR), fields(CHAIR, ZAOZHUANG))
    sign(gov, CHAIR, a)
    sign(gov, ZAOZHUANG, a)
    assert queries.agreement(gov.h.engine, a).effective  # type: ignore[union-attr]
    with pytest.raises(Conflict):  # the text of an agreement in force stays
        actions.update_agreement(drafter, user_of(CHAIR), a, terms("新文本"))

    b = actions.create_agreement(drafter, user_of(CHAIR), fields(CHAIR, ZAOZHUANG))
    sign(gov, ZAOZHUANG, b)
    actions.update_agreement(drafter, user_of(CHAIR), b, terms("修订后的文本"))
    sign(gov, CHAIR, b)
    view = queries.agreement(gov.h.engine, b)
    assert view is not None and not view.effective
    zaozhuang = next(p for p in view.parties if p.city == ZAOZHUANG)
    assert not zaozhuang.signed
    assert [s.current for s in zaozhuang.signatures] == [False]  # signed the old text
    # It signs again, the new text, and the agreement is in force.
    sign(gov, ZAOZHUANG, b)
    view = queries.agreement(gov.h.engine, b)
    assert view is not None and view.effective
    assert [s.current for s in view.parties[1].signatures] == [False, True]


def test_a_signer_guards_against_a_text_changed_since_it_read_it(gov: Gov) -> None:
    a = actions.create_agreement(gov.parts[CHAIR], user_of(CHAIR), fields())
    actions.update_agreement(gov.parts[CHAIR], user_of(CHAIR), a, terms("新文本"))
    with pytest.raises(Conflict) as e:
        actions.sign_agreement(gov.parts[JINING], user_of(JINING), a, text_sha256(TEXT))
    assert e.value.field == "text_sha256"
    actions.sign_agreement(gov.parts[JINING], user_of(JINING), a, text_sha256("新文本"))


def test_a_non_party_cannot_sign(gov: Gov) -> None:
    a = actions.create_agreement(gov.parts[CHAIR], user_of(CHAIR), fields(CHAIR, ZAOZHUANG))
    with pytest.raises(Forbidden):
        sign(gov, HEZE, a)
    body = {"agreement": a, "text_sha256": text_sha256(TEXT)}
    deps = gov.parts[HEZE].writer.deps_for(a)
    assert gov.raw(HEZE, "gov.agreement.signed", "signature/371700/1", body, deps) == (
        "rejected",
        "not-party",
    )


def test_a_signature_without_deps_or_of_an_unseen_text_is_rejected(gov: Gov) -> None:
    a = actions.create_agreement(gov.parts[CHAIR], user_of(CHAIR), fields())
    body = {"agreement": a, "text_sha256": text_sha256(TEXT)}
    assert gov.raw(JINING, "gov.agreement.signed", "signature/370800/1", body) == (
        "rejected",
        "unknown-object",
    )
    deps = gov.parts[JINING].writer.deps_for(a)  # the draft, not the revision below
    actions.update_agreement(gov.parts[CHAIR], user_of(CHAIR), a, terms("新文本"))
    new = {"agreement": a, "text_sha256": text_sha256("新文本")}
    assert gov.raw(JINING, "gov.agreement.signed", "signature/370800/2", new, deps) == (
        "rejected",
        "unknown-text",
    )
    # Signing the text it had seen is fine: whether that is still current is asked later.
    assert gov.raw(JINING, "gov.agreement.signed", "signature/370800/3", body, deps) == (
        "applied",
        None,
    )
    view = queries.agreement(gov.h.engine, a)
    assert view is not None
    assert [s.current for s in view.parties[2].signatures] == [False]


def test_the_drafter_is_a_party_and_the_parties_never_change(gov: Gov) -> None:
    with pytest.raises(Invalid) as e:
        actions.create_agreement(gov.parts[CHAIR], user_of(CHAIR), fields(JINING, HEZE))
    assert e.value.field == "parties"
    with pytest.raises(Invalid) as e:
        actions.create_agreement(gov.parts[CHAIR], user_of(CHAIR), fields(CHAIR, "370100"))
    assert e.value.field == "parties"
    raw = {**fields(JINING, HEZE).model_dump(mode="json"), "text_sha256": text_sha256(TEXT)}
    assert gov.raw(CHAIR, "gov.agreement.created", "agreement/371300/1", raw) == (
        "rejected",
        "drafter-not-party",
    )
    a = actions.create_agreement(gov.parts[CHAIR], user_of(CHAIR), fields(CHAIR, JINING))
    revised = {**terms("x").model_dump(mode="json"), "text_sha256": text_sha256("x")}
    assert gov.raw(CHAIR, "gov.agreement.updated", a, {**revised, "parties": [CHAIR, HEZE]}) == (
        "rejected",
        "invalid-body",
    )
    assert gov.raw(CHAIR, "gov.agreement.updated", a, {**revised, "text_sha256": "0" * 64}) == (
        "rejected",
        "text-hash-mismatch",
    )
    # Only the drafter's log changes the agreement.
    with pytest.raises(Forbidden):
        actions.update_agreement(gov.parts[JINING], user_of(JINING), a, terms("x"))
    assert gov.raw(JINING, "gov.agreement.updated", a, revised) == ("rejected", "not-owner")


def test_rejections_are_recorded_with_their_reason(gov: Gov) -> None:
    a = actions.create_agreement(gov.parts[CHAIR], user_of(CHAIR), fields())
    body = {"agreement": a, "text_sha256": "0" * 64}
    gov.raw(HEZE, "gov.agreement.signed", "signature/371700/1", body)
    q = select(p_events.c.status, p_events.c.reason, p_events.c.detail).where(
        p_events.c.origin == HEZE, p_events.c.type == "gov.agreement.signed"
    )
    with gov.h.engine.connect() as conn:
        row = conn.execute(q).one()
    assert (row.status, row.reason) == ("rejected", "unknown-object")
    assert "deps" in row.detail
