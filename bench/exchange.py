"""Benchmark of the data exchange between two nodes on loopback, in one run.

    .venv/bin/python bench/exchange.py            # 20 s per measurement
    .venv/bin/python bench/exchange.py --quick    # 4 s per measurement (under a minute)

Two member nodes, 临沂 and 枣庄, run as real `lunan serve` processes with a signed alliance file
(lunan.demo). 枣庄 publishes its "户籍/居住证 核验" entry and imports synthetic residents
(示例数据); 临沂 does the same for its own, requests 枣庄's check and 枣庄 approves. Then, with
`--gates` concurrent callers (ticket gates, each waiting for its answer before the next visitor):

- exchange: 临沂's `POST /api/v1/exchange/call` — 临沂 signs the request (RFC 9421 + RFC 9530),
  枣庄 verifies it, checks the agreement, purpose, params and quota, looks the number up, logs
  `exchange.served` and signs the answer; 临沂 verifies it and logs `exchange.received`.
  Signed, checked and logged request/response pairs per second; p50/p99 latency;
- tourism check: 临沂's `POST /api/v1/apps/tourism/check` end to end, for a mix of 枣庄
  residents (one exchange), 临沂 residents (a local lookup) and outsiders (a local lookup and an
  exchange that says 否); p50/p99 overall and per kind;
- baseline, after the nodes stop: the same FastAPI apps (`create_app` on the same node
  directories, served by uvicorn as `lunan serve` does) with a bench route answering the same
  lookup through the same adapter — no signing, no checking, no logging: 临沂 relays it to 枣庄
  unsigned (the same two hops), and, for reference, 枣庄 answered directly (one hop).

The target (DESIGN §7) is exchange ≥ 0.5 × the unsigned relay. The last line printed is one JSON
object: {"bench": "exchange", "metrics": {…}, "ratios": {…}}.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table as RichTable
from sqlalchemy import Table, func, select

from lunan import demo, node
from lunan.apps.divisions import LINYI, ZAOZHUANG
from lunan.apps.ids import make_resident_id
from lunan.apps.tourism.registry import Attraction, attractions_in
from lunan.apps.tourism.residents import Resident, generate
from lunan.auth.roles import Role
from lunan.auth.tokens import issue_token
from lunan.exchange.tables import p_exchange_received, p_exchange_served
from lunan.sample import sharing as sample_sharing
from lunan.sample.accounts import account
from lunan.sample.tourism import csv_bytes

ROOT = Path(__file__).resolve().parent.parent
TARGET = 0.5  # exchange pairs/s ≥ half the unsigned relay's (DESIGN §7)
GATES = 8  # ticket gates asking at once: a busy scenic area's entrance
KEY = "身份证号"
out = Console(highlight=False)
err = Console(stderr=True, highlight=False)

Metrics = dict[str, float | int | str | bool | list[float]]


# --- measuring -------------------------------------------------------------------------------


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    k = max(0, min(len(sorted_values) - 1, math.ceil(p / 100 * len(sorted_values)) - 1))
    return sorted_values[k]


@dataclass
class Run:
    """What the gates saw in one measurement: latencies (s) by kind, and failures."""

    seconds: float = 0.0
    latencies: dict[str, list[float]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    cpu_s: float = 0.0  # CPU time the serving processes spent in the measured window

    def all(self) -> list[float]:
        return sorted(x for xs in self.latencies.values() for x in xs)

    def count(self) -> int:
        return sum(len(xs) for xs in self.latencies.values())

    def merge(self, other: Run) -> None:
        self.seconds += other.seconds
        self.cpu_s += other.cpu_s
        for kind, xs in other.latencies.items():
            self.latencies.setdefault(kind, []).extend(xs)
        self.failures.extend(other.failures)

    def rate(self) -> float:
        return self.count() / self.seconds

    def summary(self, prefix: str, unit: str) -> Metrics:
        lat = self.all()
        if not lat:
            raise RuntimeError(f"{prefix}: no request succeeded: {self.failures[:3]}")
        return {
            f"{prefix}_{unit}": self.count(),
            f"{prefix}_{unit}_per_s": round(self.count() / self.seconds, 1),
            f"{prefix}_p50_ms": round(percentile(lat, 50) * 1e3, 2),
            f"{prefix}_p99_ms": round(percentile(lat, 99) * 1e3, 2),
            f"{prefix}_failures": len(self.failures),
        }


def cpu_seconds(pids: Sequence[int]) -> float:
    """User + system CPU time of processes (all their threads), from /proc (Linux); 0 where
    there is no /proc."""
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / ticks


# One gate's request: (kind, JSON body, check of the answer → problem or None).
Visit = tuple[str, dict[str, Any], Callable[[dict[str, Any]], str | None]]


def hammer(
    label: str,
    url: str,
    headers: dict[str, str],
    visits: list[Visit],
    gates: int,
    seconds: float,
    warmup: float,
    servers: Sequence[int] = (),
) -> Run:
    """`gates` callers POST visits (round robin, each from its own offset) for `warmup` then
    `seconds` seconds; only requests started after the warm-up count, and the CPU time the
    `servers` (process ids) spend meanwhile."""
    run = Run(seconds=seconds)
    lock = threading.Lock()
    start = time.perf_counter() + warmup
    stop = start + seconds
    answered = [0] * gates  # per gate, for the progress bar (each gate writes only its own)

    def gate(g: int) -> None:
        mine: dict[str, list[float]] = {}
        bad: list[str] = []
        i = g * 7919  # spread the gates over the visitors
        with httpx.Client(headers=headers, timeout=30) as client:
            while True:
                kind, body, check = visits[i % len(visits)]
                i += 1
                t0 = time.perf_counter()
                if t0 >= stop:
                    break
                try:
                    r = client.post(url, json=body)
                    problem = check(r.json()) if r.status_code == 200 else f"HTTP {r.status_code}"
                except (httpx.HTTPError, ValueError) as e:
                    problem = type(e).__name__
                elapsed = time.perf_counter() - t0
                answered[g] += 1
                if t0 < start:
                    continue
                if problem is None:
                    mine.setdefault(kind, []).append(elapsed)
                else:
                    bad.append(problem)
        with lock:
            for kind, xs in mine.items():
                run.latencies.setdefault(kind, []).extend(xs)
            run.failures.extend(bad)

    threads = [threading.Thread(target=gate, args=(g,)) for g in range(gates)]
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[done]} answers"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=warmup + seconds, done=0)
        t_begin = time.perf_counter()
        for t in threads:
            t.start()
        cpu_start: float | None = None
        cpu_stop = 0.0
        while any(t.is_alive() for t in threads):
            time.sleep(0.05)
            now = time.perf_counter()
            if cpu_start is None and now >= start:
                cpu_start = cpu_seconds(servers)
            if now < stop:
                cpu_stop = cpu_seconds(servers)
            bar.update(task, completed=now - t_begin, done=sum(answered))
        run.cpu_s = cpu_stop - (cpu_start or 0.0)
        for t in threads:
            t.join()
    if run.failures:
        err.print(f"  [yellow]{len(run.failures)} failed answers, e.g. {run.failures[:3]}[/]")
    return run


# --- the two nodes -----------------------------------------------------------------------------


@dataclass
class Nodes:
    prepared: list[tuple[demo.City, Path, str]]
    running: list[demo.RunningNode]
    clients: dict[str, httpx.Client]  # city -> client with base URL and a coordinator's token
    tokens: dict[str, str]

    def url(self, city: str) -> str:
        return next(u for c, _, u in self.prepared if c.code == city)

    def directory(self, city: str) -> Path:
        return next(d for c, d, _ in self.prepared if c.code == city)

    def post(self, city: str, path: str, **kwargs: Any) -> Any:
        r = self.clients[city].post(path, **kwargs)
        if r.status_code >= 400:
            raise RuntimeError(f"POST {path} on {city} → {r.status_code}: {r.text}")
        return r.json()

    def settle(self) -> None:
        demo.wait_settled(self.running)


def tokens_for(prepared: list[tuple[demo.City, Path, str]]) -> dict[str, str]:
    """A coordinator's API token in each node (issued before the nodes start)."""
    tokens = {}
    for city, directory, _ in prepared:
        engine = node.open_database(directory, node.load_config(directory))
        try:
            tokens[city.code], _ = issue_token(
                engine, account(city.code, Role.COORDINATOR), "bench"
            )
        finally:
            engine.dispose()
    return tokens


# What the bench calls on `lunan serve`; missing ones mean a router is not wired into the app.
NEEDED_PATHS = (
    "/api/v1/sharing/catalog",
    "/api/v1/data/import",
    "/api/v1/exchange/call",
    "/exchange/v1/{service}",
    "/api/v1/apps/tourism/check",
)


def check_wired(url: str) -> None:
    paths = httpx.get(f"{url}/api/v1/openapi.json", timeout=30).json()["paths"]
    missing = [p for p in NEEDED_PATHS if p not in paths]
    if missing:
        raise RuntimeError(
            f"`lunan serve` has no {missing}: wire their routers into lunan/web/app.py"
        )


@contextmanager
def two_nodes(base: Path) -> Iterator[Nodes]:
    port = demo.free_base_port(2)
    prepared = demo.prepare(base, demo.CITIES[:2], port)  # 临沂, 枣庄
    demo.write_alliance(prepared)
    tokens = tokens_for(prepared)
    running = demo.start(prepared, base)
    clients = {
        city.code: httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {tokens[city.code]}"}, timeout=60
        )
        for city, _, url in prepared
    }
    try:
        demo.wait_healthy(running)
        check_wired(prepared[0][2])
        yield Nodes(prepared, running, clients, tokens)
    finally:
        for c in clients.values():
            c.close()
        demo.stop(running)


def set_up_exchange(nodes: Nodes, people: dict[str, list[Resident]]) -> str:
    """Both cities publish and load their resident check; 临沂 gets 枣庄's. The agreement id."""
    for city, residents in people.items():
        entry = sample_sharing.resident_check(city)
        nodes.post(city, "/api/v1/sharing/catalog", json=entry)
        files = {"file": (f"residents-{city}.csv", csv_bytes(residents), "text/csv")}
        nodes.post(city, "/api/v1/data/import", params={"entry": entry["code"]}, files=files)
    nodes.settle()
    dataset = nodes.clients[LINYI].get(
        f"/api/v1/sharing/catalog/by-code/{sample_sharing.resident_check(ZAOZHUANG)['code']}"
    )
    today = dt.date.today()
    request = nodes.post(
        LINYI,
        "/api/v1/sharing/requests",
        json={
            "dataset": dataset.json()["id"],
            "fields": [KEY],
            "purpose": sample_sharing.TOURISM_PURPOSE,
            "scenario": sample_sharing.TOURISM_SCENARIO,
            "period": {"start": str(today), "end": str(today + dt.timedelta(days=365))},
            "legal_basis": sample_sharing.PERSONAL_BASIS,
            "volume": 10**6,
            "quota": 10**9,  # the bench must not be stopped by the day's quota
        },
    )["id"]
    nodes.settle()
    _, city, n = request.split("/")
    agreement: str = nodes.post(
        ZAOZHUANG,
        f"/api/v1/sharing/requests/{city}/{n}/approve",
        json={"reason": "基准测试 benchmark（示例数据）"},
    )["id"]
    nodes.settle()
    return agreement


def outsiders(count: int, rng: random.Random) -> list[str]:
    """Valid ID numbers issued in 北京 (not a member): nobody's resident in either registry."""
    return [
        make_resident_id(
            "110101", dt.date(1950, 1, 1) + dt.timedelta(days=rng.randrange(20000)), i % 1000
        )
        for i in range(count)
    ]


def expect_answer(answer: str) -> Callable[[dict[str, Any]], str | None]:
    def check(doc: dict[str, Any]) -> str | None:
        return None if doc.get("answer") == answer else f"answer {doc.get('answer')!r}"

    return check


def expect_price(price: int, local: bool) -> Callable[[dict[str, Any]], str | None]:
    def check(doc: dict[str, Any]) -> str | None:
        if doc.get("price") == price and doc.get("local") is local and doc.get("checked"):
            return None
        return f"price {doc.get('price')} local {doc.get('local')} checked {doc.get('checked')}"

    return check


# --- the baseline: the same apps, a bare route ------------------------------------------------


def serve_bare(directory: Path, port: int, upstream: str | None) -> None:
    """The node's own FastAPI app (no alliance: nothing signs or checks signatures) plus a
    route answering the resident lookup through the same adapter the exchange uses, served by
    uvicorn exactly as `lunan serve` does. With `upstream`, also a route relaying the lookup
    there, unsigned: the exchange's two hops without signing, checking or logging."""
    import uvicorn
    from fastapi import APIRouter

    from lunan.exchange import adapters
    from lunan.sharing import queries
    from lunan.web.app import create_app

    app = create_app(directory)
    engine = app.state.parts.projector.engine
    city = app.state.parts.config.city
    dataset = queries.dataset_by_service(engine, city, sample_sharing.RESIDENT_SERVICE)
    config = adapters.get_config(engine, sample_sharing.RESIDENT_SERVICE)
    assert dataset is not None and config is not None, "the resident check is not set up"
    adapter = adapters.build(engine, config, dataset.code, dataset.keys[0])
    router = APIRouter()

    @router.post("/bench/v1/lookup")
    def lookup(body: dict[str, Any]) -> dict[str, str]:
        rows = adapter.fetch(body["params"], [KEY], {}, 1)
        return {"answer": "是" if rows else "否"}

    if upstream is not None:
        relay_client = httpx.Client(base_url=upstream, timeout=30)

        @router.post("/bench/v1/relay")
        def relay(body: dict[str, Any]) -> dict[str, str]:
            answer: dict[str, str] = relay_client.post("/bench/v1/lookup", json=body).json()
            return answer

    app.include_router(router)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


def snapshot(directory: Path, to: Path) -> Path:
    """A copy of a running node's directory, its SQLite database copied by SQLite's backup
    API (consistent while the node writes). The baseline's apps run on copies: an app of its
    own rebuilds the projections for the logs it knows, which must not touch the nodes'."""
    shutil.copytree(directory, to, ignore=shutil.ignore_patterns("node.db*"))
    with sqlite3.connect(directory / "node.db") as source, sqlite3.connect(to / "node.db") as copy:
        source.backup(copy)
    return to


@contextmanager
def bare_nodes(
    nodes_dirs: dict[str, Path], base: Path
) -> Iterator[tuple[dict[str, str], list[int]]]:
    """枣庄's and 临沂's apps with the bare routes, as processes, on copies of their
    directories; yields city -> URL."""
    nodes_dirs = {city: snapshot(d, base / f"bare-{city}") for city, d in nodes_dirs.items()}
    port = demo.free_base_port(2)
    urls = {ZAOZHUANG: f"http://127.0.0.1:{port}", LINYI: f"http://127.0.0.1:{port + 1}"}
    procs = []
    try:
        for city, upstream in ((ZAOZHUANG, None), (LINYI, urls[ZAOZHUANG])):
            args = ["--serve-bare", str(nodes_dirs[city]), "--port", urls[city].rsplit(":", 1)[1]]
            if upstream:
                args += ["--upstream", upstream]
            with (base / f"bare-{city}.log").open("ab") as log_file:
                procs.append(
                    subprocess.Popen(
                        [sys.executable, __file__, *args], stdout=log_file, stderr=subprocess.STDOUT
                    )
                )
        for city, url in urls.items():
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                    raise RuntimeError(f"the bare {city} app did not start; see {base}/bare-*.log")
                time.sleep(0.1)
        yield urls, [p.pid for p in procs]
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def count_rows(directory: Path, table: Table) -> int:
    """Rows of a projection table in a (stopped) node's database."""
    engine = node.open_database(directory, node.load_config(directory))
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(table)).scalar() or 0)
    finally:
        engine.dispose()


# --- the run -------------------------------------------------------------------------------------


def lookup_visits(agreement: str, yes: list[str], no: list[str]) -> list[Visit]:
    """Exchange calls for residents (是) and outsiders (否), alternating."""

    def ask(number: str) -> dict[str, Any]:
        purpose = sample_sharing.TOURISM_PURPOSE
        return {"agreement": agreement, "params": {KEY: number}, "purpose": purpose}

    said_yes, said_no = expect_answer("是"), expect_answer("否")
    return [
        v
        for y, n in zip(yes, no, strict=True)
        for v in (("是", ask(y), said_yes), ("否", ask(n), said_no))
    ]


def gate_visits(
    spot: Attraction, members: list[str], own: list[str], strangers: list[str]
) -> list[Visit]:
    """Visitors at a 临沂 attraction: 枣庄 residents (local price, by the exchange), 临沂
    residents (local price, looked up in place) and outsiders (full price)."""

    def visit(number: str) -> dict[str, Any]:
        return {"attraction": spot.code, "id_number": number}

    local, full = expect_price(spot.local_price, True), expect_price(spot.full_price, False)
    return [
        v
        for m, o, s in zip(members, own, strangers, strict=True)
        for v in (
            ("member", visit(m), local),
            ("own", visit(o), local),
            ("outsider", visit(s), full),
        )
    ]


def bench(base: Path, gates: int, seconds: float, rounds: int, residents: int) -> Metrics:
    """The exchange and the unsigned relay in alternating rounds (`seconds` each in all), so
    that both see the same moods of a noisy machine; then the tourism check and the direct
    lookup. The nodes settle (every record folded everywhere) before each round, so that no
    round pays for the one before."""
    per_round = seconds / rounds
    warmup = min(1.0, per_round / 4)
    people = {city: generate(city, residents, "bench") for city in (LINYI, ZAOZHUANG)}
    numbers = {city: [r.id_number for r in people[city]] for city in people}
    strangers = outsiders(residents, random.Random(2021))
    spot = next(a for a in attractions_in(LINYI) if a.full_price > a.local_price)
    m: Metrics = {
        "gates": gates,
        "seconds_per_measurement": seconds,
        "rounds": rounds,
        "residents": residents,
    }
    with two_nodes(base) as nodes:
        t0 = time.perf_counter()
        err.print("[bold]▶ setting up: catalog entries, imports, request, approval[/]")
        agreement = set_up_exchange(nodes, people)
        m["setup_s"] = round(time.perf_counter() - t0, 1)
        linyi = nodes.url(LINYI)
        auth = {"Authorization": f"Bearer {nodes.tokens[LINYI]}"}
        lookups = lookup_visits(agreement, numbers[ZAOZHUANG], strangers)
        bare: list[Visit] = [(kind, {"params": body["params"]}, c) for kind, body, c in lookups]
        dirs = {city: nodes.directory(city) for city in (LINYI, ZAOZHUANG)}
        # The baseline: the same apps on copies of the directories, beside the idle nodes.
        with bare_nodes(dirs, base) as (urls, bare_pids):
            node_pids = [n.process.pid for n in nodes.running]
            err.print(
                f"[bold]▶ {rounds} rounds: {gates} gates → 临沂 → 枣庄 signed, checked, logged; "
                "then the same lookup relayed unsigned, unchecked, unlogged[/]"
            )
            exchange, relay, ratios = Run(), Run(), []
            for r in range(rounds):
                label = f"{r + 1}/{rounds}"
                nodes.settle()
                url = f"{linyi}/api/v1/exchange/call"
                e = hammer(
                    f"exchange {label}", url, auth, lookups, gates, per_round, warmup, node_pids
                )
                nodes.settle()
                url = f"{urls[LINYI]}/bench/v1/relay"
                b = hammer(f"relay {label}", url, {}, bare, gates, per_round, warmup, bare_pids)
                exchange.merge(e)
                relay.merge(b)
                ratios.append(round(e.rate() / b.rate(), 3))
                err.print(
                    f"  round {label}: {e.rate():.1f} vs {b.rate():.1f} pairs/s: {ratios[-1]}"
                )
            m.update(exchange.summary("exchange", "pairs"))
            m.update(relay.summary("relay", "pairs"))
            m["exchange_vs_relay_by_round"] = ratios
            # CPU time both servers spent per answered pair: the work, apart from the waiting.
            if exchange.cpu_s and relay.cpu_s:
                m["exchange_cpu_ms_per_pair"] = round(1e3 * exchange.cpu_s / exchange.count(), 2)
                m["relay_cpu_ms_per_pair"] = round(1e3 * relay.cpu_s / relay.count(), 2)
            direct = hammer(
                "direct lookup",
                f"{urls[ZAOZHUANG]}/bench/v1/lookup",
                {},
                bare,
                gates,
                seconds,
                warmup,
            )
            m.update(direct.summary("direct", "lookups"))
        nodes.settle()
        err.print(f"[bold]▶ tourism check: {gates} gates at {spot.name}, mixed visitors[/]")
        visits = gate_visits(spot, numbers[ZAOZHUANG], numbers[LINYI], strangers)
        url = f"{linyi}/api/v1/apps/tourism/check"
        tourism = hammer("tourism check", url, auth, visits, gates, seconds, warmup)
        m.update(tourism.summary("tourism", "checks"))
        for kind in ("member", "own", "outsider"):
            m[f"tourism_{kind}_p50_ms"] = round(
                percentile(sorted(tourism.latencies[kind]), 50) * 1e3, 2
            )
    # Both sides logged every answer (warm-up ones too, so at least as many as counted).
    m["served_logged"] = count_rows(nodes.directory(ZAOZHUANG), p_exchange_served)
    m["received_logged"] = count_rows(nodes.directory(LINYI), p_exchange_received)
    answered = exchange.count() + len(tourism.latencies["member"] + tourism.latencies["outsider"])
    if min(int(m["served_logged"]), int(m["received_logged"])) < answered:
        raise RuntimeError(f"fewer exchanges logged than answered ({answered}): {m}")
    return m


def print_table(m: Metrics, ratios: dict[str, float]) -> None:
    t = RichTable(title=f"lunan exchange benchmark ({m['gates']} gates at once)")
    t.add_column("measure")
    t.add_column("per second", justify="right")
    t.add_column("p50 / p99", justify="right")
    rows = [
        ("exchange: signed, checked, logged", "exchange", "pairs"),
        ("same lookup relayed unsigned (2 hops)", "relay", "pairs"),
        ("same lookup answered directly (1 hop)", "direct", "lookups"),
        ("tourism check, end to end (mixed)", "tourism", "checks"),
    ]
    for label, prefix, unit in rows:
        t.add_row(
            label,
            f"{m[f'{prefix}_{unit}_per_s']:,}",
            f"{m[f'{prefix}_p50_ms']} / {m[f'{prefix}_p99_ms']} ms",
        )
    for kind, label in (
        ("member", "枣庄 resident"),
        ("own", "临沂 resident"),
        ("outsider", "outsider"),
    ):
        t.add_row(f"  tourism check p50, {label}", "", f"{m[f'tourism_{kind}_p50_ms']} ms")
    for name, value in ratios.items():
        t.add_row(f"ratio {name}", str(value), "")
    out.print(t)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short run (< 1 min)")
    parser.add_argument("--gates", type=int, default=GATES, help="concurrent callers")
    parser.add_argument("--seconds", type=float, help="per measurement (default by --quick)")
    parser.add_argument("--rounds", type=int, help="exchange/relay rounds (default by --quick)")
    parser.add_argument("--keep", action="store_true", help="keep bench-data/ afterwards")
    parser.add_argument("--data", type=Path, default=ROOT / "bench-data" / "exchange")
    # Internal: the baseline's server processes.
    parser.add_argument("--serve-bare", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--upstream", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_bare is not None:
        serve_bare(args.serve_bare, args.port, args.upstream)
        return 0

    seconds = args.seconds or (4.0 if args.quick else 20.0)
    residents = 500 if args.quick else 5000
    if args.data.exists():
        shutil.rmtree(args.data)
    args.data.mkdir(parents=True)
    t_start = time.perf_counter()
    try:
        rounds = args.rounds or (2 if args.quick else 4)
        m = bench(args.data, args.gates, seconds, rounds, residents)
    finally:
        if not args.keep:
            shutil.rmtree(args.data, ignore_errors=True)
            parent = args.data.parent
            if parent.name == "bench-data" and parent.exists() and not any(parent.iterdir()):
                parent.rmdir()
    m["quick"] = bool(args.quick)
    m["wall_s"] = round(time.perf_counter() - t_start, 1)

    def ratio(a: str, b: str) -> float:
        return round(float(m[a]) / float(m[b]), 3)

    ratios = {
        # The target: the same two hops and lookup without signing, checking or logging.
        "exchange_vs_unsigned_relay": ratio("exchange_pairs_per_s", "relay_pairs_per_s"),
        # For reference: against the lookup answered by the provider alone (one hop).
        "exchange_vs_direct_lookup": ratio("exchange_pairs_per_s", "direct_lookups_per_s"),
    }
    m["target_exchange_vs_unsigned_relay"] = TARGET
    print_table(m, ratios)
    print(json.dumps({"bench": "exchange", "metrics": m, "ratios": ratios}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
