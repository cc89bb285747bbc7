"""A city's own Python adapter (`lunan data configure --adapter python --factory module:callable`):
the packaged example configured through the CLI serves real exchange calls; a factory that
cannot be loaded is a one-line CLI error at configure time with nothing changed, and anything
that goes wrong at call time is `502 exchange-upstream`, never a 500. The operator guide shows
the example module exactly as it is."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from factories import (
    CHAIR,
    ExchangeCities,
    ExchangeHandler,
    error_line,
    residents_csv,
    wire_exchange,
)
from typer.testing import CliRunner, Result

from lunan.exchange import adapters, client, example_adapter
from lunan.exchange.cli import data_app
from lunan.sample.sharing import TOURISM_PURPOSE

ZAOZHUANG = "370400"
ENTRY = f"{CHAIR}-01-0001"  # 临沂's 户籍/居住证 核验, service resident-check
EXAMPLE = "lunan.exchange.example_adapter:make"
OWN = "city_adapters"  # a city's module, written to a directory on sys.path by `own_module`
OPERATOR_GUIDE = Path(__file__).resolve().parents[2] / "docs" / "operator-guide.md"

CITY_MODULE = """
from lunan.exchange.adapters import AdapterError

not_a_function = 42


def raises(options):
    raise RuntimeError("the registry database is down\\nsecond line")


def wrong(options):
    return object()


class TakesNothing:
    def fetch(self):
        return []


def bad_signature(options):
    return TakesNothing()


class Adapter:
    def __init__(self, result):
        self.result = result

    def fetch(self, params, fields, row_filter, limit):
        if isinstance(self.result, Exception):
            raise self.result
        return self.result


def junk(options):
    return Adapter(options.get("rows", "junk"))


def leaky(options):
    return Adapter(KeyError("no row for " + options["id"]))


def failing(options):
    return Adapter(AdapterError("registry: timed out"))
"""


def run(ex: ExchangeCities, *args: object) -> Result:
    """`lunan data …` on 临沂's node directory. The command opens it as a node that knows its
    own log only, whose projector makes the projection tables its own: the four-city harness
    folds all four logs into them again afterwards (as factories.api_clients does)."""
    result = CliRunner().invoke(data_app, [str(a) for a in args])
    ex.sc.h.projector.rebuild()
    return result


def configure(ex: ExchangeCities, *args: object) -> Result:
    return run(ex, "configure", "--dir", ex.sc.directory, "--entry", ENTRY, "--adapter", *args)


@pytest.fixture
def wired(ex: ExchangeCities, monkeypatch: pytest.MonkeyPatch) -> list[ExchangeHandler]:
    return wire_exchange(ex, monkeypatch)


@pytest.fixture
def own_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A city's adapter module on the node's PYTHONPATH (a directory on sys.path)."""
    directory = tmp_path / "site"
    directory.mkdir()
    (directory / f"{OWN}.py").write_text(CITY_MODULE, encoding="utf-8")
    monkeypatch.syspath_prepend(str(directory))
    yield OWN
    sys.modules.pop(OWN, None)


@pytest.fixture
def residents_file(tmp_path: Path) -> tuple[Path, list[str]]:
    """临沂's registry exported by its own system: other residents than the imported table's."""
    data, ids = residents_csv(CHAIR, 5, "own-system")
    path = tmp_path / "临沂居民.csv"
    path.write_bytes(data)
    return path, ids


def ask(ex: ExchangeCities, agreement: str, number: str) -> client.ExchangeResult:
    parts = ex.parts(ZAOZHUANG)
    return client.call(parts, "gate-01", agreement, {"身份证号": number}, TOURISM_PURPOSE)


def test_the_example_configured_by_the_cli_serves_the_exchange(
    ex: ExchangeCities, wired: list[ExchangeHandler], residents_file: tuple[Path, list[str]]
) -> None:
    path, ids = residents_file
    options = f'{{"path": "{path}"}}'
    result = configure(ex, "python", "--factory", EXAMPLE, "--options", options)
    assert result.exit_code == 0, result.output
    assert result.output == (
        f"已配置 configured resident-check ({ENTRY}): python: lunan.exchange.example_adapter:make\n"
    )
    listed = run(ex, "services", "--dir", ex.sc.directory)
    assert listed.output.split() == ["resident-check", f"dataset/{CHAIR}/1", "python:", EXAMPLE]
    assert str(path) not in listed.output  # the options are not shown
    agreement = ex.sc.agreement(ZAOZHUANG, CHAIR)
    yes = ask(ex, agreement, ids[0])
    assert (yes.status, yes.answer, yes.provider) == (200, "是", CHAIR)
    # A resident of the imported table only: the service now reads the city's own file.
    no = ask(ex, agreement, ex.ids[0])
    assert (no.status, no.answer) == (200, "否")


def test_the_example_refuses_options_without_a_file(ex: ExchangeCities, tmp_path: Path) -> None:
    before = adapters.get_config(ex.engine, "resident-check")
    line = error_line(configure(ex, "python", "--factory", EXAMPLE), 2)
    assert "the option path must be a CSV file's absolute path, not ''" in line
    missing = tmp_path / "none.csv"
    relative = error_line(
        configure(ex, "python", "--factory", EXAMPLE, "--options", f'{{"path": "{missing}"}}'), 2
    )
    assert str(missing) in relative
    assert adapters.get_config(ex.engine, "resident-check") == before


@pytest.mark.parametrize(
    ("args", "says"),
    [
        ((), "needs --factory module:callable"),
        (("--factory", "no colon"), "must be 'module:callable'"),
        (("--factory", "no_such_city_module:make"), "no module 'no_such_city_module'"),
        (("--factory", f"{OWN}:nope"), f"{OWN} has no 'nope'"),
        (("--factory", f"{OWN}:not_a_function"), "is not callable"),
        (("--factory", f"{OWN}:raises"), "raised RuntimeError: the registry database is down"),
        (("--factory", f"{OWN}:wrong"), "returned object, not an adapter"),
        (("--factory", f"{OWN}:bad_signature"), "must take (params, fields, row_filter, limit)"),
        (("--factory", f"{OWN}:junk", "--options", "[1]"), "--options"),
        (("--factory", f"{OWN}:junk", "--options", "{"), "--options"),
    ],
)
def test_a_factory_that_cannot_be_used_is_refused_at_configure_time(
    ex: ExchangeCities, own_module: str, args: tuple[str, ...], says: str
) -> None:
    before = adapters.get_config(ex.engine, "resident-check")
    line = error_line(configure(ex, "python", *args), 2)
    assert says in line
    assert adapters.get_config(ex.engine, "resident-check") == before  # nothing changed


def test_the_adapter_list_of_the_cli_names_python(ex: ExchangeCities) -> None:
    line = error_line(configure(ex, "ftp"), 2)
    assert "python" in line


@pytest.mark.parametrize(
    ("factory", "options"),
    [
        (f"{OWN}:junk", {}),  # fetch returns a string
        (f"{OWN}:junk", {"rows": [["a list"]]}),  # rows that are not dicts
        (f"{OWN}:leaky", {"id": "QUOTED"}),  # raises with the request in the message
        (f"{OWN}:failing", {}),  # raises AdapterError
        ("no_longer_installed:make", {}),  # the module is gone since it was configured
        (f"{OWN}:raises", {}),  # the factory fails when the node builds the adapter
    ],
)
def test_anything_going_wrong_at_call_time_is_502_upstream(
    ex: ExchangeCities,
    wired: list[ExchangeHandler],
    own_module: str,
    caplog: pytest.LogCaptureFixture,
    factory: str,
    options: dict[str, object],
) -> None:
    # As if configured when it worked: stored without the configure-time check.
    dataset = f"dataset/{CHAIR}/1"
    adapters.save_config(
        ex.engine, "resident-check", dataset, "python", {"factory": factory, "options": options}
    )
    agreement = ex.sc.agreement(ZAOZHUANG, CHAIR)
    with caplog.at_level(logging.WARNING):
        result = ask(ex, agreement, ex.ids[0])
    assert result.status == 502 and result.answer is None
    assert result.problem is not None
    assert result.problem["type"] == "urn:lunan:problem:exchange-upstream"
    assert ex.ids[0] not in caplog.text and "QUOTED" not in caplog.text


def test_rows_come_back_as_plain_values() -> None:
    class Decimals:
        def fetch(
            self, params: object, fields: object, row_filter: object, limit: int
        ) -> list[dict[str, object]]:
            from decimal import Decimal

            return [{"金额": Decimal("1.50"), "名称": "x"}, {"金额": Decimal("2")}]

    adapter = adapters.PythonAdapter("test:decimals", Decimals())
    assert adapter.fetch({}, [], {}, 1) == [{"金额": "1.50", "名称": "x"}]


def test_the_operator_guide_shows_the_example_module_as_it_is() -> None:
    guide = OPERATOR_GUIDE.read_text(encoding="utf-8")
    source = Path(example_adapter.__file__).read_text(encoding="utf-8")
    blocks = re.findall(r"^```python\n(.*?)^```$", guide, re.MULTILINE | re.DOTALL)
    assert source in blocks
    section = guide.split("### 数据交换的数据源 Adapters", 1)[1].split("\n### ", 1)[0]
    assert f"--factory {EXAMPLE}" in section
    line = f"已配置 configured resident-check ({ENTRY}): python: {EXAMPLE}"
    assert line in section
