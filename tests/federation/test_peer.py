"""The peer transport against a real HTTP server on loopback: keep-alive, faults, threads."""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from lunan.federation import peer as peer_http
from lunan.federation.peer import IDLE, Peer, PeerError


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive unless a path says otherwise

    def do_GET(self) -> None:
        self.server.connections.add(self.client_address)  # type: ignore[attr-defined]
        if self.path == "/truncated":
            self._head(200, 1000)
            self.wfile.write(b"only part of it")
            self.close_connection = True
        elif self.path == "/close-after":
            self._head(200, 2, close=True)
            self.wfile.write(b"ok")
        elif self.path == "/slow":
            threading.Event().wait(1)
            self._head(200, 2)
            self.wfile.write(b"ok")
        elif self.path == "/together":
            self.server.together.wait()  # type: ignore[attr-defined]
            self._head(200, 2)
            self.wfile.write(b"ok")
        elif self.path == "/missing":
            self._head(404, 0)
        elif self.path == "/reset":  # read the request, then reset instead of answering
            self.server.signatures.append(self.headers["Signature"])  # type: ignore[attr-defined]
            if len(self.server.signatures) == 1:  # type: ignore[attr-defined]
                linger = struct.pack("ii", 1, 0)  # close with RST, not FIN
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
                self.close_connection = True
                return
            self._head(200, 2)
            self.wfile.write(b"ok")
        elif self.path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for _ in range(3):
                self.wfile.write(b"10\r\n" + b"x" * 16 + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
        else:
            body = self.path.encode() * 1000
            self._head(200, len(body))
            self.wfile.write(body)

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self._head(409, len(body), content_type="text/x.tlog.size")
        self.wfile.write(body)

    def _head(self, status: int, length: int, close: bool = False, content_type: str = "") -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(length))
        if content_type:
            self.send_header("Content-Type", content_type)
        if close:
            self.send_header("Connection", "close")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[ThreadingHTTPServer]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.connections = set()  # type: ignore[attr-defined]
    httpd.signatures = []  # type: ignore[attr-defined]
    httpd.together = threading.Barrier(IDLE + 2, timeout=10)  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def url(server: ThreadingHTTPServer) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture
def peer(server: ThreadingHTTPServer) -> Iterator[Peer]:
    peer = Peer(url(server))
    yield peer
    peer.close()


def test_requests_one_after_another_reuse_one_connection(
    server: ThreadingHTTPServer, peer: Peer
) -> None:
    assert [peer.get(f"/a{i}") for i in range(5)] == [f"/a{i}".encode() * 1000 for i in range(5)]
    assert len(server.connections) == 1  # type: ignore[attr-defined]


def test_threads_fetch_at_once_on_connections_of_their_own_and_leave_none_behind(
    server: ThreadingHTTPServer, peer: Peer
) -> None:
    paths = [f"/p{i}" for i in range(40)]
    for _ in range(5):  # a follower's fetchers: new threads for each catch-up
        with ThreadPoolExecutor(4) as pool:
            bodies = list(pool.map(peer.get, paths))
        assert bodies == [p.encode() * 1000 for p in paths]
    # The threads are gone; their connections were given back and taken again, not left open.
    assert 1 <= len(server.connections) <= 4  # type: ignore[attr-defined]
    assert len(peer.transport.idle) == len(server.connections)  # type: ignore[attr-defined]


def test_more_requests_at_once_than_are_kept_idle_close_the_extra_connections(
    server: ThreadingHTTPServer, peer: Peer
) -> None:
    with ThreadPoolExecutor(IDLE + 2) as pool:  # all in flight together: one connection each
        assert list(pool.map(peer.get, ["/together"] * (IDLE + 2))) == [b"ok"] * (IDLE + 2)
    assert len(server.connections) == IDLE + 2  # type: ignore[attr-defined]
    assert len(peer.transport.idle) == IDLE  # type: ignore[attr-defined]


def test_a_connection_the_node_closed_is_replaced(server: ThreadingHTTPServer, peer: Peer) -> None:
    assert peer.get("/close-after") == b"ok"
    assert peer.get("/next") == b"/next" * 1000
    assert len(server.connections) == 2  # type: ignore[attr-defined]


def test_a_kept_alive_connection_dropped_while_idle_is_retried_once(
    server: ThreadingHTTPServer, peer: Peer
) -> None:
    assert peer.get("/first") == b"/first" * 1000
    for conn in peer.transport.idle:  # type: ignore[attr-defined]
        conn.sock.shutdown(socket.SHUT_RDWR)  # as a node's idle timeout does, seen from here
    assert peer.get("/second") == b"/second" * 1000


def test_a_truncated_body_is_an_error(server: ThreadingHTTPServer, peer: Peer) -> None:
    with pytest.raises(PeerError, match="IncompleteRead"):
        peer.get("/truncated")
    assert peer.get("/after") == b"/after" * 1000  # the broken connection was not kept


def test_an_error_status_is_an_error_naming_it(peer: Peer) -> None:
    with pytest.raises(PeerError, match="HTTP 404"):
        peer.get("/missing")


def test_a_slow_node_times_out(server: ThreadingHTTPServer) -> None:
    with closing(Peer(url(server), timeout=0.2)) as slow, pytest.raises(PeerError, match="timed"):
        slow.get("/slow")


def test_a_node_that_is_down_is_an_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, never listening: connections are refused
        down = Peer(f"http://127.0.0.1:{port}")
        with closing(down), pytest.raises(PeerError, match="ConnectionRefused"):
            down.get("/x")


def test_a_post_carries_its_body_and_signed_headers(server: ThreadingHTTPServer) -> None:
    seen: list[tuple[str, str, bytes]] = []

    def sign(method: str, target: str, body: bytes) -> dict[str, str]:
        seen.append((method, target, body))
        return {"Signature": "sig"}

    with closing(Peer(url(server) + "/", sign)) as signing:
        r = signing.request("POST", "/witness", b"old 3\n")
    assert (r.status, r.body, r.headers["content-type"]) == (409, b"old 3\n", "text/x.tlog.size")
    assert seen == [("POST", url(server) + "/witness", b"old 3\n")]


def test_a_url_that_is_not_http_is_refused() -> None:
    with pytest.raises(ValueError, match="not an http"):
        Peer("ftp://example.org")


def test_a_request_sent_again_is_signed_again(server: ThreadingHTTPServer) -> None:
    """The node read the first request before it reset the connection: had the retry carried
    the same signature, the node would refuse it as replayed and record it against us."""
    signed = iter(range(100))

    def sign(method: str, target: str, body: bytes) -> dict[str, str]:
        return {"Signature": f"sig-{next(signed)}"}

    with closing(Peer(url(server), sign)) as signing:
        signing.get("/first")  # leaves a kept-alive connection, which the retry needs
        assert signing.get("/reset") == b"ok"
    assert server.signatures == ["sig-1", "sig-2"]  # type: ignore[attr-defined]


def test_an_answer_longer_than_any_member_may_send_is_refused_unread(
    server: ThreadingHTTPServer, peer: Peer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(peer_http, "MAX_BODY", 3000)
    with pytest.raises(PeerError, match=r"GET .*/long: the answer is 5000 bytes, more than 3000"):
        peer.get("/long")
    assert peer.get("/x") == b"/x" * 1000  # within the limit (2,000 bytes), on a new connection


def test_a_chunked_answer_is_read_up_to_the_limit_only(
    server: ThreadingHTTPServer, peer: Peer, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert peer.get("/chunked") == b"x" * 48
    monkeypatch.setattr(peer_http, "MAX_BODY", 40)
    with pytest.raises(PeerError, match="longer than the 40 bytes allowed"):
        peer.get("/chunked")
    assert peer.transport.idle == []  # type: ignore[attr-defined]


def test_a_connection_in_use_when_the_peer_closes_is_closed_once_answered(
    server: ThreadingHTTPServer, peer: Peer
) -> None:
    with ThreadPoolExecutor(1) as pool:
        answer = pool.submit(peer.get, "/slow")
        while not server.connections:  # type: ignore[attr-defined]
            threading.Event().wait(0.01)
        peer.close()
        assert answer.result() == b"ok"
    assert peer.transport.idle == []  # type: ignore[attr-defined]
