"""The exchange as events: what each side records of every exchange, and nothing more.

The provider records `exchange.served` (`exchange-served/<provider>/<request id>`) for every
answer with data and `exchange.denied` (`exchange-denied/<provider>/<request id or random>`) for
every signed request it refused; the requester records `exchange.received`
(`exchange-received/<requester>/<request id>`) for every answer it got, with deps on the
agreement. Bodies carry metadata and two digests, SHA-256(nonce ‖ request body) and
SHA-256(nonce ‖ response body), the nonce kept node-local (`exchange_secrets`): either side can
prove what was exchanged by showing the nonce and the message, and nobody else can test a guess
(a 是/否 answer is one of two messages). Never params, IDs, names or answers.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from lunan.events.context import Apply
from lunan.events.registry import EventType
from lunan.exchange.tables import p_exchange_denied, p_exchange_received, p_exchange_served

SERVED, DENIED, RECEIVED = "exchange.served", "exchange.denied", "exchange.received"
SERVED_KIND, DENIED_KIND, RECEIVED_KIND = "exchange-served", "exchange-denied", "exchange-received"
AGREEMENT_KIND = "data-agreement"  # lunan.sharing's agreements

CITY = r"^\d{6}$"
SERVICE = r"^[a-z0-9-]{2,40}$"
SERVICE_OR_NONE = r"^([a-z0-9-]{2,40})?$"
AGREEMENT = r"^data-agreement/\d{6}/[A-Za-z0-9._-]{1,64}$"
AGREEMENT_OR_NONE = r"^(data-agreement/\d{6}/[A-Za-z0-9._-]{1,64})?$"
DIGEST = r"^[0-9a-f]{64}$"
REASON = r"^[a-z][a-z0-9-]{1,60}$"


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Served(Body):
    agreement: str = Field(pattern=AGREEMENT)
    requester: str = Field(pattern=CITY)
    service: str = Field(pattern=SERVICE)
    purpose: str = Field(max_length=2000)  # the agreement's own purpose (they must be equal)
    user: str = Field(pattern=DIGEST)  # pseudonymous end user, as the requester sent it
    rows: int = Field(ge=0)  # 0 for a 是/否 answer, whatever the answer
    bytes: int = Field(ge=0)
    request_digest: str = Field(pattern=DIGEST)
    response_digest: str = Field(pattern=DIGEST)


class Denied(Body):
    request_id: str = Field(pattern=r"^([0-9a-f]{32})?$")  # as claimed; "" if unreadable
    agreement: str = Field(pattern=AGREEMENT_OR_NONE)  # as claimed; "" if none could be read
    requester: str = Field(pattern=CITY)  # the signer's city
    service: str = Field(pattern=SERVICE_OR_NONE)
    reason: str = Field(pattern=REASON)  # the problem type's slug, e.g. exchange-over-quota
    status: int = Field(ge=400, le=599)
    request_digest: str = Field(pattern=DIGEST)


class Received(Body):
    agreement: str = Field(pattern=AGREEMENT)
    provider: str = Field(pattern=CITY)
    service: str = Field(pattern=SERVICE)
    status: int = Field(ge=100, le=599)  # the provider's HTTP status
    rows: int = Field(ge=0)
    verified: bool  # whether the provider's response signature checked out
    request_digest: str = Field(pattern=DIGEST)
    response_digest: str = Field(pattern=DIGEST)


def _record(ctx: Apply) -> dict[str, object]:
    return {
        "id": ctx.object,
        "request_id": ctx.event.object_id.local,  # a denial's own request_id overrides it
        "origin": ctx.origin,
        "idx": ctx.idx,
        "time": ctx.event.time,
        "day": ctx.event.time[:10],
    }


def apply_served(ctx: Apply, body: Served) -> None:
    ctx.require(body.agreement, AGREEMENT_KIND)  # one of this provider's own agreements
    ctx.insert(p_exchange_served, **_record(ctx), **body.model_dump())


def apply_denied(ctx: Apply, body: Denied) -> None:
    # Its object id is the request id unless that was unreadable or already used.
    values = {**_record(ctx), **body.model_dump()}
    values["request_id"] = body.request_id or ctx.event.object_id.local
    ctx.insert(p_exchange_denied, **values)


def apply_received(ctx: Apply, body: Received) -> None:
    ctx.require(body.agreement, AGREEMENT_KIND)  # visible through the event's deps
    ctx.insert(p_exchange_received, **_record(ctx), **body.model_dump())


TYPES = [
    EventType(SERVED, SERVED_KIND, Served, apply_served, creates=True, label="数据交换·已提供"),
    EventType(DENIED, DENIED_KIND, Denied, apply_denied, creates=True, label="数据交换·已拒绝"),
    EventType(
        RECEIVED, RECEIVED_KIND, Received, apply_received, creates=True, label="数据交换·已接收"
    ),
]
