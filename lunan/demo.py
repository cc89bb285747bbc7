"""`lunan demo`: the built-in 鲁南经济圈 alliance on this machine.

Four member nodes (临沂, 枣庄, 济宁, 菏泽), an alliance file all four have signed, four
`lunan serve` processes on 127.0.0.1 that follow and witness each other.
"""

from __future__ import annotations

import json
import random
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import httpx

from lunan import node
from lunan.alliance import config as ac
from lunan.auth.roles import Role
from lunan.auth.tokens import issue_token, revoke_token
from lunan.federation.runtime import ALLIANCE_FILE
from lunan.sample.accounts import account, create_accounts

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


def listening_ports() -> range:
    """Ports safe to listen on: outside the range the kernel hands out to outgoing
    connections (below it, or above it if that leaves more). Nodes open many connections to
    each other, and one of them must not take the port a node is about to listen on."""
    try:
        text = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text()
        low, high = (int(x) for x in text.split()[:2])
    except (OSError, ValueError):
        low, high = 32768, 60999  # Linux's default
    below, above = range(10000, low), range(high + 1, 65536)
    return below if len(below) >= len(above) else above


def free_base_port(count: int = len(CITIES)) -> int:
    """A port P such that P … P+count-1 are all free on 127.0.0.1 right now, from
    listening_ports(), tried in random order."""
    ports = listening_ports()
    candidates = list(range(ports.start, ports.stop - count + 1))
    random.shuffle(candidates)
    for port in candidates:
        if all(port_free(port + i) for i in range(count)):
            return port
    raise DemoError(f"no {count} free consecutive ports in {ports.start}–{ports.stop - 1}")


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
        config = node.load_config(directory)
        engine = node.open_database(directory, config)
        try:
            create_accounts(engine, city.code, city.name)
        finally:
            engine.dispose()
        if node.load_config(directory).url != url:
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
        # The child keeps its own copy of the file descriptor; ours closes at once.
        with (log_dir / f"{city.code}.log").open("ab") as log_file:
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
                log = n.directory.parent / f"{n.city.code}.log"
                raise DemoError(f"{n.city.name} node exited: {_last_line(log)}; see {log}")
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


def _last_line(log: Path) -> str:
    """What a node said last before it exited (uvicorn ends with the reason)."""
    try:
        lines = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return "no log"
    return lines[-1] if lines else "nothing logged"


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


def write_alliance(prepared: list[tuple[City, Path, str]]) -> ac.Alliance:
    """The alliance file, signed by all four members, in every node directory.

    临沂 is the first chair (FACTS.md); the later terms' order and dates are 示例数据.
    """
    members = []
    for city, directory, url in prepared:
        config = node.load_config(directory)
        members.append(
            ac.Member(
                city=city.code,
                name=city.name,
                url=url,
                log_key=node.signer(config, node.load_key(directory)).vkey(),
                witness_key=node.witness_signer(config, node.load_witness_key(directory)).vkey(),
            )
        )
    terms = tuple(
        ac.ChairTerm(city.code, date(2021 + i, 5, 13), date(2022 + i, 5, 12))
        for i, (city, _, _) in enumerate(prepared)
    )
    signed = ac.SignedAlliance(
        ac.Alliance(ALLIANCE, "鲁南经济圈", members=tuple(members), chair_terms=terms), ()
    )
    for city, directory, _ in prepared:
        config = node.load_config(directory)
        signed = ac.sign(signed, city.code, node.signer(config, node.load_key(directory)))
    for _, directory, _ in prepared:
        ac.save(directory / ALLIANCE_FILE, signed)
    return ac.verify(signed)


def all_final(nodes: list[RunningNode]) -> list[dict[str, object]] | None:
    """Each node's status if every log is replicated and final everywhere, else None."""
    statuses = []
    for n in nodes:
        try:
            statuses.append(httpx.get(f"{n.url}/api/v1/status", timeout=5).json())
        except (httpx.HTTPError, ValueError):
            return None
    sizes = {s["node"]["city"]: s["node"]["size"] for s in statuses}
    for s in statuses:
        if s["node"]["final_size"] != s["node"]["size"]:
            return None
        for m in s["members"]:
            if m["replicated_size"] != sizes[m["city"]] or m["final_size"] != sizes[m["city"]]:
                return None
    return statuses


def wait_final(nodes: list[RunningNode], timeout: float = 120.0) -> list[dict[str, object]]:
    deadline = time.monotonic() + timeout
    while True:
        statuses = all_final(nodes)
        if statuses is not None:
            return statuses
        for n in nodes:
            if n.process.poll() is not None:
                raise DemoError(f"{n.city.name} node exited; see its .log file")
        if time.monotonic() > deadline:
            raise DemoError(f"the logs were not replicated and final within {timeout:.0f}s")
        time.sleep(0.2)


def settled(nodes: list[RunningNode]) -> bool:
    """Whether every node has replicated and folded in every member's whole log."""
    try:
        answers = [httpx.get(f"{n.url}/api/v1/status", timeout=5) for n in nodes]
        if any(a.status_code != 200 for a in answers):
            return False  # a node still starting (or failing: wait_settled then times out)
        docs = [a.json() for a in answers]
    except (httpx.HTTPError, ValueError):
        return False
    sizes = {d["node"]["city"]: d["node"]["size"] for d in docs}
    return all(d["state"]["positions"] == sizes and not d["state"]["waiting"] for d in docs)


def wait_settled(nodes: list[RunningNode], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not settled(nodes):
        for n in nodes:
            if n.process.poll() is not None:
                raise DemoError(f"{n.city.name} node exited; see its .log file")
        if time.monotonic() > deadline:
            raise DemoError(f"the nodes did not agree on every log within {timeout:.0f}s")
        time.sleep(0.2)


def seed(base: Path, nodes: list[RunningNode]) -> list[str]:
    """Write the sample data through each city's API, with a token made for the purpose."""
    from lunan.sample.runner import seed_all

    issued = []
    for n in nodes:
        engine = node.open_database(n.directory, node.load_config(n.directory))
        try:
            token, info = issue_token(engine, account(n.city.code, Role.COORDINATOR), "demo seed")
        finally:
            engine.dispose()
        issued.append((n, token, info.id))
    try:
        return seed_all(
            base,
            {n.city.code: n.url for n in nodes},
            {n.city.code: token for n, token, _ in issued},
            lambda: wait_settled(nodes),
        )
    finally:
        for n, _, token_id in issued:
            engine = node.open_database(n.directory, node.load_config(n.directory))
            try:
                revoke_token(engine, token_id)
            finally:
                engine.dispose()
