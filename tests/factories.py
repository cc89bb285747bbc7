"""Test data, made in one place."""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI
from sqlalchemy import Engine, insert

from lunan import demo, domains, node
from lunan.events.engine import Projector
from lunan.events.writer import Writer
from lunan.federation.runtime import Federation, request_signer
from lunan.log import Log, bundles, open_log, tiles
from lunan.storage import schema
from lunan.web.app import create_app

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


def set_entry(engine: Engine, log_id: int, index: int, data: bytes | None) -> None:
    """Change one stored entry behind the log's back (None removes it from its bundle, as a
    damaged store would): what `lunan verify` and the log's own checks must notice. The
    bundle is stored again as one row."""
    bundle_idx, at = divmod(index, bundles.WIDTH)
    table = schema.log_bundles
    with engine.begin() as conn:
        [stored] = bundles.read(conn, log_id, index, index + 1)
        held = bundles.unpack(stored)
        held[at : at + 1] = [] if data is None else [data]
        conn.execute(table.delete().where(table.c.log_id == log_id, table.c.idx == bundle_idx))
        conn.execute(
            insert(table).values(
                log_id=log_id,
                idx=bundle_idx,
                first=0,
                width=len(held),
                data=tiles.bundle_entries(held),
            )
        )


def stored_entries(engine: Engine) -> Iterator[bytes]:
    """Every entry of every log the database holds."""
    with engine.connect() as conn:
        for row in conn.execute(schema.log_bundles.select()):
            yield from tiles.unbundle_entries(bytes(row.data))


def schema_differences(engine: Engine, tables: set[str]) -> list[Any]:
    """What Alembic finds different between the migrated `tables` and lunan.storage.schema
    (their columns, types, indexes and constraints; other tables are not looked at)."""

    def named(name: str | None, type_: str, _parent: Any) -> bool:
        return type_ != "table" or name in tables

    def ours(obj: Any, name: str | None, type_: str, *_: Any) -> bool:
        table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", None)
        return table in tables

    with engine.connect() as conn:
        opts = {"include_name": named, "include_object": ours, "compare_type": True}
        return list(compare_metadata(MigrationContext.configure(conn, opts=opts), schema.metadata))


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


def _worker_ports() -> range:
    """This pytest-xdist worker's own share of the ports nodes may listen on, so that two
    workers never pick the same port between checking it and binding it."""
    ports = demo.listening_ports()
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    index = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw"))
    share = len(ports) // max(workers, 1)
    start = ports.start + index * share
    return range(start, start + share)


_next_port = [0]


def free_ports(count: int) -> int:
    """The first of `count` consecutive free ports on 127.0.0.1, from this worker's share,
    never one handed out earlier in this run (it may not be bound yet)."""
    ports = _worker_ports()
    for _ in range(len(ports)):
        port = ports.start + _next_port[0] % (len(ports) - count)
        _next_port[0] += count
        if all(demo.port_free(port + i) for i in range(count)):
            return port
    raise RuntimeError(f"no {count} free ports in {ports}")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    return free_ports(1)


def warm_routes(app: FastAPI) -> None:
    """Have FastAPI build every route of `app` now, on this thread, by asking for a path none
    matches. It builds a route's handler at its first match, touching state that all apps of
    one process share; nodes served in threads of one process would otherwise build
    concurrently and trip over each other (a pydantic warning mid-build, which the tests'
    filterwarnings=error turns into a 500). `lunan serve` has one app and one event loop."""

    async def ask() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://warm.invalid") as c:
            await c.get("/warm/no-such-path")

    # A thread of its own: this one may already run an event loop (Playwright's sync API does).
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(lambda: asyncio.run(ask())).result()


def serve_in_thread(directory: Path) -> tuple[FastAPI, uvicorn.Server, threading.Thread]:
    """A member node as `lunan serve` runs it (its federation included), served by uvicorn in
    a thread of this process at its configured port; returns once it listens."""
    config = node.load_config(directory)
    log = open_log(directory)
    federation = Federation.start(directory, config, log, request_signer(directory, config))
    app = create_app(directory, log, federation)
    warm_routes(app)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=config.port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, name=f"node-{config.city}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, f"{config.city} did not start"
        time.sleep(0.02)
    return app, server, thread


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


# --- a four-city alliance in one database, for event and projection tests -------------------

CITIES = {"371300": "临沂", "370400": "枣庄", "370800": "济宁", "371700": "菏泽"}
CHAIR = "371300"


@dataclass
class FourCities:
    """临沂's node holding all four logs, as if the other three were replicated into it.

    `writers[city]` appends to that city's log; one projector folds all four."""

    engine: Engine
    projector: Projector
    logs: dict[str, Log]
    writers: dict[str, Writer]

    def close(self) -> None:
        self.engine.dispose()


@contextmanager
def four_cities(directory: Path, database: str = node.DEFAULT_DATABASE) -> Iterator[FourCities]:
    make_node(directory, database)
    config = node.load_config(directory)
    engine = node.open_database(directory, config)
    logs = {CHAIR: Log(engine, node.OWN_LOG_ID, node.signer(config, node.load_key(directory)))}
    for log_id, city in enumerate([c for c in CITIES if c != CHAIR], start=2):
        other = node.NodeConfig(
            **{**config.__dict__, "city": city, "name": CITIES[city], "origin": f"lunan/{city}"}
        )
        signer = node.signer(other, Ed25519PrivateKey.generate())
        with engine.begin() as conn:
            conn.execute(
                insert(schema.logs).values(id=log_id, origin=other.origin, vkey=signer.vkey())
            )
        logs[city] = Log(engine, log_id, signer)
        logs[city].append([node.genesis_entry(other, signer.vkey())])
    projector = Projector(
        engine,
        domains.registry(),
        "lunan",
        {city: log.store.log_id for city, log in logs.items()},
        CHAIR,
    )
    projector.ensure()
    writers = {city: Writer(log, projector, city, "lunan") for city, log in logs.items()}
    try:
        yield FourCities(engine, projector, logs, writers)
    finally:
        engine.dispose()


def actor(city: str, role: str = "coordinator") -> dict[str, str]:
    """What an event records about who wrote it (see lunan.auth.users.User.actor)."""
    return {"user": f"{city}-{role}", "role": role, "city": city}


def make_user(
    directory: Path, name: str, role: str, display_name: str = "", password: str | None = None
) -> str:
    """A user of the node in `directory` (its city); returns the password (generated if None)."""
    from lunan.auth.users import add_user

    config = node.load_config(directory)
    engine = node.open_database(directory, config)
    try:
        return add_user(engine, config.city, name, role, password, display_name)[1]
    finally:
        engine.dispose()


# --- the task ledger (lunan.coop): tasks, node parts and users for its actions ---------------

import dataclasses  # noqa: E402  (this section's own imports, kept with it)
from datetime import date as _date  # noqa: E402

from sqlalchemy import select  # noqa: E402

from lunan.auth.roles import Role  # noqa: E402
from lunan.auth.users import User  # noqa: E402
from lunan.coop import actions as coop_actions  # noqa: E402
from lunan.coop import models as coop_models  # noqa: E402
from lunan.events.tables import p_events  # noqa: E402
from lunan.services import NodeParts  # noqa: E402


def task_fields(**changes: object) -> coop_models.TaskFields:
    """A valid task（示例数据）led by 枣庄 with 济宁 as partner, 2026-01-01 to 2026-12-31."""
    values: dict[str, object] = {
        "number": "1",
        "title": "示例任务（示例数据）",
        "area": "交通互联",
        "lead_city": "370400",
        "lead_department": "市发展改革委",
        "partner_cities": ("370800",),
        "start": "2026-01-01",
        "deadline": "2026-12-31",
    }
    return coop_models.TaskFields.model_validate({**values, **changes})


def node_parts(h: FourCities, directory: Path, city: str) -> NodeParts:
    """`city`'s node over the four-city harness: its own writer, the shared projector."""
    config = dataclasses.replace(node.load_config(directory), city=city, name=CITIES[city])
    return NodeParts(directory, config, h.logs[city], None, h.projector, h.writers[city])


def user_of(city: str, role: str = "coordinator") -> User:
    """A user of `city` for calling actions directly (not stored: actions take the object)."""
    return User(0, f"u{city}-{role}", Role(role), city, "", False)


COOP_TODAY = _date(2026, 3, 1)  # tests pin the events' clock to this day (tests/coop)


@dataclass
class CoopLedger:
    """The four cities with each city's node parts, and shortcuts for the ledger's actions:
    the chair (临沂) registers, 枣庄 leads the default task and 济宁 helps."""

    h: FourCities
    directory: Path
    parts: dict[str, NodeParts]

    @property
    def engine(self) -> Engine:
        return self.h.engine

    def create(self, **changes: object) -> str:
        chair = self.parts[CHAIR]
        return coop_actions.create_task(chair, user_of(CHAIR), task_fields(**changes))

    def report(self, city: str, task_id: str, progress: int, period: str = "2026-03") -> str:
        report = coop_models.ReportFields(period=period, progress=progress, done="示例数据")
        return coop_actions.report_progress(self.parts[city], user_of(city), task_id, report)

    def sizes(self) -> dict[str, int]:
        """Each log's size: a refused write leaves them all as they were."""
        return {city: log.size() for city, log in self.h.logs.items()}

    def outcome(self, city: str, idx: int) -> tuple[str, str | None]:
        q = select(p_events.c.status, p_events.c.reason).where(
            p_events.c.origin == city, p_events.c.idx == idx
        )
        with self.engine.connect() as conn:
            row = conn.execute(q).one()
        return row.status, row.reason


@contextmanager
def coop_ledger(directory: Path, database: str = node.DEFAULT_DATABASE) -> Iterator[CoopLedger]:
    with four_cities(directory, database) as h:
        h.projector.catch_up()  # the genesis entries: the member cities become known
        yield CoopLedger(h, directory, {c: node_parts(h, directory, c) for c in CITIES})


# --- governance (lunan.governance): node parts with chair terms, raw events ----------------

from collections.abc import Sequence  # noqa: E402  (this section's own imports, kept with it)
from datetime import date  # noqa: E402
from typing import Any  # noqa: E402

from lunan.alliance.config import Alliance, ChairTerm, Member  # noqa: E402
from lunan.clock import now_shanghai  # noqa: E402
from lunan.crypto import note  # noqa: E402
from lunan.events.core import Acceptance, Handover  # noqa: E402
from lunan.events.envelope import Event, encode  # noqa: E402


def governance_alliance(h: FourCities, terms: Sequence[tuple[str, date, date]]) -> Alliance:
    """The four cities as an alliance (their real log keys, throwaway witness keys) with these
    chair terms, for the chair's handover."""
    members = tuple(
        Member(
            city=city,
            name=CITIES[city],
            url=f"http://127.0.0.1:{8701 + i}",
            log_key=log.signer.vkey(),
            witness_key=note.Signer(
                f"lunan/{city}/witness", Ed25519PrivateKey.generate(), note.COSIGNATURE_V1
            ).vkey(),
        )
        for i, (city, log) in enumerate(h.logs.items())
    )
    return Alliance(
        id="lunan",
        name="鲁南经济圈",
        members=members,
        chair_terms=tuple(ChairTerm(c, start, end) for c, start, end in terms),
    )


@dataclass
class Gov:
    """The four cities with each city's node parts, for governance actions."""

    h: FourCities
    directory: Path
    parts: dict[str, NodeParts]

    def set_terms(self, terms: Sequence[tuple[str, date, date]]) -> None:
        """Give every city's node an alliance file with these chair terms."""
        alliance = governance_alliance(self.h, terms)
        for city, p in self.parts.items():
            self.parts[city] = dataclasses.replace(p, alliance=alliance)

    def raw(
        self,
        city: str,
        type_: str,
        obj: str,
        body: dict[str, Any],
        deps: Sequence[tuple[str, int]] = (),
    ) -> tuple[str, str | None]:
        """Append an event bypassing every action (as a faulty node might); its outcome."""
        event = Event(type_, "lunan", city, now_shanghai(), actor(city), obj, tuple(deps), body)
        idx = self.h.logs[city].append([encode(event)])
        self.h.projector.catch_up()
        o = self.h.projector.outcome(city, idx)
        assert o is not None, f"{city}:{idx} was not processed"
        return o.status, o.reason

    def sizes(self) -> dict[str, int]:
        """Each log's size: a refused write leaves them all as they were."""
        return {city: log.size() for city, log in self.h.logs.items()}


# --- data sharing (lunan.sharing): catalog entries, requests, agreements ---------------------

from lunan.sample import sharing as sharing_sample  # noqa: E402  (this section's own imports)
from lunan.sharing import actions as sharing_actions  # noqa: E402
from lunan.sharing import queries as sharing_queries  # noqa: E402
from lunan.sharing.models import ApprovalTerms, DatasetFields, RequestFields  # noqa: E402

SHARING_TODAY = date(2026, 3, 2)  # a Monday; tests/sharing pins the clock to it


def resident_check_fields(city: str, **changes: object) -> DatasetFields:
    """`city`'s 户籍/居住证 核验 entry (有条件共享, service resident-check, answers 是/否)."""
    return DatasetFields.model_validate({**sharing_sample.resident_check(city), **changes})


def open_dataset_fields(city: str, **changes: object) -> DatasetFields:
    """An 无条件共享 entry of `city`（示例数据）: 政策文件目录, service policy-documents."""
    return DatasetFields.model_validate({**sharing_sample.other_entries(city)[0], **changes})


def sharing_request(dataset: str, **changes: object) -> RequestFields:
    """A request for `dataset`'s 身份证号 for tourism, 2026-03-02 to 2029-03-01, 100000/day."""
    values: dict[str, object] = {
        "dataset": dataset,
        "fields": ["身份证号"],
        "purpose": sharing_sample.TOURISM_PURPOSE,
        "scenario": sharing_sample.TOURISM_SCENARIO,
        "period": {"start": "2026-03-02", "end": "2029-03-01"},
        "legal_basis": "鲁南旅游联盟旅游同城化（示例数据）",
        "volume": 20000,
        "quota": 100000,
    }
    return RequestFields.model_validate({**values, **changes})


@dataclass
class SharingCities(Gov):
    """The four cities with node parts, and shortcuts for the sharing actions."""

    def publish(self, city: str, fields: DatasetFields | None = None) -> str:
        chosen = fields or resident_check_fields(city)
        return sharing_actions.publish_dataset(self.parts[city], user_of(city), chosen)

    def resident_check(self, city: str) -> str:
        """`city`'s resident-check entry, published now unless it is already."""
        view = sharing_queries.dataset_by_service(self.h.engine, city, "resident-check")
        return view.id if view is not None else self.publish(city)

    def request(self, city: str, dataset: str, **changes: object) -> str:
        fields = sharing_request(dataset, **changes)
        return sharing_actions.file_request(self.parts[city], user_of(city), fields)

    def approve(self, request_id: str, **terms: object) -> str:
        view = sharing_queries.request(self.h.engine, request_id)
        assert view is not None, request_id
        approval = ApprovalTerms.model_validate({"reason": "同意（示例数据）", **terms})
        return sharing_actions.approve_request(
            self.parts[view.provider], user_of(view.provider), request_id, approval
        )

    def agreement(self, requester: str, provider: str, **terms: object) -> str:
        """An agreement, acknowledged: `requester` may check `provider`'s residents."""
        agreement_id = self.approve(self.request(requester, self.resident_check(provider)), **terms)
        sharing_actions.acknowledge(
            self.parts[requester], sharing_actions.SYSTEM_ACTOR, agreement_id
        )
        return agreement_id


@contextmanager
def sharing_cities(
    directory: Path, database: str = node.DEFAULT_DATABASE
) -> Iterator[SharingCities]:
    with four_cities(directory, database) as h:
        h.projector.catch_up()  # the genesis entries: the member cities become known
        yield SharingCities(h, directory, {c: node_parts(h, directory, c) for c in CITIES})


def calendar_body(**changes: object) -> dict[str, Any]:
    """2027's working-day calendar as the chair publishes it (lunan.calendar), 示例数据: 元旦
    1–3 January, 春节 6–12 February with Saturday 13 February worked instead."""
    days = [f"2027-01-0{d}" for d in (1, 2, 3)] + [f"2027-02-{d:02}" for d in range(6, 13)]
    return {
        "year": 2027,
        "holidays": days,
        "working_weekends": ["2027-02-13"],
        "source": "国务院办公厅关于2027年部分节假日安排的通知（示例数据）",
        **changes,
    }


def problem_document(
    r: httpx.Response, status: int, slug: str, field: str | None = None
) -> dict[str, Any]:
    """The RFC 9457 problem document `r` must be: that status, type slug and field at fault."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = r.json()
    assert body["type"] == f"urn:lunan:problem:{slug}"
    assert body.get("field") == field, body
    return body


# --- a pinned clock and API clients (a TestClient per city, signed in by API token) ----------

from collections.abc import Callable  # noqa: E402  (this section's own imports, kept with it)
from contextlib import ExitStack  # noqa: E402

import pytest  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from typer.testing import Result  # noqa: E402

from lunan.auth import tokens, users  # noqa: E402

Clock = Callable[[date], None]
Client = Callable[..., TestClient]


def sharing_clock(monkeypatch: pytest.MonkeyPatch, day: date = SHARING_TODAY) -> Clock:
    """`clock(day)`: from now on events are written on that day (10:00 in Shanghai) and the
    sharing actions and queries take it as today; set to `day` at once."""

    def set_day(day: date) -> None:
        stamp = f"{day.isoformat()}T10:00:00.000+08:00"
        monkeypatch.setattr("lunan.events.writer.now_shanghai", lambda: stamp)
        monkeypatch.setattr("lunan.sharing.queries.today_shanghai", lambda: day)

    set_day(day)
    return set_day


@contextmanager
def api_clients(cities: Gov) -> Iterator[Client]:
    """`make(city, role="coordinator", user_city=city)`: a TestClient of `city`'s node with an
    API token of a user of that role and city (another city: acting for it); closed after."""
    apps = {city: create_app(cities.directory, log=cities.h.logs[city]) for city in CITIES}
    # create_app folded its own log only; give every app the four-city projection.
    cities.h.projector.rebuild()
    opened: list[TestClient] = []

    def make(city: str, role: str = "coordinator", user_city: str | None = None) -> TestClient:
        apps[city].state.parts = cities.parts[city]
        name = f"{role}-{user_city or city}-{len(opened)}"
        engine = cities.h.engine
        users.add_user(engine, user_city or city, name, role, password="pw-" + "x" * 12)
        token = tokens.create_token(engine, name)
        client = TestClient(apps[city], headers={"Authorization": f"Bearer {token}"})
        opened.append(client)
        return client

    try:
        yield make
    finally:
        for client in opened:
            client.close()


# --- one node's API, with users of several roles and their API tokens -------------------------


@dataclass
class ApiNode:
    directory: Path
    app: FastAPI
    client: TestClient
    tokens: dict[str, str]

    def auth(self, name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[name]}"}

    def size(self) -> int:
        size: int = self.app.state.log.size()
        return size


def add_users(engine: Engine, accounts: dict[str, tuple[str, str]]) -> dict[str, str]:
    """The accounts (name -> (role, city)), each with an API token: name -> token."""
    made = {}
    for name, (role, city) in accounts.items():
        users.add_user(engine, city, name, role, "correct horse battery")
        made[name] = tokens.create_token(engine, name)
    return made


@contextmanager
def api_node(
    directory: Path, app: FastAPI, accounts: dict[str, tuple[str, str]]
) -> Iterator[ApiNode]:
    """The node in `directory` served by `app` through a TestClient, with these accounts."""
    with TestClient(app) as client:
        made = add_users(app.state.log.engine, accounts)
        yield ApiNode(directory, app, client, made)


@contextmanager
def separate_nodes(base: Path) -> Iterator[dict[str, httpx.Client]]:
    """Four separate nodes under `base` (not federated), each called through its API with its
    coordinator's token, as the demo does: city -> client."""
    with ExitStack() as stack:
        clients: dict[str, httpx.Client] = {}
        for city, name in CITIES.items():
            directory = make_node(base / city, city=city, name=name, origin=f"lunan/{city}")
            app = create_app(directory)
            client = stack.enter_context(TestClient(app))
            [token] = add_users(app.state.log.engine, {"coord": ("coordinator", city)}).values()
            client.headers["Authorization"] = f"Bearer {token}"
            clients[city] = client
        yield clients


def error_line(result: Result, code: int) -> str:
    """The single `错误 error: …` line a failing command prints, and nothing on stdout."""
    assert result.exit_code == code, result.output
    assert result.stdout == ""
    assert result.stderr.startswith("错误 error: ") and result.stderr.count("\n") == 1, (
        result.stderr
    )
    return result.stderr


def hand_over(h: FourCities, old: str, new: str, term_start: date, term_end: date) -> None:
    """`old` (the chair) hands over to `new` for that term, and `new` accepts, by events."""
    writer, successor = h.writers[old], h.writers[new]
    handover = writer.next_id("handover")
    term = Handover(to=new, term_start=term_start, term_end=term_end)
    writer.append("alliance.chair.handover", handover, term, actor(old))
    successor.append(
        "alliance.chair.accepted",
        successor.next_id("acceptance"),
        Acceptance(handover=handover),
        actor(new),
        successor.deps_for(handover),
    )


def grant_body(sc: SharingCities, request_id: str, **changes: Any) -> dict[str, Any]:
    """A `sharing.agreement.granted` body granting the request as filed (for 临沂's resident
    check), changed as given."""
    view = sharing_queries.request(sc.h.engine, request_id)
    assert view is not None
    values = {
        "request": request_id,
        "dataset": view.dataset,
        "requester": view.requester,
        "service": "resident-check",
        "fields": view.fields,
        "purpose": view.purpose,
        "scenario": view.scenario,
        "row_filter": view.row_filter,
        "period": {"start": str(view.period_start), "end": str(view.period_end)},
        "quota": view.quota,
        "reason": "同意",
    }
    return {**values, **changes}


# --- the data exchange (lunan.exchange): resident files and a rows-answering entry ----------

import json  # noqa: E402  (this section's own imports, kept with it)
import uuid  # noqa: E402

from lunan.apps.tourism import residents as tourism_residents  # noqa: E402
from lunan.exchange import actions as exchange_actions  # noqa: E402
from lunan.exchange.server import Provider  # noqa: E402


def residents_csv(city: str, count: int = 20, seed: str = "exchange") -> tuple[bytes, list[str]]:
    """A resident file of `city`（示例数据）for `lunan data import`, and its ID numbers."""
    people = tourism_residents.generate(city, count, seed)
    rows = (f"{p.id_number},{p.name},{p.region}" for p in people)
    lines = [",".join(tourism_residents.HEADER), *rows]
    return ("\n".join(lines) + "\n").encode(), [p.id_number for p in people]


def resident_rows_fields(city: str, **changes: object) -> DatasetFields:
    """`city`'s 人口基础信息（示例数据）: answers rows (service resident-info), keyed by ID
    number or 户籍地区划代码, so row filters and field subsets can be tried on it."""
    values = {
        **sharing_sample.resident_check(city),
        "code": f"{city}-01-0002",
        "name": "人口基础信息（示例数据）",
        "service": "resident-info",
        "answer": "rows",
        "keys": ["身份证号", "户籍地区划代码"],
        "sample": True,
    }
    values["fields"] = [
        {**f, "category": "有条件共享"} if f["name"] == "姓名" else f for f in values["fields"]
    ]
    return DatasetFields.model_validate({**values, **changes})


def exchange_body(agreement: str, params: dict[str, str], **changes: object) -> bytes:
    """An exchange request body (lunan.exchange.protocol) with the tourism purpose; a change
    to None leaves that member out."""
    doc: dict[str, object] = {
        "agreement": agreement,
        "request_id": uuid.uuid4().hex,
        "purpose": sharing_sample.TOURISM_PURPOSE,
        "user": "ab" * 32,  # a pseudonym: any 64 hex digits
        "params": params,
        **changes,
    }
    return json.dumps({k: v for k, v in doc.items() if v is not None}, ensure_ascii=False).encode()


@dataclass
class ExchangeCities:
    """The four cities; 临沂 provides its resident check, its residents imported (`ids`)."""

    sc: SharingCities
    ids: list[str]

    @property
    def engine(self) -> Engine:
        return self.sc.h.engine

    def parts(self, city: str) -> NodeParts:
        return self.sc.parts[city]

    def provider(self, city: str = CHAIR) -> Provider:
        return Provider(self.parts(city))

    def sizes(self) -> dict[str, int]:
        return self.sc.sizes()


@contextmanager
def exchange_cities(
    directory: Path, database: str = node.DEFAULT_DATABASE
) -> Iterator[ExchangeCities]:
    with sharing_cities(directory, database) as sc:
        sc.resident_check(CHAIR)
        data, ids = residents_csv(CHAIR)
        exchange_actions.import_data(sc.parts[CHAIR], None, f"{CHAIR}-01-0001", data)
        yield ExchangeCities(sc, ids)


from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey  # noqa: E402

from lunan.exchange import client as exchange_client  # noqa: E402
from lunan.net.signatures import verify_request  # noqa: E402

ExchangeHandler = Callable[[httpx.Request], httpx.Response]


def wire_exchange(ex: ExchangeCities, monkeypatch: pytest.MonkeyPatch) -> list[ExchangeHandler]:
    """Real exchange calls without a network: every city's parts know the alliance, and a
    request to 临沂's node reaches its Provider once its signature is checked as the node's
    middleware checks it. Append a function to the returned list to change the responses."""
    alliance = governance_alliance(ex.sc.h, [(CHAIR, date(2021, 5, 13), date(2031, 5, 12))])
    for city, parts in ex.sc.parts.items():
        ex.sc.parts[city] = type(parts)(**{**parts.__dict__, "alliance": alliance})
    provider = ex.provider()
    origins = {m.log_verifier().name: m for m in alliance.members}
    tamper: list[ExchangeHandler] = []

    def handle(request: httpx.Request) -> httpx.Response:
        def key(key_id: str) -> Ed25519PublicKey | None:
            m = origins.get(key_id)
            return Ed25519PublicKey.from_public_bytes(m.log_verifier().public_key) if m else None

        signer = verify_request(
            request.method,
            str(request.url),
            request.headers,
            request.content,
            key,
            int(time.time()),
        )
        reply = provider.answer(
            origins[signer].city, request.url.path.rsplit("/", 1)[1], request.content
        )
        response = httpx.Response(reply.status, headers=reply.headers, content=reply.body)
        for change in tamper:
            response = change(response)
        return response

    monkeypatch.setattr(
        exchange_client, "_client", lambda: httpx.Client(transport=httpx.MockTransport(handle))
    )
    return tamper


# --- `lunan demo` for the browser tests (tests/e2e): start it, wait, sign in, stop ----------

from typing import TYPE_CHECKING  # noqa: E402  (this section's own imports, kept with it)

if TYPE_CHECKING:
    from playwright.sync_api import Page

DEMO_CITIES = ("371300", "370400", "370800", "371700")  # ports base, base+1… in this order
DEMO_START_TIMEOUT = 150.0
LAPTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}


@dataclass
class Demo:
    urls: dict[str, str]  # city code → base URL
    directory: Path  # where `lunan demo --dir` keeps the nodes

    @property
    def chair(self) -> str:
        return self.urls[CHAIR]


def _demo_ready(urls: dict[str, str], output: Path) -> bool:
    """The demo has printed its accounts and every node answers with the sample data in."""
    if "Ctrl-C" not in output.read_text(encoding="utf-8", errors="replace"):
        return False
    try:
        return all(httpx.get(f"{u}/api/v1/status", timeout=2).is_success for u in urls.values())
    except httpx.HTTPError:
        return False


def _demo_stop(proc: subprocess.Popen[bytes]) -> None:
    """Ctrl-C, as a person stops the demo; the whole process group if that is not enough."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=20)


@contextmanager
def lunan_demo(base: Path) -> Iterator[Demo]:
    """`lunan demo` as a new user starts it (four nodes with the sample data, in `base`);
    yields once every node answers, stops it after."""
    port = free_ports(len(DEMO_CITIES))
    urls = {city: f"http://127.0.0.1:{port + i}" for i, city in enumerate(DEMO_CITIES)}
    output = base / "demo-output.txt"
    with output.open("wb") as out:
        proc = subprocess.Popen(
            lunan_command("demo", "--dir", str(base / "nodes"), "--base-port", str(port)),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group, so that nothing outlives it
            # Python ignores Ctrl-C if it starts with SIGINT ignored (a background shell).
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
    try:
        deadline = time.monotonic() + DEMO_START_TIMEOUT
        while not _demo_ready(urls, output):
            text = output.read_text(encoding="utf-8", errors="replace")
            assert proc.poll() is None, f"lunan demo exited:\n{text}"
            assert time.monotonic() < deadline, f"lunan demo not ready:\n{text}"
            time.sleep(0.5)
        yield Demo(urls, base / "nodes")
    finally:
        _demo_stop(proc)


def demo_sign_in(page: Page, base: str, city: str, role: Role) -> None:
    """Sign in on the page of `base` as the demo account of `role` in `city`."""
    import re

    from playwright.sync_api import expect

    from lunan.sample.accounts import PASSWORD, account

    page.goto(f"{base}/login")
    expect(page).to_have_title(re.compile(r"^登录 · 数字鲁南 · "))
    page.fill("#login-name", account(city, role))
    page.fill("#login-password", PASSWORD)
    page.click("form[action='/login'] button[type=submit]")
    # The overview; a gate-only user (检票员) is sent on to its one page, the ticket check.
    page.wait_for_url(f"{base}/sharing/tourism" if role == Role.GATE else f"{base}/")


def no_horizontal_scroll(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], page.url  # type: ignore[index]


# --- order independence: the state is a function of the logs, not of their arrival ----------


class CappedProjector(Projector):
    """A projector that sees only the first `caps[city]` entries of each log."""

    caps: dict[str, int]

    def visible_sizes(self) -> dict[str, int]:
        real = super().visible_sizes()
        return {city: min(size, self.caps.get(city, 0)) for city, size in real.items()}


def assert_any_interleaving_folds_the_same(
    h: FourCities, examples: int = 25, steps: int = 60
) -> None:
    """Feed the four logs `h` holds to a fresh projector in random interleavings (each log's
    own order kept, folding at random moments): every one must end in the same dump."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    expected = h.projector.dump()
    sizes = h.projector.visible_sizes()
    capped = CappedProjector(h.engine, domains.registry(), "lunan", h.projector.logs, CHAIR)

    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(st.tuples(st.sampled_from(sorted(sizes)), st.booleans()), max_size=steps))
    def check(schedule: list[tuple[str, bool]]) -> None:
        capped.caps = {}
        capped.rebuild()
        for city, fold_now in schedule:
            capped.caps[city] = capped.caps.get(city, 0) + 1
            if fold_now:
                capped.catch_up()
        capped.caps = dict(sizes)
        capped.catch_up()
        assert capped.dump() == expected

    check()


# --- a member's node as its followers see it: the real log routes, a log that can be swapped --

from lunan.federation import peer as peer_http  # noqa: E402  (this section's own imports)
from lunan.federation.peer import Peer  # noqa: E402
from lunan.web import log_tiles, problems  # noqa: E402
from lunan.web.api import log as log_api  # noqa: E402


class ServedLog:
    """A member's node serving its log through the node's own log routes (in-process), and a
    follower's `peer` of it. `serve(other)` swaps the log behind the same URL: the member's key
    signing another history (see `rewritten_log`) is what a fork looks like."""

    def __init__(self, log: Log) -> None:
        self.app = FastAPI()
        self.app.state.log = log
        self.app.state.federation = None
        problems.install(self.app)
        self.app.include_router(log_tiles.router)
        self.app.include_router(log_api.router)
        self.peer = Peer("http://member.test", transport=InProcess(self.app, "http://member.test"))

    def serve(self, log: Log) -> None:
        self.app.state.log = log

    def close(self) -> None:
        self.peer.close()


class InProcess:
    """A peer transport into an app in this process (peer_http.Transport)."""

    def __init__(self, app: FastAPI, base_url: str) -> None:
        self.client = TestClient(app, base_url=base_url)

    def request(
        self, method: str, path: str, headers: peer_http.Headers, body: bytes
    ) -> peer_http.Response:
        r = self.client.request(method, path, content=body, headers=dict(headers()))
        headers_lower = {k.lower(): v for k, v in r.headers.items()}
        return peer_http.Response(r.status_code, headers_lower, r.content)

    def close(self) -> None:
        self.client.close()


def rewritten_log(directory: Path, member: Log, new_entries: Sequence[bytes]) -> Log:
    """`member`'s log rewritten behind the alliance's back, in a node of its own: another
    first entry, then `new_entries`, every checkpoint signed with the member's key (as a member
    restored from a wrong backup, or whose key leaked, would sign them)."""
    make_node(directory, origin=member.signer.name)
    engine = node.open_database(directory, node.load_config(directory))
    with engine.begin() as conn:
        for table in (schema.log_bundles, schema.log_tiles, schema.log_checkpoints):
            conn.execute(table.delete().where(table.c.log_id == node.OWN_LOG_ID))
    log = Log(engine, node.OWN_LOG_ID, member.signer)
    log.append([b'{"rewritten":true}', *new_entries])
    return log


# --- the pages (lunan.web.pages) through a TestClient: sign in, forms with their CSRF token ----

import re  # noqa: E402

from httpx import Response  # noqa: E402


@dataclass
class Visitor:
    """A browser on one city's node: its cookies, and the CSRF token of its session."""

    client: TestClient
    csrf: str = ""

    def get(self, path: str, **kw: Any) -> Response:
        return self.client.get(path, **kw)

    def post(
        self, path: str, data: dict[str, Any] | None = None, htmx: bool = False, **kw: Any
    ) -> Response:
        form = {"csrf_token": self.csrf, **(data or {})}
        headers = {"HX-Request": "true"} if htmx else {}
        return self.client.post(path, data=form, headers=headers, follow_redirects=False, **kw)


def found_in(pattern: str, html: str) -> str:
    """The first group of `pattern` in the page, which must be there."""
    m = re.search(pattern, html)
    assert m, f"{pattern!r} not in the page"
    return m.group(1)


def login_token(html: str) -> str:
    return found_in(r'name="login_token" value="([^"]+)"', html)


def csrf_of(html: str) -> str:
    return found_in(r'name="csrf_token" value="([^"]+)"', html)


def title_of(html: str) -> str:
    return found_in(r"<title>([^<]*)</title>", html)


def error_of(html: str, form: str, field: str) -> str | None:
    """The error shown next to a field (by the id the field's aria-describedby names)."""
    m = re.search(rf'id="{form}-{field}-error">([^<]*)<', html)
    return m.group(1) if m else None


def page_sign_in(client: TestClient, name: str, password: str, next: str = "/") -> Response:
    """Sign in through the sign-in page, as a person does (the form's one-time token)."""
    token = login_token(client.get("/login").text)
    return client.post(
        "/login",
        data={"name": name, "password": password, "login_token": token, "next": next},
        follow_redirects=False,
    )


def signed_in_visitor(client: TestClient, name: str, password: str) -> Visitor:
    r = page_sign_in(client, name, password)
    assert r.status_code == 303, r.text
    return Visitor(client, csrf_of(client.get("/account").text))


def pages_app(h: FourCities, parts: Any, directory: Path, log: Any = None) -> FastAPI:
    """A city's app over the four-city database, with the chair terms of the sample alliance
    (临沂 first, from 13 May 2021), folded over all four logs."""
    app = create_app(directory, log) if log is not None else create_app(directory)
    h.projector.rebuild()  # create_app folded its own log only
    terms = [(c, date(2021 + i, 5, 13), date(2022 + i, 5, 12)) for i, c in enumerate(CITIES)]
    app.state.parts = dataclasses.replace(parts, alliance=governance_alliance(h, terms))
    return app
