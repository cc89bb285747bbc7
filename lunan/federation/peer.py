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

from lunan.log import tiles


class PeerError(Exception):
    """A peer that is down, slow, or answers something we cannot use. Retry later."""


@dataclass(frozen=True)
class Response:
    status: int
    headers: Mapping[str, str]  # names in lower case
    body: bytes


# Adds authentication headers (RFC 9421) to an outgoing request: (method, url, body) -> headers.
Signer = Callable[[str, str, bytes], Mapping[str, str]]
# A request's headers, made anew for each time it is sent (a new signature, a new nonce).
Headers = Callable[[], Mapping[str, str]]

# The largest answer a member may send: 4,096 entries of the largest size (a uint16 length).
# A longer one is refused before it is read, whatever the node says it holds.
MAX_BODY = tiles.MAX_RANGE * (2 + 0xFFFF)


class Transport(Protocol):
    """How requests reach the node: `Connections`, or an in-process app in tests."""

    def request(self, method: str, path: str, headers: Headers, body: bytes) -> Response:
        """Send one request; PeerError if no complete response came back."""
        ...

    def close(self) -> None: ...


# A kept-alive connection the node closed while idle fails on first use in one of these ways.
# The request is sent once more on a new connection, signed anew: had the node seen it after
# all (it reset the connection only after reading it), the first signature's nonce would be
# refused as replayed, and recorded as a refusal against us.
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
        self.closed = False  # a request still in flight when closed closes its connection

    def request(self, method: str, path: str, headers: Headers, body: bytes) -> Response:
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
        except PeerError as e:
            raise PeerError(f"{method} {self.url}{path}: {e}") from e

    def _exchange(
        self,
        conn: http.client.HTTPConnection,
        method: str,
        path: str,
        headers: Headers,
        body: bytes,
    ) -> Response:
        try:
            conn.request(method, self.prefix + path, body=body or None, headers=dict(headers()))
            r = conn.getresponse()
            data = _body(r)
        except BaseException:
            conn.close()
            raise
        # A body of unknown length was read to a limit, not to its end: never reuse that one.
        self._give_back(conn, keep=not r.will_close and r.length is not None)
        return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, data)

    def _connect(self) -> http.client.HTTPConnection:
        cls = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
        return cls(self.host, self.port, timeout=self.timeout)

    def _give_back(self, conn: http.client.HTTPConnection, keep: bool) -> None:
        with self.lock:
            if keep and not self.closed and len(self.idle) < IDLE:
                self.idle.append(conn)
                return
        conn.close()

    def close(self) -> None:
        with self.lock:
            conns, self.idle, self.closed = self.idle, [], True
        for conn in conns:
            conn.close()


def _body(r: http.client.HTTPResponse) -> bytes:
    """The whole body, or PeerError if it is longer than any answer a member may send."""
    if r.length is not None:
        if r.length > MAX_BODY:
            raise PeerError(f"the answer is {r.length} bytes, more than {MAX_BODY} allowed")
        return r.read()  # IncompleteRead if the node closes before Content-Length bytes
    data = r.read(MAX_BODY + 1)  # chunked, or until the node closes
    if len(data) > MAX_BODY:
        raise PeerError(f"the answer is longer than the {MAX_BODY} bytes allowed")
    return data


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
        sign = self.sign

        def headers() -> Mapping[str, str]:
            return sign(method, url, body) if sign else {}

        return self.transport.request(method, path, headers, body)

    def get(self, path: str) -> bytes:
        r = self.request("GET", path)
        if r.status != 200:
            raise PeerError(f"GET {self.url}{path}: HTTP {r.status}")
        return r.body

    def close(self) -> None:
        self.transport.close()
