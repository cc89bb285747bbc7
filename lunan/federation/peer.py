"""Talking to another member's node over HTTP, with retries left to the caller.

Requests go through the standard library's http.client on keep-alive connections, each used
by one request at a time (a follower fetches entries on several threads at once). It reads a
body of known length in one call: catching up is mostly receiving megabytes of entries, and
httpx's layers spent four times the CPU on the same bytes, under the interpreter lock the
follower's hashing needs (docs/performance.md).
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit


class PeerError(Exception):
    """A peer that is down, slow, or answers something we cannot use. Retry later."""


@dataclass(frozen=True)
class Response:
    status: int
    headers: Mapping[str, str]  # names in lower case
    body: bytes


# Adds authentication headers (RFC 9421) to an outgoing request: (method, url, body) -> headers.
Signer = Callable[[str, str, bytes], Mapping[str, str]]


class Transport(Protocol):
    """How requests reach the node: `Connections`, or an in-process app in tests."""

    def request(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> Response:
        """Send one request; PeerError if no complete response came back."""
        ...

    def close(self) -> None: ...


# A kept-alive connection the node closed while idle fails on first use in one of these ways;
# the request never reached the node, so it is sent again once on a new connection.
_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)
IDLE = 8  # connections kept open between requests; more are closed once answered


class Connections:
    """Keep-alive HTTP/1.1 connections to one node (http or https): each request takes an idle
    one (or opens one) and gives it back once its answer is read, so threads that come and go
    (a follower's fetchers, a catch-up at a time) share them and none is left open."""

    def __init__(self, url: str, timeout: float) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        self.url = url.rstrip("/")
        self.prefix = parts.path.rstrip("/")
        self.host, self.port, self.https = parts.hostname, parts.port, parts.scheme == "https"
        self.timeout = timeout
        self.idle: list[http.client.HTTPConnection] = []
        self.lock = threading.Lock()

    def request(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> Response:
        with self.lock:
            conn = self.idle.pop() if self.idle else None
        try:
            if conn is not None:
                try:
                    return self._exchange(conn, method, path, headers, body)
                except _STALE:
                    pass  # closed by _exchange; once more on a fresh connection
            return self._exchange(self._connect(), method, path, headers, body)
        except (OSError, http.client.HTTPException) as e:
            raise PeerError(f"{method} {self.url}{path}: {type(e).__name__}: {e}") from e

    def _exchange(
        self,
        conn: http.client.HTTPConnection,
        method: str,
        path: str,
        headers: Mapping[str, str],
        body: bytes,
    ) -> Response:
        try:
            conn.request(method, self.prefix + path, body=body or None, headers=dict(headers))
            r = conn.getresponse()
            data = r.read()  # IncompleteRead if the node closes before Content-Length bytes
        except BaseException:
            conn.close()
            raise
        self._give_back(conn, keep=not r.will_close)
        return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, data)

    def _connect(self) -> http.client.HTTPConnection:
        cls = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
        return cls(self.host, self.port, timeout=self.timeout)

    def _give_back(self, conn: http.client.HTTPConnection, keep: bool) -> None:
        with self.lock:
            if keep and len(self.idle) < IDLE:
                self.idle.append(conn)
                return
        conn.close()

    def close(self) -> None:
        with self.lock:
            conns, self.idle = self.idle, []
        for conn in conns:
            conn.close()


class Peer:
    """One member node, reached at its base URL."""

    def __init__(
        self,
        url: str,
        sign: Signer | None = None,
        timeout: float = 10.0,
        transport: Transport | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.sign = sign
        self.transport = transport or Connections(self.url, timeout)

    def request(self, method: str, path: str, body: bytes = b"") -> Response:
        url = self.url + path
        headers = dict(self.sign(method, url, body)) if self.sign else {}
        return self.transport.request(method, path, headers, body)

    def get(self, path: str) -> bytes:
        r = self.request("GET", path)
        if r.status != 200:
            raise PeerError(f"GET {self.url}{path}: HTTP {r.status}")
        return r.body

    def close(self) -> None:
        self.transport.close()
