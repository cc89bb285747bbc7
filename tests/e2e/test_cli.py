"""The `lunan` command as a user runs it: real processes, real HTTP."""

from __future__ import annotations

import socket
import stat
import subprocess
import sys
from pathlib import Path
from subprocess import PIPE

import pytest
from factories import filled_log, free_port, free_ports, lunan_command, make_node, serving

from lunan import demo
from lunan.crypto import note


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(lunan_command(*args), capture_output=True, text=True, timeout=120)


def run_at_once(*commands: list[str]) -> list[str]:
    """Several `lunan` commands run side by side (each starts Python: the waits overlap);
    the stdout of each, in order, once all succeeded."""
    procs = [
        subprocess.Popen(lunan_command(*c), stdout=PIPE, stderr=PIPE, text=True) for c in commands
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    for c, p, (_, err) in zip(commands, procs, outputs, strict=True):
        assert p.returncode == 0, (c, err)
    return [out for out, _ in outputs]


def init_args(directory: Path, city: str = "371300") -> list[str]:
    return [
        "init",
        "--dir",
        str(directory),
        "--alliance",
        "lunan",
        "--city",
        city,
        "--name",
        "临沂",
    ]


def test_init_creates_config_private_key_and_database(tmp_path: Path) -> None:
    node_dir = tmp_path / "linyi"
    result = run(*init_args(node_dir))
    assert result.returncode == 0, result.stderr
    assert {p.name for p in node_dir.iterdir()} >= {"node.toml", "node.key", "node.db"}
    assert stat.S_IMODE((node_dir / "node.key").stat().st_mode) == 0o600
    key_pem = (node_dir / "node.key").read_text()
    assert "PRIVATE KEY" in key_pem
    shown = run("key", "show", "--dir", str(node_dir))
    assert shown.returncode == 0
    vkey = shown.stdout.strip()
    assert vkey.startswith("lunan/371300+")
    assert note.parse_vkey(vkey).key_type == note.ED25519
    for output in (result.stdout, result.stderr, shown.stdout, shown.stderr):
        assert "PRIVATE" not in output and key_pem.splitlines()[1] not in output


def test_init_refuses_to_overwrite_a_node(tmp_path: Path) -> None:
    assert run(*init_args(tmp_path)).returncode == 0
    before = (tmp_path / "node.key").read_bytes()
    again = run(*init_args(tmp_path))
    assert again.returncode != 0
    assert again.stderr.count("\n") == 1 and "already holds a node" in again.stderr
    assert (tmp_path / "node.key").read_bytes() == before


def test_init_rejects_a_city_code_that_is_not_six_digits(tmp_path: Path) -> None:
    for city in ("37130", "3713000", "37130A"):
        result = run(*init_args(tmp_path / city, city))
        assert result.returncode != 0
        assert result.stderr.count("\n") == 1 and "6 digits" in result.stderr
        assert not (tmp_path / city).exists()


def test_commands_on_a_missing_node_say_how_to_create_one(tmp_path: Path) -> None:
    for args in (["key", "show"], ["verify"], ["serve"]):
        result = run(*args, "--dir", str(tmp_path / "none"))
        assert result.returncode != 0
        assert "lunan init" in result.stderr and result.stderr.count("\n") == 1


def test_verify_over_http_audits_the_served_log(tmp_path: Path) -> None:
    with filled_log(tmp_path, 700) as log:
        vkey = log.signer.vkey()
    with serving(tmp_path, free_port()) as url:
        ok = run("verify", "--url", url, "--vkey", vkey)
        assert ok.returncode == 0, ok.stderr
        assert ok.stdout.startswith("OK lunan/371300: size 701,")
        other = note.Signer("lunan/371300", note.parse_go_private_key(GO_KEY).private_key)
        wrong = run("verify", "--url", url, "--vkey", other.vkey())
        assert wrong.returncode != 0 and "signature" in wrong.stderr


GO_KEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"


def test_verify_needs_a_source_and_a_key(tmp_path: Path) -> None:
    assert run("verify").returncode == 2
    missing_key = run("verify", "--url", "http://127.0.0.1:1")
    assert missing_key.returncode == 2 and "--vkey" in missing_key.stderr
    bad_key = run("verify", "--url", "http://127.0.0.1:1", "--vkey", "nonsense")
    assert bad_key.returncode == 2 and bad_key.stderr.count("\n") == 1


def test_the_demo_check_serves_and_verifies_the_demo_node(tmp_path: Path) -> None:
    port = free_ports(len(demo.CITIES))
    result = run("demo", "--dir", str(tmp_path), "--base-port", str(port), "--check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "demo check passed" in result.stdout and "same state" in result.stdout
    assert f"127.0.0.1:{port}" in (tmp_path / "demo.json").read_text()
    # The four nodes, stopped, hold the same alliance state, and rebuilding changes no byte.
    cities = ["371300", "370400", "370800", "371700"]
    dumps = run_at_once(*(["state", "--dir", str(tmp_path / city)] for city in cities))
    assert len(set(dumps)) == 1 and '"p_events"' in dumps[0]
    rebuilt = run("rebuild", "--dir", str(tmp_path / "370800"))
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert run("state", "--dir", str(tmp_path / "370800")).stdout == dumps[0]
    # A second run reuses the same nodes and writes no sample data twice.
    again = run("demo", "--dir", str(tmp_path), "--base-port", str(port), "--check")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "sample data written" not in again.stdout
    assert run("state", "--dir", str(tmp_path / "371300")).stdout == dumps[0]


def test_the_demo_names_an_occupied_port(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        result = run("demo", "--dir", str(tmp_path), "--base-port", str(port), "--check")
    assert result.returncode != 0
    assert f"port {port}" in result.stderr and "--base-port" in result.stderr


def test_demo_ports_are_free_and_below_the_ports_outgoing_connections_take() -> None:
    port = demo.free_base_port(4)
    assert all(demo.port_free(port + i) for i in range(4))
    assert port >= 10000 and port + 3 < demo.listening_ports().stop
    with socket.socket() as outgoing:  # the kernel picks an outgoing connection's port…
        outgoing.bind(("127.0.0.1", 0))
        assert outgoing.getsockname()[1] not in demo.listening_ports()  # …never one of ours


def test_a_node_that_exits_at_start_is_reported_with_its_last_words(tmp_path: Path) -> None:
    city = demo.CITIES[1]
    (tmp_path / f"{city.code}.log").write_text(
        "INFO: Started server process\nERROR: [Errno 98] address already in use\n"
    )
    exited = subprocess.Popen([sys.executable, "-c", "pass"])
    exited.wait()
    running = demo.RunningNode(city, "http://127.0.0.1:9", tmp_path / city.code, exited)
    with pytest.raises(demo.DemoError) as e:
        demo.wait_healthy([running])
    assert str(e.value).startswith("枣庄 node exited: ERROR: [Errno 98] address already in use")
    assert str(tmp_path / f"{city.code}.log") in str(e.value)


def test_a_node_on_postgresql_is_created_and_verified(tmp_path: Path, database_url: str) -> None:
    make_node(tmp_path, database_url)
    result = run("verify", "--dir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "size 1," in result.stdout


def test_a_failed_init_leaves_nothing_behind_so_it_can_be_rerun(tmp_path: Path) -> None:
    unreachable = "postgresql+psycopg://postgres@127.0.0.1:1/none"
    result = run(*init_args(tmp_path), "--database", unreachable)
    assert result.returncode != 0
    assert result.stderr.count("\n") == 1 and "cannot use database" in result.stderr
    assert list(tmp_path.iterdir()) == []
    assert run(*init_args(tmp_path)).returncode == 0


def test_a_node_whose_config_names_another_log_refuses_to_open(tmp_path: Path) -> None:
    make_node(tmp_path)
    config = tmp_path / "node.toml"
    config.write_text(config.read_text().replace('"lunan/371300"', '"lunan/370400"'))
    result = run("key", "show", "--dir", str(tmp_path))
    assert result.returncode == 0  # the key itself is fine
    served = run("verify", "--dir", str(tmp_path))
    assert served.returncode != 0 and "holds the log of 'lunan/371300'" in served.stderr
