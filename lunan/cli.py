"""The `lunan` command: one entry point for operators."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from lunan import demo as demo_nodes
from lunan import node
from lunan.alliance.cli import alliance_app
from lunan.auth.cli import token_app, user_app
from lunan.calendar.cli import calendar_app
from lunan.console import DirOption, err, fail, out
from lunan.coop.cli import tasks_app
from lunan.crypto import note
from lunan.exchange.cli import data_app, exchange_app
from lunan.federation.cli_alerts import alerts_app
from lunan.indicators.cli import indicators_app
from lunan.log import verify
from lunan.log.log import Log

app = typer.Typer(
    help="数字鲁南 Digital Lunan — a city node of an alliance's verifiable ledger.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
key_app = typer.Typer(help="The node's signing key.", no_args_is_help=True)
app.add_typer(key_app, name="key")
app.add_typer(alliance_app, name="alliance")
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
app.add_typer(tasks_app, name="tasks")
app.add_typer(indicators_app, name="indicators")
app.add_typer(data_app, name="data")
app.add_typer(exchange_app, name="exchange")
app.add_typer(alerts_app, name="alerts")
app.add_typer(calendar_app, name="calendar")


@app.command()
def init(
    directory: DirOption,
    alliance: Annotated[str, typer.Option(help="Alliance id, e.g. lunan.")],
    city: Annotated[str, typer.Option(help="GB/T 2260 city code, 6 digits, e.g. 371300.")],
    name: Annotated[str, typer.Option(help="City name, e.g. 临沂.")],
    url: Annotated[
        str, typer.Option(help="This node's URL as other members reach it.")
    ] = node.DEFAULT_URL,
    database: Annotated[
        str, typer.Option(help="SQLAlchemy URL; relative SQLite paths are inside --dir.")
    ] = node.DEFAULT_DATABASE,
    origin: Annotated[
        str | None, typer.Option(help="Log origin (default <alliance>/<city>).")
    ] = None,
) -> None:
    """Create a node directory: config, Ed25519 key (0600), migrated database."""
    config = node.NodeConfig(
        alliance=alliance,
        city=city,
        name=name,
        origin=origin or f"{alliance}/{city}",
        url=url,
        database=database,
    )
    try:
        node.init_node(directory, config).dispose()
    except (node.NodeError, ValueError) as e:
        fail(str(e), 2)
    out.print(f"已创建节点 created node {config.name} ({config.city}) in {directory}")
    out.print(f"日志 log origin: {config.origin}")


def _open(directory: Path) -> tuple[node.NodeConfig, Log]:
    try:
        config = node.load_config(directory)
        key = node.load_key(directory)
        engine = node.open_database(directory, config)
    except (node.NodeError, ValueError) as e:
        fail(str(e))
    return config, Log(engine, node.OWN_LOG_ID, node.signer(config, key))


@key_app.command("show")
def key_show(
    directory: DirOption,
    witness: Annotated[
        bool, typer.Option("--witness", help="The cosigning (witness) key, type 0x04.")
    ] = False,
) -> None:
    """Print the node's verifier key (C2SP vkey: name+keyid+base64(type‖public key))."""
    try:
        config = node.load_config(directory)
        if witness:
            print(node.witness_signer(config, node.load_witness_key(directory)).vkey())
        else:
            print(node.signer(config, node.load_key(directory)).vkey())
    except (node.NodeError, ValueError) as e:
        fail(str(e))


@app.command()
def serve(
    directory: DirOption,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[
        int | None, typer.Option(help="Port (default: the port of the node URL).")
    ] = None,
) -> None:
    """Serve the node: tlog-tiles under /log/v1/, the JSON API under /api/v1/."""
    import uvicorn

    from lunan.federation.runtime import ALLIANCE_FILE, Federation, request_signer
    from lunan.web.app import create_app

    config, log = _open(directory)
    federation = None
    if (directory / ALLIANCE_FILE).exists():
        try:
            federation = Federation.start(directory, config, log, request_signer(directory, config))
        except (node.NodeError, ValueError) as e:
            fail(f"{e} — the node does not start with this alliance file")
    app_ = create_app(directory, log, federation)
    out.print(
        f"{config.name} ({config.city}) 节点服务 serving on http://{host}:{port or config.port}"
    )
    uvicorn.run(app_, host=host, port=port or config.port, log_level="warning")


@app.command("verify")
def verify_cmd(
    directory: Annotated[
        Path | None, typer.Option("--dir", help="Audit the log in this node directory.")
    ] = None,
    url: Annotated[
        str | None, typer.Option(help="Audit the log a node serves at this URL.")
    ] = None,
    vkey: Annotated[
        str | None,
        typer.Option(help="The log's verifier key; needed with --url, optional with --dir."),
    ] = None,
    workers: Annotated[int | None, typer.Option(help="Processes (default: every core).")] = None,
) -> None:
    """Audit a whole log from scratch: leaves, tiles, root and every checkpoint."""
    if (directory is None) == (url is None):
        fail("give either --dir DIR or --url URL --vkey VKEY", 2)
    if url is not None and vkey is None:
        fail("--url needs --vkey, the log's verifier key (from `lunan key show`)", 2)
    try:
        verifier = note.parse_vkey(vkey) if vkey else None
    except note.NoteError as e:
        fail(f"--vkey: {e}", 2)
    source: verify.Source
    if url is not None:
        source = verify.HttpSource(url)
    else:
        assert directory is not None
        try:
            config = node.load_config(directory)
            if verifier is None:  # the node's own public key; an auditor may pass --vkey instead
                verifier = note.parse_vkey(node.signer(config, node.load_key(directory)).vkey())
            engine = node.open_database(directory, config, migrate=False)
        except (node.NodeError, ValueError) as e:
            fail(str(e))
        source = verify.DatabaseSource(engine.url.render_as_string(hide_password=False), 1)
        engine.dispose()
    assert verifier is not None
    with Progress(
        TextColumn("[bold]校验 verifying"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,} entries"),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    ) as bar:
        task = bar.add_task("verify", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        try:
            report = verify.verify_log(source, verifier, progress, workers)
        except verify.VerifyError as e:
            fail(f"{verifier.name}: {e}")
    tiles_note = ", tiles checked" if report.tiles_checked else ""
    out.print(
        f"OK {report.origin}: size {report.size}, root {report.root.hex()[:16]}…, "
        f"{report.checkpoints} signed checkpoint(s) consistent{tiles_note}",
        highlight=False,
        soft_wrap=True,
    )


@app.command()
def sync(directory: DirOption) -> None:
    """Catch up with every other member's log now, with progress (e.g. after downtime)."""
    from rich.progress import MofNCompleteColumn, TaskID

    from lunan.federation.follower import ForkDetected
    from lunan.federation.follower import Progress as FollowProgress
    from lunan.federation.peer import PeerError
    from lunan.federation.runtime import Federation, request_signer

    config, log = _open(directory)
    try:
        fed = Federation.start(directory, config, log, request_signer(directory, config))
    except (node.NodeError, ValueError) as e:
        fail(str(e))
    failed = []
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
    ) as bar:
        for state in fed.members:
            task = bar.add_task(f"{state.member.name} {state.member.city}", total=None)

            def show(p: FollowProgress, t: TaskID = task) -> None:
                bar.update(t, completed=p.replicated, total=p.target)

            try:
                state.follower.sync(show)
                size = state.follower.store.size()
                bar.update(task, completed=size, total=size)
            except (PeerError, ForkDetected) as e:
                failed.append(f"{state.member.label}: {e}")
            except Exception as e:  # e.g. a `lunan serve` writing the same copy meanwhile
                failed.append(f"{state.member.label}: {type(e).__name__}: {e}")
    fed.close()
    log.close()
    for state in fed.members:
        out.print(f"{state.member.label}: {state.follower.store.size()} entries stored")
    if failed:
        fail("; ".join(failed))


def _node_answers(config: node.NodeConfig) -> bool:
    import httpx

    try:
        return httpx.get(f"{config.url.rstrip('/')}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@app.command()
def rebuild(directory: DirOption) -> None:
    """Drop every projection and recompute it from the logs (stop `lunan serve` first)."""
    from lunan.services import open_node

    try:
        config = node.load_config(directory)
        if _node_answers(config):
            fail(f"the node answers at {config.url}: stop `lunan serve` first, then rebuild")
        parts = open_node(directory)
    except (node.NodeError, ValueError) as e:
        fail(str(e))
    with (
        parts,
        Progress(
            TextColumn("[bold]重建 rebuilding"),
            BarColumn(),
            TextColumn("{task.completed:,}/{task.total:,} events"),
            TimeRemainingColumn(),
            console=err,
            transient=True,
            disable=not err.is_terminal,
        ) as bar,
    ):
        task = bar.add_task("rebuild", total=None)
        done = parts.projector.rebuild(lambda n, total: bar.update(task, completed=n, total=total))
        state = parts.projector.state()
    positions = ", ".join(f"{c}:{n}" for c, n in sorted(state["positions"].items()))
    out.print(f"已重建 rebuilt from {done} events ({positions})", highlight=False)
    out.print(f"状态哈希 state hash: {state['hash']}", highlight=False, soft_wrap=True)


@app.command()
def state(
    directory: DirOption,
    as_hash: Annotated[
        bool, typer.Option("--hash", help="Print only the SHA-256 of the dump: the state hash.")
    ] = False,
) -> None:
    """Print the canonical dump of all projection tables (or its SHA-256, --hash)."""
    from lunan.services import open_node

    try:
        parts = open_node(directory)
    except (node.NodeError, ValueError) as e:
        fail(str(e))
    with parts:
        if not _node_answers(parts.config):  # a running node folds by itself
            parts.projector.catch_up()
        if as_hash:
            print(parts.projector.state_hash())
        else:
            sys.stdout.buffer.write(parts.projector.dump() + b"\n")


@app.command()
def status(
    directory: DirOption,
    as_json: Annotated[bool, typer.Option("--json", help="Print the status document.")] = False,
) -> None:
    """Show the running node's view of the alliance: each member's replicated and final size."""
    import json

    import httpx
    from rich.table import Table

    try:
        config = node.load_config(directory)
    except (node.NodeError, ValueError) as e:
        fail(str(e))
    url = f"{config.url.rstrip('/')}/api/v1/status"
    try:
        r = httpx.get(url, timeout=10)
    except httpx.HTTPError as e:
        fail(f"the node does not answer at {url} ({type(e).__name__}): start it with `lunan serve`")
    if r.status_code != 200:
        fail(f"{url} answered HTTP {r.status_code}: {r.text[:200]}")
    doc = r.json()
    if as_json:
        print(json.dumps(doc, ensure_ascii=False, indent=2))
        return
    own, alliance = doc["node"], doc["alliance"]
    table = Table(
        title=f"{alliance['name']} v{alliance['version']} · 法定人数 quorum {alliance['quorum']}"
    )
    for column in (
        "城市 city",
        "日志规模 size",
        "已复制 replicated",
        "已确认 final",
        "滞后 lag",
        "状态 state",
    ):
        table.add_column(column, justify="right" if "size" in column or "lag" in column else "left")
    table.add_row(
        f"{own['name']} {own['city']} (本节点)",
        str(own["size"]),
        "—",
        str(own["final_size"]),
        "—",
        own["submit_error"] or own.get("projection_error") or "OK",
    )
    for m in doc["members"]:
        state = "OK" if m["following"] and not m["last_error"] else (m["last_error"] or "stopped")
        table.add_row(
            f"{m['name']} {m['city']}",
            str(m["served_size"]),
            str(m["replicated_size"]),
            str(m["final_size"]),
            str(m["lag"]),
            state,
        )
    out.print(table)
    state = doc["state"]
    covers = ", ".join(f"{c}:{n}" for c, n in sorted(state["positions"].items()))
    out.print(f"状态哈希 state hash {state['hash']} ({covers})", highlight=False, soft_wrap=True)
    for origin, dep in state["waiting"].items():
        err.print(f"[yellow]等待 waiting[/] {origin}'s next event needs {dep}", highlight=False)
    for alert in doc["alerts"]:
        err.print(
            f"[bold red]告警 alert[/] {alert['origin']} {alert['kind']}: {alert['detail']}",
            highlight=False,
        )


def _print_accounts(nodes: list[demo_nodes.RunningNode]) -> None:
    from lunan.auth.roles import ROLE_LABELS, Role
    from lunan.sample.accounts import PASSWORD, account

    # Lines, not a table: they wrap instead of collapsing in a narrow terminal or a pipe.
    out.print(f"示例账号 demo accounts — 密码 password: {PASSWORD}", highlight=False)
    for role in Role:
        zh, en = ROLE_LABELS[role]
        names = ", ".join(account(n.city.code, role) for n in nodes)
        out.print(f"  {zh} {en}: {names}", highlight=False, soft_wrap=True)


@app.command()
def demo(
    directory: Annotated[Path, typer.Option("--dir", help="Where the demo nodes live.")] = Path(
        "demo-data"
    ),
    base_port: Annotated[int, typer.Option(help="Port of the first node; others follow.")] = 8701,
    check: Annotated[
        bool, typer.Option("--check", help="Verify every node over HTTP, stop, exit.")
    ] = False,
) -> None:
    """Run the 鲁南经济圈 demo nodes on 127.0.0.1 until Ctrl-C."""
    import subprocess
    import time

    from rich.table import Table

    from lunan import demo as d

    try:
        directory.mkdir(parents=True, exist_ok=True)
        prepared = d.prepare(directory, d.CITIES, base_port)
        alliance = d.write_alliance(prepared)
        nodes = d.start(prepared, directory)
    except (d.DemoError, node.NodeError, ValueError) as e:
        fail(str(e))
    try:
        d.wait_healthy(nodes)
        d.write_manifest(directory, nodes)
        with err.status("等待复制与见证 waiting until every log is replicated and final…"):
            d.wait_final(nodes)
        with err.status("写入示例数据 writing the sample data through each city's API…"):
            seeded = d.seed(directory, nodes)
        with err.status("等待各节点一致 waiting until every node holds the same state…"):
            d.wait_settled(nodes)
            statuses = d.wait_final(nodes)
        if seeded:
            out.print(f"示例数据 sample data written: {', '.join(seeded)}")
        table = Table(title="鲁南经济圈 demo nodes")
        table.add_column("城市 city", no_wrap=True)
        table.add_column("URL", no_wrap=True)
        table.add_column("日志规模 log size", justify="right")
        table.add_column("已确认 final size", justify="right")
        table.add_column("状态哈希 state hash", no_wrap=True)
        # Audit each node against the key the alliance file lists, not one it reports itself.
        vkeys = {m.url: m.log_key for m in alliance.members}
        hashes = set()
        for n, status in zip(nodes, statuses, strict=True):
            own, state = status["node"], status["state"]
            assert isinstance(own, dict) and isinstance(state, dict)
            hashes.add(state["hash"])
            table.add_row(
                f"{n.city.name} {n.city.code}",
                n.url,
                str(own["size"]),
                str(own["final_size"]),
                f"{state['hash'][:16]}…",
            )
        out.print(table)
        if len(hashes) != 1:
            fail("the nodes hold different alliance states; see /api/v1/status on each")
        if check:
            # The four audits run at once, as four users would; their reports print in order.
            audit_of = [sys.executable, "-m", "lunan", "verify", "--url"]
            audits = [
                subprocess.Popen(
                    [*audit_of, n.url, "--vkey", vkeys[n.url]],
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
                for n in nodes
            ]
            for n, audit in zip(nodes, audits, strict=True):
                report, problem = audit.communicate()
                sys.stdout.write(report)
                sys.stderr.write(problem)
                if audit.returncode != 0:
                    fail(f"{n.city.name} node at {n.url} does not verify")
            out.print(
                "demo check passed: every node serves a log that verifies, "
                "and all four hold the same state"
            )
            return
        me = sys.argv[0] if sys.argv[0].endswith("lunan") else "python -m lunan"
        first = nodes[0]
        out.print("网页 pages — 在浏览器中打开 open in a browser:", highlight=False)
        for n in nodes:
            out.print(f"  {n.city.name} {n.url}/", highlight=False)
        _print_accounts(nodes)
        for line in (
            "试试 try:",
            f"  curl {first.url}/log/v1/checkpoint",
            f"  curl '{first.url}/api/v1/log/proof/inclusion?index=0'",
            f"  {me} verify --url {first.url} --vkey {vkeys[first.url]}",
            f"  {me} status --dir {first.directory}",
            f"节点清单 nodes: {directory / 'demo.json'} — Ctrl-C 停止 stops them",
        ):
            out.print(line, soft_wrap=True, highlight=False)
        while all(n.process.poll() is None for n in nodes):
            time.sleep(0.5)
        fail("a demo node stopped unexpectedly; see the .log files in " + str(directory))
    except d.DemoError as e:
        fail(str(e))
    except KeyboardInterrupt:
        out.print("正在停止 stopping…")
    finally:
        d.stop(nodes)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
