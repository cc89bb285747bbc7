"""`lunan user …` and `lunan token …`: the people of a node and their API tokens.

Mounted in lunan/cli.py with ``app.add_typer(user_app, name="user")`` and
``app.add_typer(token_app, name="token")``. Run on the node's machine: whoever can open the
node directory may manage its users, which is how the first administrator is made. Errors print
one line ``错误 error: …`` to standard error; exit status 1 for a failure (no node, unknown,
duplicate or disabled user, unknown token), 2 for bad input (name, role, password, label).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table
from sqlalchemy import Engine

from lunan import node
from lunan.auth import roles, tokens, users
from lunan.auth.tokens import UnknownToken
from lunan.auth.users import AuthError, DisabledUser, DuplicateUser, UnknownUser
from lunan.console import fail, node_database, out, say

user_app = typer.Typer(
    help="The people of this node: add, list, disable, reset passwords.", no_args_is_help=True
)
token_app = typer.Typer(
    help="API tokens for systems (Authorization: Bearer …).", no_args_is_help=True
)


DirOption = Annotated[Path, typer.Option("--dir", help="The node directory.")]
NameOption = Annotated[str, typer.Option("--name", help="The user name, e.g. wang.fang.")]
PasswordStdin = Annotated[
    bool,
    typer.Option(
        "--password-stdin",
        help="Read the password from the first line of standard input instead of generating one.",
    ),
]
_ROLES_HELP = "; ".join(f"{r.value} ({roles.label(r)})" for r in roles.Role)


def _exit_code(error: AuthError) -> int:
    """1 when the node's state is in the way, 2 when the input itself is wrong."""
    return 1 if isinstance(error, UnknownUser | DuplicateUser | DisabledUser | UnknownToken) else 2


@contextmanager
def _database(directory: Path) -> Iterator[tuple[node.NodeConfig, Engine]]:
    """The node's config and database; account errors become the one-line failure."""
    with node_database(directory) as (config, engine):
        try:
            yield config, engine
        except AuthError as e:
            fail(str(e), _exit_code(e))


def _read_password() -> str:
    line = sys.stdin.readline().rstrip("\r\n")
    if not line:
        fail("--password-stdin: standard input holds no password on its first line", 2)
    return line


# --- lunan user -----------------------------------------------------------------------------


@user_app.command()
def add(
    directory: DirOption,
    name: NameOption,
    role: Annotated[str, typer.Option("--role", help=f"One of: {_ROLES_HELP}.")],
    display_name: Annotated[
        str, typer.Option("--display-name", help="How pages show the user, e.g. 王芳.")
    ] = "",
    password_stdin: PasswordStdin = False,
) -> None:
    """Add a user of this node's city; prints the generated password once."""
    chosen = _read_password() if password_stdin else None
    with _database(directory) as (config, engine):
        user, password = users.add_user(engine, config.city, name, role, chosen, display_name)
    say(f"已创建用户 created user {user.name} ({roles.label(user.role)}) of {user.city}")
    if chosen is None:
        say(f"初始密码 password (shown once): {password}")


@user_app.command("list")
def list_(
    directory: DirOption,
    as_json: Annotated[bool, typer.Option("--json", help="Print the users as JSON.")] = False,
) -> None:
    """List the users of this node."""
    with _database(directory) as (_, engine):
        found = users.list_users(engine)
    if as_json:
        typer.echo(json.dumps([asdict(u) for u in found], ensure_ascii=False, indent=2))
        return
    table = Table(title="用户 users", title_justify="left", highlight=False)
    table.add_column("用户 user", no_wrap=True)
    table.add_column("姓名 name", overflow="fold")
    table.add_column("角色 role", no_wrap=True)  # the value `--role` takes, then its name
    table.add_column("城市 city", no_wrap=True)
    table.add_column("状态 status", no_wrap=True)
    for u in found:
        status = "停用 disabled" if u.disabled else "启用 active"
        role = f"{u.role.value} {roles.ROLE_LABELS[u.role][0]}"
        table.add_row(escape(u.name), escape(u.display_name), role, u.city, status)
    out.print(table)


@user_app.command()
def disable(directory: DirOption, name: NameOption) -> None:
    """Disable a user: no sign-in, sessions end, API tokens stop working."""
    with _database(directory) as (_, engine):
        user = users.disable_user(engine, name)
    say(f"已停用 disabled user {user.name}: its sessions ended and its API tokens stop working")


@user_app.command("reset-password")
def reset_password(
    directory: DirOption, name: NameOption, password_stdin: PasswordStdin = False
) -> None:
    """Give a user a new password (printed once) and end its sessions."""
    chosen = _read_password() if password_stdin else None
    with _database(directory) as (_, engine):
        password = users.reset_password(engine, name, chosen)
    say(f"已重设密码 password reset for {users.normal_name(name)}; its sessions ended")
    if chosen is None:
        say(f"新密码 new password (shown once): {password}")


# --- lunan token ----------------------------------------------------------------------------

UserOption = Annotated[str, typer.Option("--user", help="The user the token acts as.")]


@token_app.command()
def create(
    directory: DirOption,
    user: UserOption,
    label: Annotated[
        str, typer.Option("--label", help="What the token is for, e.g. 'nightly export'.")
    ] = "",
) -> None:
    """Create an API token and print only the token (shown once; the node keeps its hash)."""
    with _database(directory) as (_, engine):
        token = tokens.create_token(engine, user, label)
    typer.echo(token)


@token_app.command("list")
def list_tokens(directory: DirOption, user: UserOption) -> None:
    """List a user's API tokens (never the tokens themselves)."""
    with _database(directory) as (_, engine):
        found = tokens.list_tokens(engine, user)
    table = Table(title=f"API 令牌 tokens of {escape(user)}", title_justify="left", highlight=False)
    for column in ("id", "标签 label", "创建 created", "最近使用 last used"):
        table.add_column(column, no_wrap=True)
    for t in found:
        table.add_row(str(t.id), escape(t.label), t.created_at, t.last_used_at or "—")
    out.print(table)


@token_app.command()
def revoke(
    directory: DirOption,
    token_id: Annotated[int, typer.Option("--id", help="The token's id (see `lunan token list`).")],
) -> None:
    """Revoke an API token at once."""
    with _database(directory) as (_, engine):
        tokens.revoke_token(engine, token_id)
    say(f"已吊销 revoked API token {token_id}")
