"""The exchange on the wire (DESIGN §3.5), shared by the provider and the requester.

Request: ``POST {provider}/exchange/v1/{service}``, JSON, signed (RFC 9421 + RFC 9530) with the
requesting node's log key::

    {"agreement": "data-agreement/371300/3", "request_id": "<uuid4 hex>",
     "purpose": "<the agreement's purpose>", "user": "<hex SHA-256 of a salted user id>",
     "params": {"身份证号": "…"}, "fields": ["身份证号"]}

Answer (200): ``{"request_id", "agreement", "rows": [...]}`` or, for a 是/否 service,
``{"request_id", "agreement", "answer": "是"}``, plus ``"nonce"`` (base64 of 32 random
bytes). A refusal is a problem document (RFC 9457) whose ``type`` names the check that failed,
with ``request_id`` (when it could be read) and ``nonce``. Both are signed by the provider
(RFC 9421 over ``@status`` and ``content-digest``). Each side logs SHA-256(nonce ‖ request
body) and SHA-256(nonce ‖ response body), never the bodies.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import secrets
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from lunan.exchange.events import AGREEMENT, DIGEST

PATH = "/exchange/v1/"
REQUEST_ID = r"^[0-9a-f]{32}$"
NONCE_BYTES = 32
MAX_BODY = 64 * 1024  # a request names an agreement and a few keys: anything bigger is abuse
MAX_ROWS = 100  # rows one answer may carry
YES, NO = "是", "否"
JSON = "application/json"
PROBLEM_JSON = "application/problem+json"  # as lunan.web.problems: one format for every error
TYPE_PREFIX = "urn:lunan:problem:"


class ExchangeRequest(BaseModel):
    """The body of an exchange request."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    agreement: str = Field(pattern=AGREEMENT)
    request_id: str = Field(pattern=REQUEST_ID)
    purpose: str = Field(min_length=1, max_length=2000)
    user: str = Field(pattern=DIGEST)
    params: dict[str, str] = Field(default_factory=dict, max_length=20)
    fields: list[str] | None = Field(default=None, min_length=1, max_length=200)


@dataclass(frozen=True)
class Problem:
    """A failure of the exchange, one stable type per check."""

    status: int
    title: str


PROBLEMS: dict[str, Problem] = {
    "exchange-invalid-request": Problem(422, "交换请求格式错误 Malformed exchange request"),
    "exchange-no-agreement": Problem(404, "无此共享协议 No such agreement"),
    "exchange-not-party": Problem(403, "非协议申请方 Not the agreement's requester"),
    "exchange-wrong-service": Problem(403, "协议不涵盖此服务 Agreement is for another service"),
    "exchange-agreement-suspended": Problem(403, "协议已暂停 Agreement suspended"),
    "exchange-agreement-revoked": Problem(403, "协议已撤销 Agreement revoked"),
    "exchange-agreement-expired": Problem(403, "协议已到期 Agreement expired"),
    "exchange-agreement-not-yet-valid": Problem(403, "协议尚未生效 Agreement not yet valid"),
    "exchange-purpose": Problem(403, "用途与协议不符 Purpose differs from the agreement's"),
    "exchange-field-not-agreed": Problem(403, "字段不在协议范围内 Field not in the agreement"),
    "exchange-row-filter": Problem(403, "查询超出协议行范围 Query outside the agreed rows"),
    "exchange-duplicate-request": Problem(409, "请求编号重复 Request id already used"),
    "exchange-over-quota": Problem(429, "超出当日调用限额 Over the day's quota"),
    "exchange-upstream": Problem(502, "数据源不可用 Data source failed"),
}


def encode(document: dict[str, Any]) -> bytes:
    """The exact bytes sent: compact UTF-8 JSON (是 and 否 have the same length, so the size
    of a 是/否 answer says nothing about it)."""
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


def new_nonce() -> bytes:
    return secrets.token_bytes(NONCE_BYTES)


def nonce_text(nonce: bytes) -> str:
    return base64.b64encode(nonce).decode()


def parse_nonce(value: object) -> bytes | None:
    """The nonce of an answer, or None if it is not base64 of 32 bytes."""
    if not isinstance(value, str):
        return None
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) == NONCE_BYTES else None


def digest(nonce: bytes, message: bytes) -> str:
    """What the logs keep of a message: hex SHA-256(nonce ‖ exact bytes of the body)."""
    return hashlib.sha256(nonce + message).hexdigest()
