"""Talking to another member's node over HTTP, with retries left to the caller."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import httpx


class PeerError(Exception):
    """A peer that is down, slow, or answers something we cannot use. Retry later."""


@dataclass(frozen=True)
class Response:
    status: int
    headers: Mapping[str, str]
    body: bytes


# Adds authentication headers (RFC 9421) to an outgoing request: (method, url, body) -> headers.
Signer = Callable[[str, str, bytes], Mapping[str, str]]


class Peer:
    """One member node, reached at its base URL."""

    def __init__(self, url: str, sign: Signer | None = None, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.sign = sign
        self.client = httpx.Client(timeout=timeout)

    def request(self, method: str, path: str, body: bytes = b"") -> Response:
        url = self.url + path
        headers = dict(self.sign(method, url, body)) if self.sign else {}
        try:
            r = self.client.request(method, url, content=body, headers=headers)
        except httpx.HTTPError as e:
            raise PeerError(f"{method} {url}: {type(e).__name__}: {e}") from e
        return Response(r.status_code, r.headers, r.content)

    def get(self, path: str) -> bytes:
        r = self.request("GET", path)
        if r.status != 200:
            raise PeerError(f"GET {self.url}{path}: HTTP {r.status}")
        return r.body

    def close(self) -> None:
        self.client.close()
