"""`lunan indicators …`: import a city's figures from a spreadsheet, export them, show them.

Mounted in lunan/cli.py with ``app.add_typer(indicators_app, name="indicators")``. Run on the
node's machine, acting as one of its users (`--user`, who must hold the permission to publish
indicators). Errors print one line ``错误 error: …`` to standard error; exit status 1 when the
node or its state is in the way, 2 for bad input (a bad spreadsheet: every bad cell, on that
one line, and nothing imported).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from lunan.auth import users
from lunan.auth.users import User
from lunan.console import fail, opened_node, out, say
from lunan.indicators import actions, importer, queries
from lunan.services import NodeParts

indicators_app = typer.Typer(
    help="经济指标 Economic indicators: import from CSV/XLSX, export, show with totals.",
    no_args_is_help=True,
)


DirOption = Annotated[Path, typer.Option("--dir", help="The node directory.")]
YearOption = Annotated[
    int | None, typer.Option("--year", help="Only this year, e.g. 2020.", min=1949, max=2100)
]


def _user(parts: NodeParts, name: str) -> User:
    user = users.get_user(parts.log.engine, name)
    if user is None:
        fail(f"本节点没有用户 {name} no user {name!r} on this node: see `lunan user list`")
    return user


def _format(path: Path) -> str:
    fmt = path.suffix.lower().removeprefix(".")
    if fmt not in importer.MEDIA_TYPES:
        fail(f"{path}: 文件须为 .csv 或 .xlsx the file must end in .csv or .xlsx", 2)
    return fmt


@indicators_app.command("import")
def import_(
    directory: DirOption,
    file: Annotated[Path, typer.Argument(help="A .csv (UTF-8) or .xlsx file; see the guide.")],
    user: Annotated[str, typer.Option("--user", help="The user who publishes, e.g. wang.fang.")],
    year: Annotated[
        int | None,
        typer.Option(
            "--year",
            help="The file's year: fills empty 年份 cells; rows of other years are refused.",
            min=1949,
            max=2100,
        ),
    ] = None,
) -> None:
    """Import this city's figures: all rows or none (every bad cell is reported)."""
    try:
        data = file.read_bytes()
    except OSError as e:
        fail(f"无法读取 cannot read {file}: {e.strerror}", 2)
    with opened_node(directory) as parts:
        result = actions.import_figures(parts, _user(parts, user), data, year)
    say(
        f"已导入 imported {result.rows} rows: 新发布 published {len(result.published)}, "
        f"修订 revised {len(result.revised)}, 未变 unchanged {len(result.unchanged)}"
    )
    for object_id in (*result.published, *result.revised):
        say(f"  {object_id}")


@indicators_app.command()
def export(
    directory: DirOption,
    file: Annotated[Path, typer.Argument(help="Where to write: a .csv or .xlsx file.")],
    year: YearOption = None,
    city: Annotated[
        str | None,
        typer.Option("--city", help="A city code; default this node's city.", show_default=False),
    ] = None,
    all_cities: Annotated[bool, typer.Option("--all", help="Every city's figures.")] = False,
) -> None:
    """Export figures in the import layout (this node's city unless --city or --all)."""
    fmt = _format(file)
    with opened_node(directory) as parts:
        wanted = None if all_cities else (city or parts.config.city)
        with parts.projector.engine.connect() as conn:
            data = importer.export_file(conn, fmt, year=year, city=wanted)
    try:
        file.write_bytes(data)
    except OSError as e:
        fail(f"无法写入 cannot write {file}: {e.strerror}")
    say(f"已导出 exported to {file}")


@indicators_app.command()
def show(
    directory: DirOption,
    year: YearOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Every city's figures with the alliance totals and the alliance's own figures."""
    with opened_node(directory) as parts, parts.projector.engine.connect() as conn:
        sets = queries.figure_sets(conn, year=year)
        alliance = queries.figure_sets(conn, scope="alliance", year=year)
        totals = queries.totals(conn, sorted(parts.projector.logs), year)
        names = queries.city_names(conn)
    if as_json:
        document: dict[str, Any] = {
            "indicators": [i.model_dump() for i in queries.indicator_infos()],
            "cities": [s.model_dump() for s in sets],
            "alliance": [s.model_dump() for s in alliance],
            "totals": [t.model_dump() for t in totals],
        }
        typer.echo(json.dumps(document, ensure_ascii=False, indent=2))
        return
    if not totals:
        say("尚无经济指标 no indicators published yet")
    for t in totals:
        out.print(_year_table(t, [s for s in sets if s.year == t.year], names))
        for s in [
            *(s for s in alliance if s.year == t.year),
            *(s for s in sets if s.year == t.year),
        ]:
            if s.note:
                who = s.city_name or s.city or "经济圈 alliance"
                say(f"  {who}: {s.note}" + (f"（{s.source}）" if s.source else ""))


def _year_table(
    totals: queries.YearTotals, sets: list[queries.FigureSet], names: dict[str, str]
) -> Table:
    table = Table(title=f"{totals.year}年 经济指标", title_justify="left", highlight=False)
    table.add_column("指标 indicator", overflow="fold")
    table.add_column("单位 unit")
    for city in totals.members:
        table.add_column(escape(names.get(city, city)), justify="right")
    table.add_column("合计 sum", justify="right")
    table.add_column("经济圈发布 published", justify="right")
    by_city = {s.city: {f.indicator: f for f in s.figures} for s in sets}
    for total in totals.indicators:
        cells = [
            _figure_cell(by_city.get(city, {}).get(total.indicator)) for city in totals.members
        ]
        summed = _cell(total.sum, total.growth) if total.sum is not None else "—"
        table.add_row(
            total.name, total.unit, *cells, summed, _figure_cell(total.published, with_rank=True)
        )
    return table


def _figure_cell(figure: queries.FigureOut | None, with_rank: bool = False) -> str:
    if figure is None:
        return "—"
    text = _cell(figure.value, figure.growth)
    return f"{text} {escape(figure.rank)}" if with_rank and figure.rank else text


def _cell(value: str | None, growth: str | None) -> str:
    shown = value if value is not None else "—"
    return f"{shown} ({growth}%)" if growth is not None else shown
