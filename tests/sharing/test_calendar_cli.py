"""`lunan calendar show|publish` on a real node directory (the Typer app in-process, mounted as
lunan/cli.py mounts it), on every database backend. A node without an alliance file is its own
chair, so its console may publish until it hands the chair over."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from factories import actor, add_users, calendar_body, error_line, make_node
from typer.testing import CliRunner, Result

from lunan import node
from lunan.calendar.cli import calendar_app
from lunan.events.core import Handover
from lunan.services import open_node

lunan = typer.Typer()
lunan.add_typer(calendar_app, name="calendar")


def run(*args: str | Path) -> Result:
    return CliRunner(env={"COLUMNS": "200"}).invoke(lunan, [str(a) for a in args])


@pytest.fixture
def node_dir(tmp_path: Path, database_url: str) -> Iterator[Path]:
    directory = make_node(tmp_path / "node", database_url)
    engine = node.open_database(directory, node.load_config(directory))
    add_users(engine, {"admin": ("admin", "371300"), "coord": ("coordinator", "371300")})
    engine.dispose()
    yield directory


def write(path: Path, document: Any) -> Path:
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path


def log_size(directory: Path) -> int:
    with open_node(directory) as parts:
        return parts.log.size()


def shown(node_dir: Path, *args: str) -> list[dict[str, Any]]:
    result = run("calendar", "show", "--dir", node_dir, "--json", *args)
    assert result.exit_code == 0, result.output
    years: list[dict[str, Any]] = json.loads(result.stdout)
    return years


def test_show_the_built_in_years(node_dir: Path) -> None:
    result = run("calendar", "show", "--dir", node_dir)
    assert result.exit_code == 0, result.output
    assert "2025年 内置 built-in: 国务院办公厅关于2025年部分节假日安排的通知" in result.stdout
    assert "2025-01-28~2025-02-04" in result.stdout  # 春节, one run of days
    assert "其他年份按周一至周五估算" in result.stdout
    assert [(y["year"], y["origin"]) for y in shown(node_dir)] == [
        (2025, "built-in"),
        (2026, "built-in"),
    ]
    unknown = run("calendar", "show", "--dir", node_dir, "--year", "2030")
    assert unknown.exit_code == 0 and "2030年尚无日历" in unknown.stdout


def test_publish_then_show_and_correct(node_dir: Path, tmp_path: Path) -> None:
    file = write(tmp_path / "2027.json", calendar_body())
    result = run("calendar", "publish", "--dir", node_dir, file)
    assert result.exit_code == 0, result.output
    assert result.stdout == "已发布 published the calendar of 2027: calendar/371300/1\n"
    [year] = shown(node_dir, "--year", "2027")
    assert (year["origin"], year["published_by"], year["actor"]) == (
        "published",
        "371300",
        {"system": "lunan calendar publish"},
    )
    table = run("calendar", "show", "--dir", node_dir, "--year", "2027")
    assert "2027年 已发布 published by 临沂 (371300, lunan calendar publish)" in table.stdout
    assert "2027-01-01~2027-01-03, 2027-02-06~2027-02-12" in table.stdout

    same = run("calendar", "publish", "--dir", node_dir, "--user", "admin", file)
    assert same.exit_code == 0 and "unchanged" in same.stdout
    fixed = write(tmp_path / "fixed.json", calendar_body(working_weekends=[]))
    again = run("calendar", "publish", "--dir", node_dir, "--user", "admin", fixed)
    assert again.exit_code == 0, again.output
    assert again.stdout == "已更正 replaced the calendar of 2027: calendar/371300/2\n"
    [year] = shown(node_dir, "--year", "2027")
    assert (year["revision"], year["actor"]["user"], year["working_weekends"]) == (2, "admin", [])


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"{not json", "not UTF-8 JSON"),
        (b"[1, 2]", "must be an object"),
        (json.dumps(calendar_body(holidays=["2027-02-30"])).encode(), "holidays[0]"),
        (json.dumps(calendar_body(working_weekends=["2027-01-04"])).encode(), "Saturday"),
        (json.dumps({"year": 2027}).encode(), "holidays is missing"),
    ],
)
def test_a_bad_file_is_one_error_line_exit_2_and_nothing_published(
    node_dir: Path, tmp_path: Path, content: bytes, says: str
) -> None:
    file = tmp_path / "bad.json"
    file.write_bytes(content)
    before = log_size(node_dir)
    assert says in error_line(run("calendar", "publish", "--dir", node_dir, file), 2)
    assert log_size(node_dir) == before
    missing = run("calendar", "publish", "--dir", node_dir, tmp_path / "none.json")
    assert "cannot read" in error_line(missing, 2)


def test_only_an_administrator_of_the_chair_city_publishes(node_dir: Path, tmp_path: Path) -> None:
    file = write(tmp_path / "2027.json", calendar_body())
    before = log_size(node_dir)
    coordinator = run("calendar", "publish", "--dir", node_dir, "--user", "coord", file)
    assert "administrator" in error_line(coordinator, 1)
    nobody = run("calendar", "publish", "--dir", node_dir, "--user", "nobody", file)
    assert "no user 'nobody'" in error_line(nobody, 1)
    assert log_size(node_dir) == before

    with open_node(node_dir) as parts:  # this city hands the chair to 枣庄
        term = Handover(to="370400", term_start=dt.date(2027, 1, 1), term_end=dt.date(2027, 12, 31))
        parts.writer.append(
            "alliance.chair.handover", parts.writer.next_id("handover"), term, actor("371300")
        )
    handed_over = log_size(node_dir)
    not_chair = run("calendar", "publish", "--dir", node_dir, file)
    assert "only the chair city" in error_line(not_chair, 1)
    assert log_size(node_dir) == handed_over
