"""`lunan indicators import|export|show` on a real node directory (the Typer app in-process,
mounted as lunan/cli.py mounts it), on every database backend."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from factories import add_users, error_line, make_node
from typer.testing import CliRunner, Result

from lunan import node
from lunan.indicators.cli import indicators_app

lunan = typer.Typer()
lunan.add_typer(indicators_app, name="indicators")

GOOD = (
    "年份,城市代码,城市,指标,数值,单位,增速(%),排名,备注,来源\r\n"
    "2020,371300,临沂,区域生产总值,5465.7,亿元,3.9,,,示例数据\r\n"
    "2020,371300,临沂,,,,,,全年备注（示例数据）,示例数据\r\n"
)
BAD = (
    "年份,城市代码,指标,数值,增速(%)\r\n"
    "2020,371300,区域生产总值,1.2.3,3.9\r\n"
    "2020,370400,进出口总额,1,x\r\n"
)


def run(*args: str | Path) -> Result:
    return CliRunner(env={"COLUMNS": "160"}).invoke(lunan, [str(a) for a in args])


@pytest.fixture
def node_dir(tmp_path: Path, database_url: str) -> Iterator[Path]:
    directory = make_node(tmp_path / "node", database_url)
    engine = node.open_database(directory, node.load_config(directory))
    add_users(engine, {"coord": ("coordinator", "371300"), "viewer": ("viewer", "371300")})
    engine.dispose()
    yield directory


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def shown(node_dir: Path) -> dict[str, Any]:
    result = run("indicators", "show", "--dir", node_dir, "--json")
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def test_import_then_show_and_export(node_dir: Path, tmp_path: Path) -> None:
    good = write(tmp_path / "good.csv", GOOD)
    result = run("indicators", "import", "--dir", node_dir, "--user", "coord", good)
    assert result.exit_code == 0, result.output
    assert "indicators/371300/2020" in result.stdout
    document = shown(node_dir)
    [city] = document["cities"]
    assert city["note"] == "全年备注（示例数据）"
    assert [(f["indicator"], f["value"]) for f in city["figures"]] == [("gdp", "5465.7")]
    table = run("indicators", "show", "--dir", node_dir, "--year", "2020")
    assert table.exit_code == 0 and "5465.7 (3.9%)" in table.stdout

    exported = tmp_path / "out.xlsx"
    assert run("indicators", "export", "--dir", node_dir, exported).exit_code == 0
    again = run("indicators", "import", "--dir", node_dir, "--user", "coord", exported)
    assert again.exit_code == 0, again.output
    assert "未变 unchanged 1" in again.stdout


def test_a_bad_file_is_one_error_line_exit_2_and_nothing_imported(
    node_dir: Path, tmp_path: Path
) -> None:
    bad = write(tmp_path / "bad.csv", BAD)
    line = error_line(run("indicators", "import", "--dir", node_dir, "--user", "coord", bad), 2)
    for where in ("第2行 数值", "第3行 城市代码", "第3行 增速(%)"):
        assert where in line
    assert shown(node_dir)["cities"] == []


def test_a_user_who_may_not_publish_or_does_not_exist_is_refused(
    node_dir: Path, tmp_path: Path
) -> None:
    good = write(tmp_path / "good.csv", GOOD)
    assert "viewer" in error_line(
        run("indicators", "import", "--dir", node_dir, "--user", "viewer", good), 1
    )
    assert "nobody" in error_line(
        run("indicators", "import", "--dir", node_dir, "--user", "nobody", good), 1
    )
    assert shown(node_dir)["cities"] == []


def test_missing_files_and_directories_are_one_line(node_dir: Path, tmp_path: Path) -> None:
    missing = tmp_path / "missing.csv"
    error_line(run("indicators", "import", "--dir", node_dir, "--user", "coord", missing), 2)
    error_line(run("indicators", "show", "--dir", tmp_path / "nowhere"), 1)
    error_line(run("indicators", "export", "--dir", node_dir, tmp_path / "out.txt"), 2)


def test_show_with_nothing_published(node_dir: Path) -> None:
    result = run("indicators", "show", "--dir", node_dir)
    assert result.exit_code == 0 and "尚无经济指标" in result.stdout
