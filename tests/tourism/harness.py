"""The tourism tests' harness: a node's app with the routers the gate needs and its users, and
live member nodes talking HTTP to each other (the exchange between real servers)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn
from factories import CITIES, ApiNode, free_port, make_node, serve_in_thread
from fastapi import FastAPI

from lunan import demo
from lunan.auth import tokens, users
from lunan.web.app import create_app


def app_for(directory: Path) -> FastAPI:
    return create_app(directory)


# 临沂's node: name -> (role, city). `stranger` is stored on 临沂's node but belongs to 枣庄.
USERS = {
    "coord": ("coordinator", "371300"),
    "officer": ("officer", "371300"),
    "viewer": ("viewer", "371300"),
    "stranger": ("coordinator", "370400"),
}


Node = ApiNode


# --- live nodes: real HTTP between members, each node served by uvicorn in a thread -----------

PASSWORD = "correct horse battery"


@dataclass
class Live:
    """A running member node: its URL and a client holding a coordinator's token."""

    city: str
    directory: Path
    url: str
    app: FastAPI
    server: uvicorn.Server
    thread: threading.Thread
    client: httpx.Client

    def stop(self) -> None:
        """Stop serving, as a node that goes down (its port then refuses connections)."""
        self.client.close()
        self.server.should_exit = True
        self.thread.join(timeout=15)
        assert not self.thread.is_alive(), f"{self.city}'s server did not stop"


def _serve(directory: Path, url: str) -> Live:
    app, server, thread = serve_in_thread(directory)
    config = app.state.parts.config
    engine = app.state.parts.log.engine
    users.add_user(engine, config.city, "coord", "coordinator", PASSWORD)
    token = tokens.create_token(engine, "coord")
    client = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    return Live(config.city, directory, url, app, server, thread, client)


@contextmanager
def live_alliance(base: Path, databases: dict[str, str]) -> Iterator[dict[str, Live]]:
    """Member nodes (city -> database URL) with a signed alliance file, serving on loopback."""
    prepared = []
    for city, database in databases.items():
        url = f"http://127.0.0.1:{free_port()}"
        name = CITIES[city]
        origin = f"lunan/{city}"
        directory = make_node(base / city, database, city=city, name=name, origin=origin, url=url)
        prepared.append((demo.City(city, name), directory, url))
    demo.write_alliance(prepared)
    running: dict[str, Live] = {}
    try:
        for member, directory, url in prepared:
            running[member.code] = _serve(directory, url)
        yield running
    finally:
        for live in running.values():
            if live.thread.is_alive():
                live.stop()


def wait_for(what: str, ready: Callable[[], bool], timeout: float = 30.0) -> None:
    """Poll until `ready()` (replication between members takes a round or two)."""
    deadline = time.monotonic() + timeout
    while not ready():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)
