"""`lunan demo`: the built-in 鲁南经济圈 alliance on this machine.

At this stage one member, 临沂 (first rotating chair), is initialised and served; the
federation work extends the same command to all four cities.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from lunan import node

ALLIANCE = "lunan"


@dataclass(frozen=True)
class City:
    code: str
    name: str


# GB/T 2260 codes of the four member cities (FACTS.md); 临沂 was the first chair city.
CITIES = (
    City("371300", "临沂"),
    City("370400", "枣庄"),
    City("370800", "济宁"),
    City("371700", "菏泽"),
)


class DemoError(RuntimeError):
    """The demo cannot start; the message says how to fix it."""


@dataclass
class RunningNode:
    city: City
    url: str
    directory: Path
    process: subprocess.Popen[bytes]


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def prepare(base: Path, cities: tuple[City, ...], base_port: int) -> list[tuple[City, Path, str]]:
    """Initialise each city's node directory once; later runs reuse it."""
    prepared = []
    for i, city in enumerate(cities):
        url = f"http://127.0.0.1:{base_port + i}"
        directory = base / city.code
        if not (directory / node.CONFIG_FILE).exists():
            config = node.NodeConfig(
                alliance=ALLIANCE,
                city=city.code,
                name=city.name,
                origin=f"{ALLIANCE}/{city.code}",
                url=url,
                database=node.DEFAULT_DATABASE,
            )
            node.init_node(directory, config).dispose()
        elif node.load_config(directory).url != url:
            raise DemoError(
                f"{directory} was set up for {node.load_config(directory).url}; "
                f"use the same --base-port or a new --dir"
            )
        prepared.append((city, directory, url))
    return prepared


def start(prepared: list[tuple[City, Path, str]], log_dir: Path) -> list[RunningNode]:
    for _, _, url in prepared:
        port = int(url.rsplit(":", 1)[1])
        if not port_free(port):
            raise DemoError(f"port {port} is in use: stop what uses it or pass another --base-port")
    running = []
    for city, directory, url in prepared:
        log_file = (log_dir / f"{city.code}.log").open("ab")
        proc = subprocess.Popen(
            [sys.executable, "-m", "lunan", "serve", "--dir", str(directory)],
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
        running.append(RunningNode(city, url, directory, proc))
    return running


def wait_healthy(nodes: list[RunningNode], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    for n in nodes:
        while True:
            if n.process.poll() is not None:
                raise DemoError(
                    f"{n.city.name} node exited; see {n.directory.parent}/{n.city.code}.log"
                )
            try:
                if httpx.get(f"{n.url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise DemoError(
                    f"{n.city.name} node did not answer at {n.url} within {timeout:.0f}s"
                )
            time.sleep(0.1)


def stop(nodes: list[RunningNode]) -> None:
    for n in nodes:
        if n.process.poll() is None:
            n.process.send_signal(signal.SIGINT)
    for n in nodes:
        try:
            n.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            n.process.kill()
            n.process.wait()


def write_manifest(base: Path, nodes: list[RunningNode]) -> None:
    manifest = [
        {
            "city": n.city.code,
            "name": n.city.name,
            "url": n.url,
            "pid": n.process.pid,
            "dir": str(n.directory),
        }
        for n in nodes
    ]
    (base / "demo.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n")


def cities_for_stage() -> tuple[City, ...]:
    return CITIES[:1]
