"""Alerts have a lifecycle: a fork alert stops following until an operator resolves it with a
note, and resuming is safe by construction — a member that still serves a forked log raises a
new alert, one restored to the history held here is followed again. The evidence is never lost.
`lunan alerts …` lists, shows and resolves; the 0005 migration adds the columns."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import typer
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from factories import ServedLog, entries, error_line, make_node, rewritten_log
from sqlalchemy import Engine, inspect, select
from typer.testing import CliRunner, Result

from lunan import demo, node
from lunan.events.errors import Invalid
from lunan.federation import alerts, runtime
from lunan.federation.cli_alerts import alerts_app
from lunan.federation.follower import FORK, Follower, ForkDetected, raise_alert
from lunan.log import Log, open_log
from lunan.log import checkpoint as cp
from lunan.storage import db
from lunan.storage.schema import alerts as alerts_table
from lunan.storage.schema import logs, metadata

MEMBER = "lunan/371300"


@dataclass
class Following:
    """枣庄's node following 临沂's log, served over its real log routes."""

    follower: Follower
    member: Log
    served: ServedLog
    base: Path
    opened: list[Log]

    @property
    def engine(self) -> Engine:
        return self.follower.engine

    def fork(self) -> Log:
        """临沂's key signs another history, and that is what its node serves from now on."""
        forked = rewritten_log(self.base / "forked", self.member, entries(100, 20))
        self.opened.append(forked)
        self.served.serve(forked)
        return forked


@pytest.fixture
def following(tmp_path: Path, database_url: str) -> Iterator[Following]:
    member = open_log(make_node(tmp_path / "member"))
    here = make_node(
        tmp_path / "here", database_url, city="370400", name="枣庄", origin="lunan/370400"
    )
    engine = node.open_database(here, node.load_config(here))
    with engine.begin() as conn:
        conn.execute(logs.insert().values(id=2, origin=MEMBER, vkey=member.signer.vkey()))
    served = ServedLog(member)
    f = Following(Follower(engine, 2, member.verifier(), served.peer), member, served, tmp_path, [])
    try:
        yield f
    finally:
        served.close()
        for log in [member, *f.opened]:
            log.close()
            log.engine.dispose()
        engine.dispose()


def forked_and_stopped(f: Following) -> alerts.Alert:
    f.member.append(entries(0, 10))
    assert f.follower.sync() == 11
    f.fork()
    with pytest.raises(ForkDetected):
        f.follower.sync()
    [alert] = alerts.list_alerts(f.engine)
    assert alert.kind == FORK and alert.origin == MEMBER and alert.stops_following
    assert f.follower.stopped and f.follower.sync() == 0
    return alert


def test_resolving_while_the_member_still_serves_the_forked_log_raises_a_new_alert(
    following: Following,
) -> None:
    f = following
    first = forked_and_stopped(f)
    resolved = alerts.resolve(f.engine, first.id, "核实中，先恢复跟随", "ops.wang", "cli")
    assert not resolved.open and resolved.resolved_by == "ops.wang"
    assert resolved.resolved_at is not None and resolved.resolved_at.endswith("+08:00")
    assert not f.follower.stopped  # following resumes …

    with pytest.raises(ForkDetected):
        f.follower.sync()  # … and the same conflict is found again

    assert f.follower.stopped
    history = alerts.list_alerts(f.engine, alerts.ALL)
    assert [a.id for a in history] == [first.id, history[1].id] and history[1].id > first.id
    assert history[0] == resolved  # the resolved one stays as it was, evidence and note
    assert history[0].evidence == first.evidence and len(first.evidence) == 2
    assert history[1].open and history[1].kind == FORK
    assert [a.id for a in alerts.list_alerts(f.engine)] == [history[1].id]
    assert f.follower.store.size() == 11  # nothing of the forked log was stored


def test_resolving_after_the_member_restored_its_history_resumes_following(
    following: Following,
) -> None:
    f = following
    alert = forked_and_stopped(f)
    f.served.serve(f.member)  # the member restores the history the alliance holds …
    f.member.append(entries(10, 5))  # … and goes on from there
    assert f.follower.sync() == 0  # still stopped: nobody has looked yet

    alerts.resolve(f.engine, alert.id, "枣庄已从正确的备份恢复，日志与本地副本一致", "ops", "cli")

    assert f.follower.sync() == 5
    assert f.follower.store.root(16) == f.member.store.root(16)
    assert alerts.list_alerts(f.engine) == []
    [kept] = alerts.list_alerts(f.engine, alerts.ALL)
    assert kept.id == alert.id and kept.evidence == alert.evidence and not kept.open


def test_the_evidence_is_two_checkpoints_signed_with_the_member_key_that_contradict(
    following: Following,
) -> None:
    alert = forked_and_stopped(following)
    held, signed = alerts.open_evidence(alert, following.member.verifier())
    assert held.problem is None and signed.problem is None  # both signed by the member …
    assert (held.size, signed.size) == (11, 21)  # … and 21 does not extend the 11 held here
    with open_log(make_node(following.base / "stranger")) as stranger:  # its origin, not its key
        assert all(e.problem for e in alerts.open_evidence(alert, stranger.verifier()))
    assert all(e.problem for e in alerts.open_evidence(alert, None))


def _row(engine: Engine, alert_id: int) -> Any:
    with engine.connect() as conn:
        return conn.execute(select(alerts_table).where(alerts_table.c.id == alert_id)).one()


def test_a_refused_resolution_changes_nothing(following: Following) -> None:
    f = following
    alert = forked_and_stopped(f)
    before = _row(f.engine, alert.id)
    for note in ("", "   \n "):
        with pytest.raises(Invalid) as refused:
            alerts.resolve(f.engine, alert.id, note, "ops", "cli")
        assert refused.value.status == 422 and refused.value.field == "note"
    with pytest.raises(Invalid):
        alerts.resolve(f.engine, alert.id, "长" * (alerts.MAX_NOTE + 1), "ops", "cli")
    for unknown_id in (alert.id + 1, 0, -1, 2**70):
        with pytest.raises(alerts.UnknownAlert) as missing:
            alerts.resolve(f.engine, unknown_id, "说明", "ops", "cli")
        assert missing.value.status == 404 and missing.value.slug == "no-such-alert"
    assert _row(f.engine, alert.id) == before and f.follower.stopped

    alerts.resolve(f.engine, alert.id, "第一次处理", "ops.li", "web")
    after = _row(f.engine, alert.id)
    with pytest.raises(alerts.AlreadyResolved) as twice:
        alerts.resolve(f.engine, alert.id, "第二次处理", "ops.wang", "cli")
    assert twice.value.status == 409 and "ops.li" in twice.value.message
    assert _row(f.engine, alert.id) == after
    assert after.resolution_note == "第一次处理" and after.resolved_via == "web"


def test_the_status_lists_only_open_alerts_with_their_id(following: Following) -> None:
    f = following
    alert = forked_and_stopped(f)
    raise_alert(f.engine, "-", "refused-request", "/witness/v1/add-checkpoint: replayed", [])
    assert [(a["id"], a["kind"]) for a in runtime.list_alerts(f.engine)] == [
        (alert.id, FORK),
        (alert.id + 1, "refused-request"),
    ]
    assert runtime.list_alerts(f.engine)[0]["stopped_following"] is True
    alerts.resolve(f.engine, alert.id, "已核实", "ops", "cli")
    assert [a["kind"] for a in runtime.list_alerts(f.engine)] == ["refused-request"]


def test_another_kind_of_alert_resolved_is_raised_again_when_it_recurs(
    following: Following,
) -> None:
    """`witness-ahead` is raised once while one is open (lunan.federation.submitter)."""
    from lunan.federation.follower import open_alert

    engine = following.engine
    raise_alert(engine, "lunan/370400", "witness-ahead", "witness cosigned 9, above our 5", [])
    assert open_alert(engine, "lunan/370400", "witness-ahead")
    [alert] = alerts.list_alerts(engine)
    alerts.resolve(engine, alert.id, "从备份恢复后已与秘书处核对", "ops", "cli")
    assert not open_alert(engine, "lunan/370400", "witness-ahead")


# --- the migration ------------------------------------------------------------------------------

COLUMNS = {"resolved_at", "resolved_by", "resolved_via", "resolution_note"}


@pytest.fixture
def engine(tmp_path: Path, database_url: str) -> Iterator[Engine]:
    directory = make_node(tmp_path / "node", database_url)
    engine = node.open_database(directory, node.load_config(directory))
    yield engine
    engine.dispose()


def test_the_migrated_alerts_table_matches_the_schema(engine: Engine) -> None:
    def ours(name: str | None, type_: str, _parent: Any) -> bool:
        return type_ != "table" or name == "alerts"

    def our_objects(obj: Any, name: str | None, type_: str, *_: Any) -> bool:
        table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", None)
        return table == "alerts"

    with engine.connect() as conn:
        options = {"include_name": ours, "include_object": our_objects, "compare_type": True}
        context = MigrationContext.configure(conn, opts=options)
        assert compare_metadata(context, metadata) == []


def test_the_migration_keeps_every_alert_open_and_can_be_undone(engine: Engine) -> None:
    config = Config()
    config.set_main_option("script_location", str(db.MIGRATIONS))
    raise_alert(engine, MEMBER, FORK, "before the upgrade", ["a", "b"])
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0004_exchange")
    assert not COLUMNS & {c["name"] for c in inspect(engine).get_columns("alerts")}
    db.migrate(engine)
    assert db.is_current(engine)
    [alert] = alerts.list_alerts(engine)
    assert alert.detail == "before the upgrade" and alert.evidence == ["a", "b"] and alert.open


# --- `lunan alerts` ---------------------------------------------------------------------------

lunan = typer.Typer()
lunan.add_typer(alerts_app, name="alerts")


def run(*args: str | Path) -> Result:
    # Wide enough that Rich does not cut the tables short.
    return CliRunner(env={"COLUMNS": "200"}).invoke(lunan, [str(a) for a in args])


@dataclass
class Alliance:
    """临沂's node of a four-city alliance, holding fork evidence against 枣庄."""

    linyi: Path
    engine: Engine
    fork_id: int
    evidence: list[str]


@pytest.fixture
def alliance(tmp_path: Path) -> Iterator[Alliance]:
    prepared = demo.prepare(tmp_path, demo.CITIES, 18701)
    demo.write_alliance(prepared)
    linyi, zaozhuang = prepared[0][1], prepared[1][1]
    config = node.load_config(zaozhuang)
    key = node.signer(config, node.load_key(zaozhuang))
    evidence = [
        cp.sign(cp.Checkpoint(config.origin, 3, bytes([n]) * 32), key) for n in (1, 2)
    ]  # two roots for one size, both signed by 枣庄
    engine = node.open_database(linyi, node.load_config(linyi))
    raise_alert(engine, config.origin, FORK, "checkpoint 3 differs", evidence)
    raise_alert(engine, "-", "refused-request", "/witness/v1/add-checkpoint: replayed", [])
    [fork, _] = alerts.list_alerts(engine)
    yield Alliance(linyi, engine, fork.id, evidence)
    engine.dispose()


def test_list_shows_the_open_alerts_with_the_member_named(alliance: Alliance) -> None:
    result = run("alerts", "list", "--dir", alliance.linyi)
    assert result.exit_code == 0, result.output
    assert "未处理的告警 open alerts" in result.stdout
    assert "枣庄 370400" in result.stdout and "lunan/370400" in result.stdout
    assert "checkpoint 3 differs" in result.stdout and "refused-request" in result.stdout
    assert "未处理 open" in result.stdout


def test_list_json_has_the_evidence_and_all_adds_the_resolved(
    alliance: Alliance, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("getpass.getuser", lambda: "ops-wang")
    r = run("alerts", "resolve", "--dir", alliance.linyi, str(alliance.fork_id), "--note", "已通报")
    assert r.exit_code == 0, r.output
    assert r.stdout.startswith(f"已处理 resolved alert {alliance.fork_id} (fork, 枣庄 370400)")

    shown = json.loads(run("alerts", "list", "--dir", alliance.linyi, "--json").stdout)
    assert [a["kind"] for a in shown] == ["refused-request"]
    every = json.loads(run("alerts", "list", "--dir", alliance.linyi, "--all", "--json").stdout)
    fork = every[0]
    assert fork["evidence"] == alliance.evidence and fork["state"] == "resolved"
    assert (fork["resolved_by"], fork["resolved_via"], fork["note"]) == (
        "ops-wang",
        "cli",
        "已通报",
    )
    assert fork["city"] == "370400" and fork["name"] == "枣庄"
    table = run("alerts", "list", "--dir", alliance.linyi, "--all").stdout
    assert "ops-wang (cli)" in table and "已通报" in table


def test_show_checks_each_piece_of_evidence_with_the_member_key(alliance: Alliance) -> None:
    result = run("alerts", "show", "--dir", alliance.linyi, str(alliance.fork_id))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"告警 alert {alliance.fork_id}: fork · 枣庄 370400 (lunan/370400)"
    checked = [line for line in lines if line.startswith("证据 evidence")]
    assert len(checked) == 2 and all("签名有效 signature OK · 规模 size 3" in c for c in checked)
    assert checked[0] != checked[1]  # two roots
    assert alliance.evidence[0].splitlines()[-1] in lines


def test_resolve_refuses_in_one_line_and_changes_nothing(alliance: Alliance) -> None:
    before = _row(alliance.engine, alliance.fork_id)
    d = alliance.linyi
    assert "no alert with id 99" in error_line(
        run("alerts", "resolve", "--dir", d, "99", "--note", "x"), 1
    )
    assert "note is required" in error_line(run("alerts", "resolve", "--dir", d, "1"), 2)
    assert "note is required" in error_line(
        run("alerts", "resolve", "--dir", d, str(alliance.fork_id), "--note", "  "), 2
    )
    assert "no alert with id 99" in error_line(run("alerts", "show", "--dir", d, "99"), 1)
    assert _row(alliance.engine, alliance.fork_id) == before
    run("alerts", "resolve", "--dir", d, str(alliance.fork_id), "--note", "已处理")
    again = run("alerts", "resolve", "--dir", d, str(alliance.fork_id), "--note", "再次")
    assert "already resolved" in error_line(again, 1)
    assert _row(alliance.engine, alliance.fork_id).resolution_note == "已处理"


def test_a_directory_without_a_node_is_one_line(tmp_path: Path) -> None:
    assert "no node in" in error_line(run("alerts", "list", "--dir", tmp_path), 1)
