"""`lunan calendar …`: the working-day calendar deadlines are counted in, and its publication.

Mounted in lunan/cli.py with ``app.add_typer(calendar_app, name="calendar")``. `show` reads the
node's projections; `publish` writes the event `calendar.year.published` in this node's log, as
the operator at the console or as `--user` (an administrator of this city), and only while this
city holds the chair. Errors print one line ``错误 error: …`` to standard error; exit status 2 for
a bad file (nothing published), 1 when the node or the chair rule is in the way.

The file `publish` reads (UTF-8 JSON), e.g. for 2027:

    {"year": 2027,
     "holidays": ["2027-01-01", "2027-02-06", …],
     "working_weekends": ["2027-02-14", …],
     "source": "国务院办公厅关于2027年部分节假日安排的通知（国办发明电〔2026〕…号）"}
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from lunan.auth import users
from lunan.calendar import actions, queries
from lunan.calendar.events import FIRST_YEAR, LAST_YEAR
from lunan.console import DirOption, fail, opened_node, say

calendar_app = typer.Typer(
    help="工作日历 The working-day calendar: holidays and 调休 working weekends per year.",
    no_args_is_help=True,
)

MAX_FILE = 64 * 1024


@calendar_app.command()
def show(
    directory: DirOption,
    year: Annotated[
        int | None,
        typer.Option("--year", help="Only this year, e.g. 2027.", min=FIRST_YEAR, max=LAST_YEAR),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The years known — built in, or published by the chair (by whom, when) — and their days."""
    with opened_node(directory) as parts:
        views = queries.years(parts.projector.engine, year)
    if as_json:
        typer.echo(
            json.dumps([v.model_dump(mode="json") for v in views], ensure_ascii=False, indent=2)
        )
        return
    for v in views:
        if v.origin == "built-in":
            say(f"{v.year}年 内置 built-in: {v.source}")
        else:
            who = (v.actor or {}).get("user") or (v.actor or {}).get("system") or "?"
            replaced = "，替换内置 replacing the built-in" if v.replaces_built_in else ""
            say(
                f"{v.year}年 已发布 published by {v.published_by_name} ({v.published_by}, {who}) "
                f"at {v.published_at}, {v.object}, 第{v.revision}版 revision {v.revision}"
                f"{replaced}: {v.source}"
            )
        say(f"  放假 holidays ({len(v.holidays)}): {queries.spans_text(v.holidays)}")
        weekends = queries.spans_text(v.working_weekends) or "—"
        say(f"  调休上班 working weekends ({len(v.working_weekends)}): {weekends}")
    if year is not None and not views:
        say(
            f"{year}年尚无日历，期限按周一至周五估算 no calendar for {year}: deadlines are "
            "estimated Monday to Friday"
        )
    elif year is None:
        say("其他年份按周一至周五估算 other years: deadlines estimated Monday to Friday")


@calendar_app.command()
def publish(
    directory: DirOption,
    file: Annotated[
        Path, typer.Argument(help="The year's calendar, UTF-8 JSON.", metavar="FILE.json")
    ],
    user: Annotated[
        str | None,
        typer.Option(
            "--user",
            help="Publish as this administrator of the node (default: the console operator).",
        ),
    ] = None,
) -> None:
    """Publish (or correct) a year's calendar for the whole alliance (the chair city only)."""
    data = _read(file)
    with opened_node(directory) as parts:
        who = None
        if user is not None:
            who = users.get_user(parts.log.engine, user)
            if who is None:
                fail(f"本节点没有用户 {user} no user {user!r} on this node: see `lunan user list`")
        result = actions.publish_year(parts, who, data)
    if result.status == "unchanged":
        say(f"{result.year}年日历未变 the calendar of {result.year} is unchanged: {result.object}")
    else:
        verb = "已更正 replaced" if result.status == "replaced" else "已发布 published"
        say(f"{verb} the calendar of {result.year}: {result.object}")


def _read(file: Path) -> dict[str, Any]:
    try:
        raw = file.read_bytes()
    except OSError as e:
        fail(f"无法读取 cannot read {file}: {e.strerror}", 2)
    if len(raw) > MAX_FILE:
        fail(f"{file}: 文件过大 the file is over {MAX_FILE // 1024} KiB", 2)
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        fail(f"{file}: 不是 UTF-8 JSON not UTF-8 JSON: {e}", 2)
    if not isinstance(data, dict):
        fail(
            f'{file}: 须为对象 must be an object {{"year": …, "holidays": […], '
            '"working_weekends": […], "source": "…"}',
            2,
        )
    return data
