"""What every `lunan` command shares: its two consoles, the one-line failure, the node.

Errors go to stderr as one line saying what is wrong and how to fix it, with an exit code
≠ 0; results go to stdout, so that `$(lunan token create …)` and pipes get only the result.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from sqlalchemy import Engine

from lunan.events.errors import ActionError, Invalid
from lunan.node import NodeConfig, load_config, open_database
from lunan.services import NodeParts, open_node

out = Console()
err = Console(stderr=True)

DirOption = Annotated[Path, typer.Option("--dir", help="The node directory.")]


def fail(message: str, code: int = 1) -> NoReturn:
    """One line saying what is wrong and how to fix it; nothing else."""
    err.print(f"[bold red]错误 error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def say(message: str) -> None:
    out.print(message, highlight=False, soft_wrap=True, markup=False)


@contextmanager
def node_database(directory: Path) -> Iterator[tuple[NodeConfig, Engine]]:
    """The node's config and database (disposed after), or the one-line failure."""
    try:
        config = load_config(directory)
        engine = open_database(directory, config)
    except ValueError as e:  # NodeError, DatabaseURLError
        fail(str(e))
    try:
        yield config, engine
    finally:
        engine.dispose()


@contextmanager
def opened_node(
    directory: Path, exit_codes: Mapping[type[Exception], int] | None = None
) -> Iterator[NodeParts]:
    """The node, its projections caught up. A refused action becomes the one-line failure
    (exit 2 for bad input, 1 otherwise), and so does any exception named in `exit_codes`."""
    try:
        parts = open_node(directory)
    except ValueError as e:  # NodeError, DatabaseURLError
        fail(str(e))
    codes = dict(exit_codes or {})
    try:
        parts.projector.catch_up()
        yield parts
    except ActionError as e:
        fail(e.message, 2 if isinstance(e, Invalid) else 1)
    except tuple(codes) as e:
        fail(str(e), next(c for t, c in codes.items() if isinstance(e, t)))
    finally:
        parts.close()
