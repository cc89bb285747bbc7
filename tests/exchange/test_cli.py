"""`lunan data import|configure|services` and `lunan exchange call|audit` as an operator runs
them on a node of an alliance (the provider is not running: the call cannot be made)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from factories import free_ports, residents_csv, user_of
from typer.testing import CliRunner, Result

from lunan import demo
from lunan.exchange.cli import data_app, exchange_app
from lunan.sample.sharing import resident_check
from lunan.services import open_node
from lunan.sharing import actions as sharing_actions
from lunan.sharing.models import DatasetFields

LINYI, ZAOZHUANG = demo.City("371300", "临沂"), demo.City("370400", "枣庄")
ENTRY = f"{LINYI.code}-01-0001"
runner = CliRunner()


@pytest.fixture
def linyi(tmp_path: Path) -> Iterator[Path]:
    """临沂's node of a two-city alliance, its resident check published."""
    prepared = demo.prepare(tmp_path, (LINYI, ZAOZHUANG), free_ports(2))
    demo.write_alliance(prepared)
    directory = prepared[0][1]
    with open_node(directory) as parts:
        parts.projector.catch_up()
        fields = DatasetFields.model_validate(resident_check(LINYI.code))
        sharing_actions.publish_dataset(parts, user_of(LINYI.code), fields)
    yield directory


def run(app: object, *args: object) -> Result:
    return runner.invoke(app, [str(a) for a in args])  # type: ignore[arg-type]


def test_import_then_list_the_services(linyi: Path, tmp_path: Path) -> None:
    data, ids = residents_csv(LINYI.code, 5)
    good = tmp_path / "residents.csv"
    good.write_bytes(data)
    result = run(data_app, "import", "--dir", linyi, "--entry", ENTRY, good)
    assert result.exit_code == 0, result.output
    assert "imported 5 rows into 371300-01-0001" in result.output
    assert "configured" in result.output
    bad = tmp_path / "bad.csv"
    bad.write_bytes(data + f"{ids[0][:17]}Y,x,371302\n".encode())
    refused = run(data_app, "import", "--dir", linyi, "--entry", ENTRY, bad)
    assert refused.exit_code == 2 and "第7行 身份证号" in refused.output
    assert ids[0][:17] not in refused.output
    listed = run(data_app, "services", "--dir", linyi)
    assert "resident-check" in listed.output and "table: imported rows" in listed.output
    other = run(data_app, "import", "--dir", linyi, "--entry", "370400-01-0001", good)
    assert other.exit_code == 1 and "no catalog entry" in other.output


def test_configure_checks_the_source(linyi: Path, tmp_path: Path) -> None:
    wrong = run(data_app, "configure", "--dir", linyi, "--entry", ENTRY, "--adapter", "ftp")
    assert wrong.exit_code == 2
    missing = run(
        data_app,
        "configure",
        "--dir",
        linyi,
        "--entry",
        ENTRY,
        "--adapter",
        "sql",
        "--url",
        f"sqlite:///{tmp_path / 'none.db'}",
        "--table",
        "people",
    )
    assert missing.exit_code == 2 and "cannot query" in missing.output
    http = run(
        data_app,
        "configure",
        "--dir",
        linyi,
        "--entry",
        ENTRY,
        "--adapter",
        "http",
        "--url",
        "http://10.0.0.9/hukou/check",
        "--timeout",
        "2",
    )
    assert http.exit_code == 0 and "http: http://10.0.0.9/hukou/check" in http.output


def test_a_call_that_cannot_be_made_says_so(linyi: Path, tmp_path: Path) -> None:
    zaozhuang = tmp_path / ZAOZHUANG.code
    bad = run(
        exchange_app,
        "call",
        "--dir",
        zaozhuang,
        "--agreement",
        "data-agreement/371300/1",
        "--params",
        "[1]",
    )
    assert bad.exit_code == 2 and "JSON" in bad.output
    unknown = run(
        exchange_app,
        "call",
        "--dir",
        zaozhuang,
        "--agreement",
        "data-agreement/371300/1",
        "--params",
        '{"身份证号": "x"}',
    )
    assert unknown.exit_code == 1 and "no agreement" in unknown.output
    audit = run(exchange_app, "audit", "--dir", zaozhuang)
    assert audit.exit_code == 0 and json.loads(audit.output)["total"]["served"] == 0
