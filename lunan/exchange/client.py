"""The requester's side of the exchange: `call(...)` asks a provider under an agreement.

    result = call(parts, "gate-01", "data-agreement/370400/2", {"身份证号": number},
                  agreement.purpose)
    result.answer  # "是" / "否" for a 是/否 service, else result.rows

The request is signed with this node's log key (RFC 9421 + RFC 9530) and sent to the provider's
URL from the alliance file. The answer's signature is checked against the provider's key from
the same file; an answer with data that does not verify is never returned (ExchangeUnavailable).
Every answer received — data, refusal or error — is logged as `exchange.received` with deps on
the agreement, its digests over the provider's nonce (or, when the answer carries none, one of
our own), which is kept in `exchange_secrets`. The end user is sent and logged only as a salted
hash (lunan.exchange.nonces.pseudonym).
"""

from __future__ import annotations

import atexit
import json
import threading
import time
import uuid
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import Engine

from lunan.alliance.config import Member
from lunan.crypto.note import ed25519_key
from lunan.events.errors import Forbidden, NotFound
from lunan.exchange import nonces
from lunan.exchange.events import RECEIVED, RECEIVED_KIND, Received
from lunan.exchange.protocol import (
    JSON,
    NO,
    PATH,
    YES,
    digest,
    encode,
    new_nonce,
    parse_nonce,
)
from lunan.net.signatures import SignatureError, sign_request, verify_response
from lunan.services import NodeParts
from lunan.sharing import queries as sharing

__all__ = ["ExchangeResult", "ExchangeUnavailable", "Terms", "call", "terms"]

ACTOR = {"system": "lunan exchange"}
DEFAULT_TIMEOUT = 5.0


@dataclass(frozen=True)
class ExchangeResult:
    """What the provider answered. `status` 200: `rows` (a rows service) or `answer` ("是" or
    "否", a 是/否 service); otherwise `problem`, the provider's problem document (RFC 9457,
    its `type` naming the check that failed)."""

    status: int
    rows: list[dict[str, Any]] | None
    answer: str | None
    request_id: str
    provider: str  # the provider's city code
    problem: dict[str, Any] | None

    @property
    def ok(self) -> bool:
        return self.status == 200


class ExchangeUnavailable(Exception):
    """The provider could not be asked, or its answer cannot be trusted: down, too slow, not in
    the alliance file, or an answer whose signature does not verify. Nothing was learnt."""

    def __init__(self, provider: str, message: str) -> None:
        super().__init__(message)
        self.provider = provider


_lock = threading.Lock()
_http: httpx.Client | None = None


def _client() -> httpx.Client:
    """One connection pool for every call (httpx.Client is safe to share between threads)."""
    global _http
    with _lock:
        if _http is None:
            _http = httpx.Client(follow_redirects=False)
            atexit.register(_http.close)
        return _http


@dataclass(frozen=True)
class Terms:
    """What the client needs of an agreement: parts that never change once granted."""

    id: str
    provider: str
    requester: str
    service: str
    purpose: str
    deps: tuple[tuple[str, int], ...]  # what makes the agreement visible to our events


_terms_cache: weakref.WeakKeyDictionary[Engine, dict[str, Terms]] = weakref.WeakKeyDictionary()


def terms(parts: NodeParts, agreement_id: str) -> Terms | None:
    """The agreement's fixed terms, read once (whether it is in force is the provider's to
    say: this node's copy of the provider's log may lag)."""
    engine = parts.projector.engine
    with _lock:
        known = _terms_cache.setdefault(engine, {}).get(agreement_id)
    if known is not None:
        return known
    view = sharing.agreement(engine, agreement_id)
    if view is None:
        return None
    deps = tuple(parts.writer.deps_for(agreement_id))
    found = Terms(view.id, view.provider, view.requester, view.service, view.purpose, deps)
    with _lock:
        _terms_cache[engine][agreement_id] = found
    return found


def _member(parts: NodeParts, city: str) -> Member:
    members = parts.alliance.members if parts.alliance is not None else ()
    for m in members:
        if m.city == city:
            return m
    raise ExchangeUnavailable(
        city, f"联盟文件中没有{city} the alliance file lists no member {city}"
    )


def call(
    parts: NodeParts,
    actor_id: str,
    agreement_id: str,
    params: Mapping[str, str],
    purpose: str,
    fields: Sequence[str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> ExchangeResult:
    """Ask the provider of `agreement_id` (granted to this node's city) for the rows or the
    answer matching `params`; `actor_id` is who asks (a user or system name, sent hashed).

    Raises NotFound (unknown agreement), Forbidden (granted to another city), or
    ExchangeUnavailable (no answer, or an answer that does not verify)."""
    agreement = terms(parts, agreement_id)
    if agreement is None:
        raise NotFound(f"本节点未见共享协议{agreement_id} no agreement {agreement_id} known here")
    if agreement.requester != parts.config.city:
        raise Forbidden(
            f"协议{agreement_id}不是授予本市的 it was granted to {agreement.requester}, "
            f"not to {parts.config.city}"
        )
    provider = _member(parts, agreement.provider)
    request_id = uuid.uuid4().hex
    document: dict[str, Any] = {
        "agreement": agreement_id,
        "request_id": request_id,
        "purpose": purpose,
        "user": nonces.pseudonym(parts.directory, actor_id),
        "params": dict(params),
    }
    if fields is not None:
        document["fields"] = list(fields)
    body = encode(document)
    url = f"{provider.url.rstrip('/')}{PATH}{agreement.service}"
    headers = {"Content-Type": JSON}
    signer = parts.log.signer  # the log key: its name (the origin) is the key id
    headers.update(sign_request("POST", url, headers, body, signer.name, signer.private_key))
    try:
        r = _client().post(url, content=body, headers=headers, timeout=timeout)
    except httpx.HTTPError as e:  # the message may hold the URL, never the body
        raise ExchangeUnavailable(
            agreement.provider, f"{provider.name}节点无法连接 {provider.name}: {type(e).__name__}"
        ) from None
    return _received(parts, agreement, provider, request_id, body, r)


def _received(
    parts: NodeParts,
    agreement: Terms,
    provider: Member,
    request_id: str,
    body: bytes,
    r: httpx.Response,
) -> ExchangeResult:
    """Check the answer, log it, and say what it was."""
    content = r.content
    document = _json(content)
    # Signed by the provider and about this request (not another answer replayed to us).
    verified = _verifies(provider, r) and document.get("request_id") == request_id
    nonce = parse_nonce(document.get("nonce")) if verified else None
    nonce = nonce or new_nonce()
    rows = document.get("rows") if verified and r.status_code == 200 else None
    rows = rows if isinstance(rows, list) and all(isinstance(x, dict) for x in rows) else None
    record = Received(
        agreement=agreement.id,
        provider=agreement.provider,
        service=agreement.service,
        status=r.status_code,
        rows=len(rows) if rows is not None else 0,
        verified=verified,
        request_digest=digest(nonce, body),
        response_digest=digest(nonce, content),
    )
    object_id = f"{RECEIVED_KIND}/{parts.config.city}/{request_id}"
    also = nonces.storing(request_id, "received", nonce)
    parts.writer.append(
        RECEIVED, object_id, record, ACTOR, agreement.deps, exclusive=False, also=also
    )
    if r.status_code == 200:
        if not verified:
            raise ExchangeUnavailable(
                agreement.provider,
                f"{provider.name}的答复签名无效 {provider.name}'s answer is not validly signed",
            )
        answer = document.get("answer")
        return ExchangeResult(
            200,
            rows,
            answer if answer in (YES, NO) else None,
            request_id,
            agreement.provider,
            None,
        )
    problem = document if document else {"status": r.status_code, "detail": "no problem document"}
    return ExchangeResult(r.status_code, None, None, request_id, agreement.provider, problem)


def _json(content: bytes) -> dict[str, Any]:
    try:
        doc = json.loads(content)
    except (ValueError, RecursionError):
        return {}
    return doc if isinstance(doc, dict) else {}


def _verifies(provider: Member, r: httpx.Response) -> bool:
    verifier = provider.log_verifier()
    public = ed25519_key(verifier.public_key)
    try:
        verify_response(
            r.status_code,
            r.headers,
            r.content,
            lambda key_id: public if key_id == verifier.name else None,
            int(time.time()),
        )
    except SignatureError:
        return False
    return True
