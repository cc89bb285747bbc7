"""Agreements (协议), each owned by the city that drafted it, and the parties' signatures.

    gov.agreement.created  agreement/<drafter>/<n>  AgreementDrafted
    gov.agreement.updated  agreement/<drafter>/<n>  AgreementRevised  (never the parties)
    gov.agreement.signed   signature/<party>/<n>    Signature, deps on the agreement's text

Each party signs in its own log, naming the hash of the text it read. The drafter may revise the
text meanwhile, in its own log, so a signature cannot be checked against "the current text" here
(that depends on which log arrives first). It is checked against the texts the agreement has
had that the signer's deps cover, which is the same on every node; whether the agreement is in
force (every party has signed its current text) is worked out when asked (queries.py).
"""

from __future__ import annotations

from lunan.events.context import Apply, dumps, loads
from lunan.events.registry import EventType, Scope
from lunan.governance.models import (
    AgreementDrafted,
    AgreementRevised,
    AgreementTerms,
    Signature,
    text_sha256,
)
from lunan.governance.rules import as_json, require_members
from lunan.governance.tables import p_gov_agreement_texts, p_gov_agreements, p_gov_signatures


def _check_text(ctx: Apply, body: AgreementTerms, claimed: str) -> None:
    if text_sha256(body.text) != claimed:
        raise ctx.reject("text-hash-mismatch", "text_sha256 is not the SHA-256 of the text")


def _terms(body: AgreementTerms) -> dict[str, object]:
    return {
        "title": body.title,
        "kind": body.kind,
        "text": body.text,
        "attachments": dumps(as_json(body.attachments)),
        "signing_place": body.signing_place,
        "signing_date": body.signing_date.isoformat() if body.signing_date else None,
        "note": body.note,
    }


def _record_text(ctx: Apply, sha256: str) -> None:
    if ctx.row(p_gov_agreement_texts, agreement=ctx.object, sha256=sha256) is None:
        ctx.insert(
            p_gov_agreement_texts,
            agreement=ctx.object,
            sha256=sha256,
            origin=ctx.origin,
            idx=ctx.idx,
            time=ctx.event.time,
        )


def apply_created(ctx: Apply, body: AgreementDrafted) -> None:
    if ctx.origin not in body.parties:
        raise ctx.reject("drafter-not-party", f"the drafter {ctx.origin} must be a party")
    require_members(ctx, body.parties, "party")
    _check_text(ctx, body, body.text_sha256)
    if body.source_ref is not None:
        ctx.require(body.source_ref.split("#", 1)[0])
    ctx.insert(
        p_gov_agreements,
        id=ctx.object,
        drafter=ctx.origin,
        parties=dumps(list(body.parties)),
        text_sha256=body.text_sha256,
        source_ref=body.source_ref,
        created_time=ctx.event.time,
        updated_time=ctx.event.time,
        **_terms(body),
    )
    _record_text(ctx, body.text_sha256)


def apply_updated(ctx: Apply, body: AgreementRevised) -> None:
    _check_text(ctx, body, body.text_sha256)
    ctx.update(
        p_gov_agreements,
        {"id": ctx.object},
        text_sha256=body.text_sha256,
        updated_time=ctx.event.time,
        **_terms(body),
    )
    _record_text(ctx, body.text_sha256)


def apply_signed(ctx: Apply, body: Signature) -> None:
    ctx.require(body.agreement, "agreement")
    agreement = ctx.row(p_gov_agreements, id=body.agreement)
    assert agreement is not None  # require() found it
    if ctx.origin not in loads(agreement.parties):  # parties never change: safe to read
        raise ctx.reject("not-party", f"{ctx.origin} is not a party to {body.agreement}")
    text = ctx.row(p_gov_agreement_texts, agreement=body.agreement, sha256=body.text_sha256)
    if text is None or not ctx.covers(text.origin, text.idx):
        raise ctx.reject(
            "unknown-text",
            f"{body.agreement} had no text with hash {body.text_sha256} in the events this "
            "signature depends on (deps)",
        )
    again = ctx.row(
        p_gov_signatures, agreement=body.agreement, city=ctx.origin, text_sha256=body.text_sha256
    )
    if again is not None:
        raise ctx.reject("exists", f"{again.id} already signs this text of {body.agreement}")
    ctx.insert(
        p_gov_signatures,
        id=ctx.object,
        agreement=body.agreement,
        city=ctx.origin,
        idx=ctx.idx,
        text_sha256=body.text_sha256,
        note=body.note,
        time=ctx.event.time,
    )


TYPES = [
    EventType(
        "gov.agreement.created",
        "agreement",
        AgreementDrafted,
        apply_created,
        scope=Scope.OWN,
        creates=True,
        label="起草协议",
    ),
    EventType(
        "gov.agreement.updated",
        "agreement",
        AgreementRevised,
        apply_updated,
        scope=Scope.OWN,
        label="修改协议",
    ),
    EventType(
        "gov.agreement.signed",
        "signature",
        Signature,
        apply_signed,
        scope=Scope.OWN,
        creates=True,
        label="签署协议",
    ),
]
