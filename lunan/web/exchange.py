"""The provider's endpoint of the data exchange: `POST /exchange/v1/{service}` (DESIGN §3.5).

Only members may call it: the signature middleware (lunan.web.federation.install) has verified
the request's HTTP Message Signature, refusing unknown keys, bad signatures, stale and replayed
ones (401/403, counted in the node's status, never logged as events); an unsigned request is
refused here (401). Everything after — agreement, purpose, fields, row filter, quota, the fetch,
the signed answer and its record in the log — is lunan.exchange.server.Provider's.
"""

from __future__ import annotations

import threading

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from lunan.exchange.protocol import ExchangeRequest
from lunan.exchange.server import Provider
from lunan.federation.runtime import Federation
from lunan.web.federation import _federation, _member

router = APIRouter(tags=["exchange"])
_lock = threading.Lock()


def provider(request: Request) -> Provider:
    """The node's Provider, made on first use (it keeps the quotas and adapters)."""
    state = request.app.state
    with _lock:
        found: Provider | None = getattr(state, "exchange_provider", None)
        if found is None:
            found = Provider(state.parts)
            state.exchange_provider = found
        return found


def _requester_city(fed: Federation, key_id: str) -> str:
    """The member city whose log key signed the request (its key id is the log origin)."""
    for m in fed.alliance.members:
        if m.log_verifier().name == key_id:
            return m.city
    raise AssertionError(f"the middleware accepted key {key_id} of no member")


@router.post(
    "/exchange/v1/{service}",
    # The body is read as bytes (its digests cover the exact bytes); its schema, for readers:
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": ExchangeRequest.model_json_schema()}},
        }
    },
    responses={
        200: {"description": "The answer: rows, or 是/否; signed (RFC 9421, @status)"},
        401: {"description": "Not signed by a member (application/problem+json)"},
        403: {"description": "Refused by a check; `type` names it"},
        404: {"description": "No such agreement on this node"},
        409: {"description": "The request id was already used"},
        422: {"description": "Malformed request body"},
        429: {"description": "Over the agreement's daily quota"},
        502: {"description": "The service's data source failed"},
    },
)
async def exchange(service: str, request: Request) -> Response:
    """Answer another member's request under a data-sharing agreement this node granted."""
    fed = _federation(request)
    city = _requester_city(fed, _member(request, fed))
    body = await request.body()
    # Database work and the adapter's fetch: off the event loop.
    reply = await run_in_threadpool(provider(request).answer, city, service, body)
    return Response(reply.body, status_code=reply.status, headers=reply.headers)
