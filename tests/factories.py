"""Test data, made in one place."""

from __future__ import annotations

import hashlib
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from lunan import node
from lunan.log import Log, open_log

LINYI = node.NodeConfig(
    alliance="lunan",
    city="371300",
    name="临沂",
    origin="lunan/371300",
    url="http://127.0.0.1:8701",
    database=node.DEFAULT_DATABASE,
)


def make_node(directory: Path, database: str = node.DEFAULT_DATABASE, **changes: str) -> Path:
    """An initialised node directory (临沂 unless changed); its log holds the genesis entry."""
    config = node.NodeConfig(**{**LINYI.__dict__, "database": database, **changes})
    node.init_node(directory, config).dispose()
    return directory


def entry(i: int, size: int = 300) -> bytes:
    """A deterministic entry of about `size` bytes that names its sequence number."""
    head = f'{{"seq":{i},"pad":"'.encode()
    pad = hashlib.sha256(str(i).encode()).hexdigest().encode()
    body = (pad * (size // len(pad) + 1))[: max(0, size - len(head) - 2)]
    return head + body + b'"}'


def entries(start: int, count: int, size: int = 300) -> list[bytes]:
    return [entry(i, size) for i in range(start, start + count)]


def filled_log(directory: Path, count: int, database: str = node.DEFAULT_DATABASE) -> Log:
    """A node whose log holds the genesis entry plus `count` entries, in batches."""
    make_node(directory, database)
    log = open_log(directory)
    done = 0
    while done < count:
        n = min(5000, count - done)
        log.append(entries(done, n))
        done += n
    return log


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def lunan_command(*args: str) -> list[str]:
    """The `lunan` CLI as a real process, with this interpreter."""
    return [sys.executable, "-m", "lunan", *args]


@contextmanager
def serving(directory: Path, port: int) -> Iterator[str]:
    """`lunan serve` as a real process; yields its URL once it answers, stops it after."""
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        lunan_command("serve", "--dir", str(directory), "--port", str(port)),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, f"lunan serve did not answer at {url}"
            time.sleep(0.1)
        yield url
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout:
            proc.stdout.close()
