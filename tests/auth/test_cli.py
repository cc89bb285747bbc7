"""`lunan user …` and `lunan token …` on a real node directory (the Typer apps in-process,
mounted as lunan/cli.py mounts them), on every database backend."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from factories import error_line
from sqlalchemy import Engine
from typer.testing import CliRunner, Result

from lunan.auth import tokens, users
from lunan.auth.cli import token_app, user_app

lunan = typer.Typer()
lunan.add_typer(user_app, name="user")
lunan.add_typer(token_app, name="token")


def run(*args: str | Path, stdin: str | None = None) -> Result:
    # Wide enough that Rich does not cut the tables short.
    return CliRunner(env={"COLUMNS": "120"}).invoke(lunan, [str(a) for a in args], input=stdin)


def shown_password(result: Result) -> str:
    assert result.exit_code == 0, result.output
    [line] = [line for line in result.stdout.splitlines() if "(shown once)" in line]
    return line.rsplit(": ", 1)[1]


def test_add_prints_a_generated_password_once_and_it_signs_in(
    node_dir: Path, engine: Engine
) -> None:
    result = run(
        "user",
        "add",
        "--dir",
        node_dir,
        "--name",
        "wang.fang",
        "--role",
        "officer",
        "--display-name",
        "王芳",
    )
    password = shown_password(result)
    assert result.stdout.startswith(
        "已创建用户 created user wang.fang (部门业务员 Department officer) of 371300\n"
    )
    assert result.stdout.count(password) == 1
    user = users.authenticate(engine, "wang.fang", password)
    assert user is not None and user.display_name == "王芳"


def test_add_reads_a_chosen_password_from_stdin_and_does_not_echo_it(
    node_dir: Path, engine: Engine
) -> None:
    result = run(
        "user",
        "add",
        "--dir",
        node_dir,
        "--name",
        "li.lei",
        "--role",
        "admin",
        "--password-stdin",
        stdin="chosen-password\n",
    )
    assert result.exit_code == 0, result.output
    assert "chosen-password" not in result.output and "shown once" not in result.output
    assert users.authenticate(engine, "li.lei", "chosen-password") is not None


@pytest.mark.parametrize(
    ("args", "stdin", "code", "message"),
    [
        (["--role", "boss"], None, 2, "unknown role 'boss': choose one of admin, coordinator, "),
        (["--role", "viewer", "--password-stdin"], "short\n", 2, "fewer than 8"),
        (["--role", "viewer", "--password-stdin"], "\n", 2, "no password"),
        (["--role", "viewer", "--name", "Wang"], None, 2, "lower-case"),
        (["--role", "viewer", "--name", "wang.fang"], None, 1, "'wang.fang' already exists"),
    ],
)
def test_add_refuses_bad_input_in_one_line(
    node_dir: Path, args: list[str], stdin: str | None, code: int, message: str
) -> None:
    added = run("user", "add", "--dir", node_dir, "--name", "wang.fang", "--role", "viewer")
    assert added.exit_code == 0
    result = run("user", "add", "--dir", node_dir, "--name", "wang.fang", *args, stdin=stdin)
    assert message in error_line(result, code)


def test_every_command_says_when_the_directory_holds_no_node(tmp_path: Path) -> None:
    for args in (
        ["user", "add", "--name", "wang.fang", "--role", "viewer"],
        ["user", "list"],
        ["user", "disable", "--name", "wang.fang"],
        ["user", "reset-password", "--name", "wang.fang"],
        ["token", "create", "--user", "wang.fang"],
        ["token", "list", "--user", "wang.fang"],
        ["token", "revoke", "--id", "1"],
    ):
        result = run(*args, "--dir", tmp_path / "none")
        assert "no node in" in error_line(result, 1), args


def test_list_shows_every_user_as_a_table_or_as_json(node_dir: Path) -> None:
    run("user", "add", "--dir", node_dir, "--name", "wang.fang", "--role", "officer")
    run("user", "add", "--dir", node_dir, "--name", "an.qi", "--role", "auditor")
    run("user", "disable", "--dir", node_dir, "--name", "an.qi")
    table = run("user", "list", "--dir", node_dir)
    assert table.exit_code == 0
    assert "auditor 审计员" in table.stdout and "停用 disabled" in table.stdout
    assert table.stdout.index("an.qi") < table.stdout.index("wang.fang")
    listed = json.loads(run("user", "list", "--dir", node_dir, "--json").stdout)
    assert [(u["name"], u["role"], u["city"], u["disabled"]) for u in listed] == [
        ("an.qi", "auditor", "371300", True),
        ("wang.fang", "officer", "371300", False),
    ]
    assert all("password" not in key for u in listed for key in u)


def test_disable_stops_sign_in_and_refuses_an_unknown_user(node_dir: Path, engine: Engine) -> None:
    password = shown_password(
        run("user", "add", "--dir", node_dir, "--name", "wang.fang", "--role", "officer")
    )
    result = run("user", "disable", "--dir", node_dir, "--name", "wang.fang")
    assert result.exit_code == 0 and "已停用 disabled user wang.fang" in result.stdout
    assert users.authenticate(engine, "wang.fang", password) is None
    unknown = run("user", "disable", "--dir", node_dir, "--name", "nobody")
    assert "no user 'nobody'" in error_line(unknown, 1)


def test_reset_password_prints_a_new_password_that_replaces_the_old(
    node_dir: Path, engine: Engine
) -> None:
    old = shown_password(
        run("user", "add", "--dir", node_dir, "--name", "wang.fang", "--role", "officer")
    )
    new = shown_password(run("user", "reset-password", "--dir", node_dir, "--name", "wang.fang"))
    assert new != old
    assert users.authenticate(engine, "wang.fang", old) is None
    assert users.authenticate(engine, "wang.fang", new) is not None
    chosen = run(
        "user",
        "reset-password",
        "--dir",
        node_dir,
        "--name",
        "wang.fang",
        "--password-stdin",
        stdin="chosen-password\n",
    )
    assert chosen.exit_code == 0 and "chosen-password" not in chosen.output
    assert users.authenticate(engine, "wang.fang", "chosen-password") is not None
    unknown = run("user", "reset-password", "--dir", node_dir, "--name", "nobody")
    assert "no user 'nobody'" in error_line(unknown, 1)


def test_token_create_prints_only_the_token(node_dir: Path, engine: Engine) -> None:
    run("user", "add", "--dir", node_dir, "--name", "etl", "--role", "officer")
    result = run("token", "create", "--dir", node_dir, "--user", "etl", "--label", "nightly")
    assert result.exit_code == 0 and result.stderr == ""
    token = result.stdout.removesuffix("\n")
    assert result.stdout == token + "\n" and token.startswith("lnt_")
    user = tokens.user_for_token(engine, token)
    assert user is not None and user.name == "etl"


def test_token_list_shows_labels_but_never_tokens_and_revoke_ends_one(
    node_dir: Path, engine: Engine
) -> None:
    run("user", "add", "--dir", node_dir, "--name", "etl", "--role", "officer")
    token = run("token", "create", "--dir", node_dir, "--user", "etl", "--label", "nightly")
    token = token.stdout.strip()
    listed = run("token", "list", "--dir", node_dir, "--user", "etl")
    assert listed.exit_code == 0 and "nightly" in listed.stdout and token not in listed.stdout
    [info] = tokens.list_tokens(engine, "etl")
    revoked = run("token", "revoke", "--dir", node_dir, "--id", str(info.id))
    assert revoked.exit_code == 0 and f"revoked API token {info.id}" in revoked.stdout
    assert tokens.user_for_token(engine, token) is None
    again = run("token", "revoke", "--dir", node_dir, "--id", str(info.id))
    assert f"no API token {info.id}" in error_line(again, 1)


def test_tokens_need_a_known_enabled_user(node_dir: Path) -> None:
    unknown = run("token", "create", "--dir", node_dir, "--user", "nobody")
    assert "no user 'nobody'" in error_line(unknown, 1)
    run("user", "add", "--dir", node_dir, "--name", "etl", "--role", "officer")
    run("user", "disable", "--dir", node_dir, "--name", "etl")
    disabled = run("token", "create", "--dir", node_dir, "--user", "etl")
    assert "disabled" in error_line(disabled, 1)
