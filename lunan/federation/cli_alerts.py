"""`lunan alerts …`: look at the node's alerts, inspect their evidence, resolve them.

Mounted in lunan/cli.py with ``app.add_typer(alerts_app, name="alerts")``. Run on the node's
machine as its operator, while `lunan serve` runs or not: resolving a fork alert lets the
running follower try that member again in its next round (lunan.federation.alerts). The OS user
running the command is recorded as who resolved it. Errors print one line ``错误 error: …`` to
standard error; exit status 1 for an unknown or already resolved alert or a node that cannot be
opened, 2 for bad input (an empty note).
"""

from __future__ import annotations

import getpass
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table
from sqlalchemy import Engine

from lunan import node
from lunan.alliance.config import Alliance
from lunan.console import fail, node_database, out, say
from lunan.crypto import note
from lunan.events.errors import ActionError, Invalid
from lunan.federation import alerts
from lunan.federation.follower import FORK

alerts_app = typer.Typer(
    help="告警 Alerts: list them, inspect their evidence, resolve them with a note.",
    no_args_is_help=True,
)

DirOption = Annotated[Path, typer.Option("--dir", help="The node directory.")]
IdArgument = Annotated[
    int, typer.Argument(metavar="ID", help="The alert's id, as `lunan alerts list` shows.")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def _alliance(directory: Path, config: node.NodeConfig) -> Alliance | None:
    """The node's alliance file if it verifies, to name the members; alerts are shown (with
    their origins only) even when it does not."""
    from lunan.federation.runtime import ALLIANCE_FILE, load_alliance

    if not (directory / ALLIANCE_FILE).exists():
        return None
    try:
        vkey = node.signer(config, node.load_key(directory)).vkey()
        return load_alliance(directory, config, vkey)
    except (ValueError, OSError):
        return None


@contextmanager
def _node(directory: Path) -> Iterator[tuple[Engine, Alliance | None]]:
    """The node's database and alliance; a refused action becomes the one-line failure."""
    with node_database(directory) as (config, engine):
        try:
            yield engine, _alliance(directory, config)
        except ActionError as e:
            fail(e.message, 2 if isinstance(e, Invalid) else 1)


def os_user() -> str:
    """Who runs this command, as the operating system knows them."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name and no passwd entry (a bare container)
        return f"uid {os.getuid()}"


def _resolution(a: alerts.Alert) -> str:
    if a.open:
        return "未处理 open"
    return f"{a.resolved_by} ({a.resolved_via}) {a.resolved_at}\n{a.note}"


@alerts_app.command("list")
def list_(
    directory: DirOption,
    every: Annotated[
        bool, typer.Option("--all", help="Resolved alerts too, not only open ones.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """List the open alerts (with --all, resolved ones too), oldest first."""
    with _node(directory) as (engine, alliance):
        found = alerts.list_alerts(
            engine, alerts.ALL if every else alerts.OPEN, alerts.members_of(alliance)
        )
    if as_json:
        typer.echo(json.dumps([a.to_json() for a in found], ensure_ascii=False, indent=2))
        return
    if not found:
        say("没有告警 no alerts" if every else "没有未处理的告警 no open alerts")
        return
    title = "告警 alerts" if every else "未处理的告警 open alerts"
    table = Table(title=title, title_justify="left", highlight=False)
    table.add_column("id", justify="right", no_wrap=True)
    table.add_column("成员 member", overflow="fold")
    table.add_column("种类 kind", no_wrap=True)
    table.add_column("说明 detail", overflow="fold")
    table.add_column("发现 raised", overflow="fold")
    table.add_column("处理 resolved", overflow="fold")
    for a in found:
        table.add_row(
            str(a.id),
            escape(a.member if a.member == a.origin else f"{a.member}\n{a.origin}"),
            a.kind,
            escape(a.detail),
            a.created_at,
            escape(_resolution(a)),
        )
    out.print(table)


def _verifiers(alliance: Alliance | None) -> dict[str, note.Verifier]:
    if alliance is None:
        return {}
    return {m.log_verifier().name: m.log_verifier() for m in alliance.members}


@alerts_app.command()
def show(directory: DirOption, alert_id: IdArgument) -> None:
    """Show one alert with its evidence, each signed checkpoint checked with the log's key."""
    with _node(directory) as (engine, alliance):
        found = alerts.get_alert(engine, alert_id, alerts.members_of(alliance))
        if found is None:
            raise alerts.unknown(alert_id)
    say(f"告警 alert {found.id}: {found.kind} · {found.member} ({found.origin})")
    say(f"说明 detail: {found.detail}")
    say(f"发现 raised: {found.created_at}")
    if found.open:
        say(
            "状态 state: 未处理 open"
            + (" — 已停止跟随 not following" if found.stops_following else "")
        )
    else:
        say(
            f"状态 state: 已处理 resolved {found.resolved_at} by {found.resolved_by} "
            f"({found.resolved_via})"
        )
        say(f"处理说明 note: {found.note}")
    checked = alerts.open_evidence(found, _verifiers(alliance).get(found.origin))
    if not checked:
        say("证据 evidence: —")
    for i, e in enumerate(checked, start=1):
        if e.problem is None:
            say(f"证据 evidence {i}: 签名有效 signature OK · 规模 size {e.size} · 根 root {e.root}")
        else:
            say(f"证据 evidence {i}: 未能验证 not verified: {e.problem}")
        say(e.note.rstrip("\n"))


@alerts_app.command()
def resolve(
    directory: DirOption,
    alert_id: IdArgument,
    note_: Annotated[
        str,
        typer.Option(
            "--note",
            help="Required: what was found and what was decided (recorded with your OS user).",
        ),
    ] = "",
) -> None:
    """Resolve an alert with a note; a resolved fork alert lets following resume."""
    if not note_.strip():
        fail(
            "处理说明不能为空 --note is required: say what was found and what was decided, "
            'e.g. --note "枣庄已从正确的备份恢复，已通报秘书处"',
            2,
        )
    with _node(directory) as (engine, alliance):
        done = alerts.resolve(
            engine, alert_id, note_, os_user(), "cli", alerts.members_of(alliance)
        )
    say(f"已处理 resolved alert {done.id} ({done.kind}, {done.member}) as {done.resolved_by}")
    if done.kind == FORK:
        say(
            "该成员将在下一轮重新跟随；若其日志仍与本地副本矛盾，会产生新的告警 "
            "the node follows the member again in its next round; a log that still conflicts "
            "with the copy here raises a new alert"
        )
