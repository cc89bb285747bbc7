"""`lunan data …` (a city's own data behind its catalog entries) and `lunan exchange …`.

Mounted in lunan/cli.py with ``app.add_typer(data_app, name="data")`` and
``app.add_typer(exchange_app, name="exchange")``. Run on the node's machine as its operator.
Errors print one line ``错误 error: …`` to standard error; exit status 2 for bad input (a bad
file: every bad cell, and nothing imported), 1 when the node or its state is in the way, 3 when
the provider could not be asked.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from lunan.console import fail, opened_node, say
from lunan.events.errors import Invalid
from lunan.exchange import actions, adapters, client, queries

data_app = typer.Typer(
    help="共享数据 A city's data behind its catalog entries: import tables, configure sources.",
    no_args_is_help=True,
)
exchange_app = typer.Typer(
    help="数据交换 The exchange: call another city's service under an agreement; audit.",
    no_args_is_help=True,
)


DirOption = Annotated[Path, typer.Option("--dir", help="The node directory.")]
EntryOption = Annotated[
    str, typer.Option("--entry", help="The catalog entry's resource code, e.g. 371300-05-0001.")
]


@data_app.command("import")
def import_(
    directory: DirOption,
    entry: EntryOption,
    file: Annotated[Path, typer.Argument(help="UTF-8 CSV or XLSX; row 1: the entry's fields.")],
) -> None:
    """Replace the entry's rows with the file's: all rows or none (every bad cell reported)."""
    try:
        data = file.read_bytes()
    except OSError as e:
        fail(f"无法读取 cannot read {file}: {e.strerror}", 2)
    with opened_node(directory, {client.ExchangeUnavailable: 3}) as parts:
        result = actions.import_data(parts, None, entry, data)
    say(f"已导入 imported {result.rows} rows into {result.code} (service {result.service})")
    if result.configured:
        say("已配置 configured: the service now answers from the imported table")
    elif result.adapter != "table":
        say(
            f"注意 note: the service reads through its {result.adapter} adapter, not this table: "
            f"`lunan data configure --entry {result.code} --adapter table` to switch"
        )


@data_app.command()
def configure(
    directory: DirOption,
    entry: EntryOption,
    adapter: Annotated[
        str,
        typer.Option("--adapter", help="table (imported rows), sql, http or python (own code)."),
    ],
    url: Annotated[
        str | None,
        typer.Option(
            "--url",
            help="sql: a SQLAlchemy URL (sqlite:///… or postgresql+psycopg://…), opened "
            "read-only; http: the upstream's URL, called with GET ?<key>=<value>.",
        ),
    ] = None,
    table: Annotated[
        str | None, typer.Option("--table", help="sql: the table or view (schema.name).")
    ] = None,
    columns: Annotated[
        str | None,
        typer.Option("--columns", help="sql: JSON {field: column} where names differ."),
    ] = None,
    timeout: Annotated[
        float | None, typer.Option("--timeout", help="http: seconds (default 3).", min=0.1)
    ] = None,
    factory: Annotated[
        str | None,
        typer.Option(
            "--factory",
            help="python: the factory module:callable, importable by the node, e.g. "
            "lunan.exchange.example_adapter:make.",
        ),
    ] = None,
    options: Annotated[
        str | None,
        typer.Option("--options", help="python: JSON object passed to the factory."),
    ] = None,
) -> None:
    """Choose where the entry's service reads its data; a SQL source is tried once first, a
    python factory is imported and called once first."""
    if adapter not in adapters.ADAPTERS:
        fail(f"--adapter 须为 table、sql、http 或 python, not {adapter!r}", 2)
    mapping = None
    if columns is not None:
        try:
            mapping = actions.parse_params(columns)
        except Invalid:
            fail('--columns 须为JSON对象 must be a JSON object {"field": "column"}', 2)
    settings: dict[str, object] = {}
    if options is not None:
        try:
            parsed = json.loads(options)
        except json.JSONDecodeError as e:
            fail(f"--options 须为JSON对象 must be a JSON object: {e.msg}", 2)
        if not isinstance(parsed, dict):
            fail('--options 须为JSON对象 must be a JSON object, e.g. \'{"path": "…"}\'', 2)
        settings = parsed
    with opened_node(directory, {client.ExchangeUnavailable: 3}) as parts:
        config = actions.configure_service(
            parts, None, entry, adapter, url, table, mapping, timeout, factory, settings
        )
    say(f"已配置 configured {config.service} ({entry}): {config.describe()}")


@data_app.command()
def services(directory: DirOption) -> None:
    """The services this node provides and where each reads its data."""
    with opened_node(directory, {client.ExchangeUnavailable: 3}) as parts:
        configs = adapters.list_configs(parts.projector.engine)
        if not configs:
            say("尚未配置任何服务 no service configured: `lunan data import` or `configure`")
        for c in configs:
            say(f"{c.service}\t{c.dataset}\t{c.describe()}")


@exchange_app.command("call")
def call_(
    directory: DirOption,
    agreement: Annotated[
        str, typer.Option("--agreement", help="The agreement, e.g. data-agreement/370400/2.")
    ],
    params: Annotated[
        str, typer.Option("--params", help='Key fields as JSON, e.g. \'{"身份证号": "…"}\'.')
    ],
    purpose: Annotated[
        str | None, typer.Option("--purpose", help="Default: the agreement's own purpose.")
    ] = None,
    user: Annotated[
        str, typer.Option("--user", help="Who asks (sent only as a salted hash).")
    ] = "operator",
    fields: Annotated[
        str | None, typer.Option("--fields", help="Comma-separated subset of agreed fields.")
    ] = None,
    service: Annotated[
        str | None, typer.Option("--service", help="Checked against the agreement's service.")
    ] = None,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds.", min=0.1)] = 5.0,
) -> None:
    """Ask the agreement's provider; print its answer (JSON). Exit 3 if it cannot be asked."""
    with opened_node(directory, {client.ExchangeUnavailable: 3}) as parts:
        wanted = actions.parse_params(params)
        if service is not None:
            found = actions.agreement_terms(parts, agreement).service
            if found != service:
                fail(f"协议{agreement}的服务是{found} the agreement's service is {found}", 2)
        subset = [f.strip() for f in fields.split(",") if f.strip()] if fields else None
        result = actions.call(parts, None, user, agreement, wanted, purpose, subset, timeout)
    typer.echo(json.dumps(asdict(result), ensure_ascii=False, indent=2))
    if not result.ok:
        raise typer.Exit(1)


@exchange_app.command()
def audit(
    directory: DirOption,
    agreement: Annotated[str | None, typer.Option("--agreement", help="One agreement.")] = None,
    city: Annotated[
        str | None, typer.Option("--city", help="One city, as provider or requester.")
    ] = None,
) -> None:
    """Exchange counts from the replicated logs (JSON): totals, by day, agreement and city."""
    with opened_node(directory, {client.ExchangeUnavailable: 3}) as parts:
        report = queries.audit(parts.projector.engine, agreement, city)
    typer.echo(report.model_dump_json(indent=2))
