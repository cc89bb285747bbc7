"""协议 (agreements): each with its parties' signature status and the SHA-256 of the text signed;
a party's coordinator signs the current text from its own city's node."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from lunan.auth.roles import Permission
from lunan.auth.users import User
from lunan.governance import actions
from lunan.governance import queries as gov
from lunan.governance.models import Signature
from lunan.web.pages import render
from lunan.web.pages.deps import Form, Reader, needs, not_found
from lunan.web.pages.forms import FormState, text
from lunan.web.pages.i18n import Translator

router = APIRouter(include_in_schema=False)

Governor = Annotated[User, Depends(needs(Permission.MANAGE_GOVERNANCE))]
CITY = re.compile(r"^\d{6}$")


@router.get("/agreements", response_class=HTMLResponse)
def agreements_page(request: Request, _user: Reader) -> HTMLResponse:
    engine = render.parts_of(request).projector.engine
    return render.render(
        request,
        "agreements.html",
        {"active": "agreements", "agreements": gov.agreements(engine)},
    )


def agreement_id_of(city: str, n: str) -> str:
    if not CITY.match(city) or not re.match(r"^[A-Za-z0-9._-]{1,64}$", n):
        raise not_found(f"协议 agreement/{city}/{n} 不存在")
    return f"agreement/{city}/{n}"


def may_sign(request: Request, user: User, agreement: gov.AgreementView) -> bool:
    city = render.parts_of(request).config.city
    party = next((p for p in agreement.parties if p.city == city), None)
    return (
        user.can(Permission.MANAGE_GOVERNANCE)
        and user.city == city
        and party is not None
        and not party.signed
    )


def agreement_context(
    request: Request,
    user: User,
    agreement_id: str,
    state: FormState | None = None,
    done: bool = False,
) -> dict[str, Any]:
    engine = render.parts_of(request).projector.engine
    agreement = gov.agreement(engine, agreement_id)
    if agreement is None:
        raise not_found(f"协议 {agreement_id} 不存在 — no agreement {agreement_id}")
    meeting = None
    if agreement.source_ref and agreement.source_ref.startswith("meeting/"):
        meeting = gov.meeting(engine, agreement.source_ref.split("#", 1)[0])
    return {
        "active": "agreements",
        "agreement": agreement,
        "source_meeting": meeting,
        "may_sign": may_sign(request, user, agreement),
        "form": state or FormState("sign", {"text_sha256": agreement.text_sha256}),
        "done": done,
        "url": "/agreements/" + agreement_id.removeprefix("agreement/"),
    }


@router.get("/agreements/{city}/{n}", response_class=HTMLResponse)
def agreement_page(
    request: Request,
    city: str,
    n: str,
    user: Reader,
    ok: Annotated[str, Query(max_length=20)] = "",
) -> HTMLResponse:
    context = agreement_context(request, user, agreement_id_of(city, n), done=ok == "signed")
    return render.render(request, "agreement.html", context)


@router.post("/agreements/{city}/{n}/sign", response_class=HTMLResponse)
def sign(request: Request, city: str, n: str, user: Governor, form: Form) -> Response:
    agreement_id = agreement_id_of(city, n)
    _ = Translator(render.viewer_of(request).lang)
    state = FormState(
        "sign", {"text_sha256": text(form, "text_sha256"), "note": text(form, "note")}
    )
    body = state.validate(
        Signature,
        {
            "agreement": agreement_id,
            "text_sha256": state.values["text_sha256"],
            "note": state.values["note"],
        },
        _,
    )
    if body is not None:
        parts = render.parts_of(request)
        state.attempt(
            lambda: actions.sign_agreement(parts, user, agreement_id, body.text_sha256, body.note),
            _,
        )
    url = "/agreements/" + agreement_id.removeprefix("agreement/")
    if state.ok:
        if render.is_htmx(request):
            return render.render(
                request,
                "_agreement.html",
                agreement_context(request, user, agreement_id, done=True),
            )
        return RedirectResponse(f"{url}?ok=signed", status_code=303)
    context = agreement_context(request, user, agreement_id, state)
    if render.is_htmx(request):
        headers = {"HX-Retarget": "#form-sign", "HX-Reswap": "outerHTML"}
        return render.render(
            request, "_form_sign.html", context, status=state.status, headers=headers
        )
    return render.render(request, "agreement.html", context, status=state.status)
