"""`lunan tasks …`: the ledger (台账) to and from a spreadsheet, on the node's machine.

Mounted in lunan/cli.py with ``app.add_typer(tasks_app, name="tasks")``. An import writes
events in this node's log, so it names the user it acts as (`--user`, a user of this node, see
`lunan user list`), whose name, role and city every event records. Errors print
``错误 error: …`` to standard error; a spreadsheet with errors prints one line per bad cell.
Exit status 1 for a failure (no node, unknown user, not allowed), 2 for bad input.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from lunan.auth.users import get_user
from lunan.console import err, fail, opened_node, say
from lunan.coop import spreadsheet
from lunan.events.errors import ActionError

tasks_app = typer.Typer(
    help="The task ledger (台账): import from and export to .xlsx spreadsheets.",
    no_args_is_help=True,
)

DirOption = Annotated[Path, typer.Option("--dir", help="The node directory.")]
LeadOption = Annotated[
    str | None, typer.Option(help="Only tasks this city leads (name or code, e.g. 临沂).")
]
PartnerOption = Annotated[
    str | None, typer.Option(help="Only tasks this city supports (name or code).")
]


@tasks_app.command("import")
def import_cmd(
    directory: DirOption,
    file: Annotated[Path, typer.Argument(help="The .xlsx to import.", metavar="FILE.xlsx")],
    user: Annotated[str, typer.Option("--user", help="The user of this node the import acts as.")],
) -> None:
    """Create and update tasks from a spreadsheet, all or nothing: rows whose 编号 exists
    update that task, other rows create one; any bad cell and nothing is stored."""
    try:
        data = file.read_bytes()
    except OSError as e:
        fail(f"cannot read {file}: {e.strerror}", 2)
    with opened_node(directory) as parts:
        who = get_user(parts.log.engine, user)
        if who is None:
            fail(f"no user {user!r} on this node: see `lunan user list`")
        try:
            result = spreadsheet.import_tasks(parts, who, data)
        except spreadsheet.SpreadsheetInvalid as e:
            err.print(
                f"[bold red]错误 error:[/] {len(e.errors)} 处错误，未导入任何内容 — "
                f"{len(e.errors)} error(s) in {escape(str(file))}; nothing was imported:",
                highlight=False,
                soft_wrap=True,
            )
            for cell in e.errors:
                err.print(f"  {escape(str(cell))}", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from e
        except ActionError as e:
            fail(e.message, 2 if e.status == 422 else 1)
    say(
        f"已导入 imported {file}: 新建 created {len(result.created)}, "
        f"修改 updated {len(result.updated)}, 未变 unchanged {len(result.unchanged)}"
    )
    for label, rows in (("新建 created", result.created), ("修改 updated", result.updated)):
        for number, task_id in rows:
            say(f"  {label} {number} {task_id}")


@tasks_app.command("export")
def export_cmd(
    directory: DirOption,
    file: Annotated[Path, typer.Argument(help="The .xlsx to write.", metavar="FILE.xlsx")],
    area: Annotated[str | None, typer.Option(help="Only this area (领域).")] = None,
    lead_city: LeadOption = None,
    partner_city: PartnerOption = None,
) -> None:
    """Write the ledger (or the tasks matching the filters) to a spreadsheet that imports
    back unchanged."""
    with opened_node(directory) as parts:
        cities = spreadsheet.cities_of(parts)

        def code(city: str | None, option: str) -> str | None:
            if city is None:
                return None
            found = cities.code(city)
            if found is None:
                names = "、".join(cities.names.values())
                fail(f"{option}: unknown city {city!r}, choose one of {names}", 2)
            return found

        data = spreadsheet.export_tasks(
            parts,
            area=area,
            lead_city=code(lead_city, "--lead-city"),
            partner_city=code(partner_city, "--partner-city"),
        )
    try:
        file.write_bytes(data)
    except OSError as e:
        fail(f"cannot write {file}: {e.strerror}")
    say(f"已导出 exported {file}")
