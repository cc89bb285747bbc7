"""The alliance endpoints: the witness (C2SP tlog-witness) and the node's status."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lunan.federation.runtime import Federation
from lunan.log.witness import WitnessError, parse_request
from lunan.net import signatures
from lunan.web.problems import Problem, problem_response

router = APIRouter(tags=["alliance"])


def _federation(request: Request) -> Federation:
    fed: Federation | None = request.app.state.federation
    if fed is None:
        raise Problem(
            404,
            "no-alliance",
            "未加入联盟 Not in an alliance",
            "this node runs without an alliance file, so it neither witnesses nor follows",
        )
    return fed


def install(app: FastAPI, fed: Federation) -> None:
    """Check the HTTP Message Signature (RFC 9421) of every request that carries one.

    Members sign every request they send each other; a signed request from an unknown key,
    with a bad signature, outside the time window or replayed is refused and recorded.
    Unsigned requests reach only what is public (the log, its proofs, the status); the
    member-only endpoints look for `request.state.member`.
    """
    app.add_middleware(SignatureCheck, fed=fed)


class SignatureCheck:
    """Plain ASGI rather than `@app.middleware("http")`: unsigned requests (every tile a
    follower fetches) pass straight through instead of paying for a wrapped response."""

    def __init__(self, app: ASGIApp, fed: Federation) -> None:
        self.app, self.fed = app, fed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        request.state.member = None
        if "signature-input" not in request.headers and "signature" not in request.headers:
            await self.app(scope, receive, send)
            return
        body = await _body_within(request, MAX_SIGNED_BODY)
        if body is None:
            await _too_large(request)(scope, receive, send)
            return
        try:
            request.state.member = signatures.verify_request(
                request.method,
                str(request.url),
                request.headers,
                body,
                self.fed.member_key,
                int(time.time()),
                seen=self.fed.replays,
            )
        except signatures.SignatureError as e:
            self.fed.record_refusal(request.url.path, e)
            await _refusal(request, e)(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)


# The largest body a member's signed request may carry: add-checkpoint and exchange requests
# are a few KiB (an exchange request at most 64 KiB). The body is read before the signature can
# be checked, so anyone can send one: a longer one is refused unread.
MAX_SIGNED_BODY = 1 << 20


async def _body_within(request: Request, limit: int) -> bytes | None:
    """The request body, or None as soon as it is known to be longer than `limit`."""
    length = request.headers.get("content-length", "")
    if length and (not length.isdigit() or int(length) > limit):
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(request: Request) -> JSONResponse:
    return problem_response(
        413,
        "request-too-large",
        "请求过大 Request too large",
        f"a signed request between members carries at most {MAX_SIGNED_BODY} bytes",
        request.url.path,
    )


def _replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that hands the already-read body to the app once more, then waits on the
    connection as usual (for the disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


# One problem type per refusal reason (RFC 9457: a stable `type` per failure).
REFUSALS: dict[str, str] = {
    "missing-signature": "request-missing-signature",
    "malformed-signature": "request-malformed-signature",
    "unknown-key": "request-unknown-key",
    "bad-signature": "request-bad-signature",
    "expired": "request-expired",
    "replayed": "request-replayed",
    "bad-digest": "request-bad-digest",
    "missing-component": "request-missing-component",
}


def _refusal(request: Request, e: signatures.SignatureError) -> JSONResponse:
    status = 401 if e.reason == "missing-signature" else 403
    return problem_response(
        status,
        REFUSALS[e.reason],
        "节点间请求未通过验证 Request not authenticated",
        f"{e}: requests between members carry an HTTP Message Signature (RFC 9421) "
        "made with the sending member's log key",
        request.url.path,
    )


def _member(request: Request, fed: Federation) -> str:
    member: str | None = request.state.member
    if member is None:
        error = signatures.SignatureError("missing-signature", "the request is not signed")
        fed.record_refusal(request.url.path, error)
        raise Problem(
            401,
            "request-missing-signature",
            "节点间请求未通过验证 Request not authenticated",
            "only alliance members may call this: sign the request (RFC 9421) with the "
            "member's log key",
        )
    return member


@router.post("/witness/v1/add-checkpoint")
async def add_checkpoint(request: Request) -> Response:
    fed = _federation(request)
    _member(request, fed)
    body = await request.body()
    try:
        # Database work: off the event loop, so a long write elsewhere stalls only this call.
        signature = await run_in_threadpool(
            fed.witness.add_checkpoint, parse_request(body), int(time.time())
        )
    except WitnessError as e:
        if e.last_size is not None:
            return Response(
                f"{e.last_size}\n".encode(),
                status_code=e.status,
                headers={"Content-Type": "text/x.tlog.size"},
            )
        raise Problem(e.status, e.slug, "见证被拒绝 Checkpoint refused", e.detail) from e
    return Response(signature.line(), media_type="text/x.tlog.cosignature")


@router.get("/api/v1/status")
def status(request: Request) -> dict[str, Any]:
    doc = _federation(request).status()
    doc["state"] = request.app.state.parts.projector.state()
    return doc
