"""The adapters a service reads through: imported rows, another database (read-only), an HTTP
upstream; and a provider answering through each."""

from __future__ import annotations

import http.server
import json
import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import psycopg
import pytest
from factories import CHAIR, ExchangeCities, exchange_body
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from lunan.events.errors import Invalid
from lunan.exchange import actions, adapters
from lunan.exchange.adapters import AdapterError, HttpAdapter, SqlAdapter

ENTRY = f"{CHAIR}-01-0001"
POSTGRES = os.environ.get("LUNAN_TEST_POSTGRES")


def _fill(url: str, ids: list[str]) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE people (id_no TEXT, name TEXT, hukou TEXT)"))
        conn.execute(
            text("INSERT INTO people VALUES (:i, :n, :h)"),
            [
                {"i": i, "n": f"示例{n}", "h": "371302" if n % 2 else "371311"}
                for n, i in enumerate(ids)
            ],
        )
    engine.dispose()


@pytest.fixture(params=["sqlite", *(["postgresql"] if POSTGRES else [])])
def source(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of another system holding a `people` table, on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'hukou.db'}"
        return
    assert POSTGRES is not None
    schema = f"src_{uuid.uuid4().hex[:12]}"
    dsn = make_url(POSTGRES).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    yield (
        make_url(POSTGRES)
        .update_query_dict({"options": f"-csearch_path={schema}"})
        .render_as_string(hide_password=False)
    )
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


COLUMNS = {"身份证号": "id_no", "姓名": "name", "户籍地区划代码": "hukou"}


def test_sql_reads_with_bound_parameters_and_cannot_write(source: str) -> None:
    ids = [f"37130219900101{n:03d}X" for n in range(6)]
    _fill(source, ids)
    sql = SqlAdapter(source, "people", COLUMNS)
    assert sql.fetch({"身份证号": ids[1]}, ["身份证号", "户籍地区划代码"], {}, 10) == [
        {"身份证号": ids[1], "户籍地区划代码": "371302"}
    ]
    # A value that would be SQL if pasted into a query is only a value.
    assert sql.fetch({"身份证号": "' OR '1'='1"}, ["身份证号"], {}, 10) == []
    filtered = sql.fetch({}, ["身份证号"], {"户籍地区划代码": ["371311"]}, 2)
    assert len(filtered) == 2
    with pytest.raises(DBAPIError), sql.engine.begin() as conn:
        conn.execute(text("DELETE FROM people"))
    assert len(sql.fetch({}, ["身份证号"], {}, 100)) == 6
    broken = SqlAdapter(source, "no_such_table", COLUMNS)
    with pytest.raises(AdapterError) as raised:
        broken.fetch({"身份证号": ids[0]}, ["身份证号"], {}, 1)
    assert ids[0] not in str(raised.value)
    sql.engine.dispose()
    broken.engine.dispose()


def test_a_provider_answers_from_a_configured_sql_source(
    ex: ExchangeCities, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'hukou.db'}"
    _fill(url, ex.ids[:3])
    parts = ex.parts(CHAIR)
    with pytest.raises(Invalid, match="no_such") as refused:
        actions.configure_service(parts, None, ENTRY, "sql", url, "no_such", COLUMNS)
    assert refused.value.field == "url"
    with pytest.raises(Invalid, match="别的") as refused:
        actions.configure_service(parts, None, ENTRY, "sql", url, "people", {"别的": "x"})
    assert refused.value.field == "columns"
    config = actions.configure_service(parts, None, ENTRY, "sql", url, "people", COLUMNS)
    assert config.describe().startswith("sql: sqlite:///")
    agreement = ex.sc.agreement("370400", CHAIR)
    provider = ex.provider()
    answers = [
        json.loads(
            provider.answer(
                "370400", "resident-check", exchange_body(agreement, {"身份证号": i})
            ).body
        )["answer"]
        for i in (ex.ids[0], ex.ids[5])
    ]
    assert answers == ["是", "否"]  # ids[5] was imported into the table, not into this source


class _Upstream(http.server.BaseHTTPRequestHandler):
    """An HTTP upstream: answers the rows whose 身份证号 is the query's, or misbehaves."""

    rows: ClassVar[list[dict[str, Any]]] = []
    seen: ClassVar[list[dict[str, list[str]]]] = []

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        _Upstream.seen.append(query)
        if parts.path == "/broken":
            self._send(500, b"oops")
        elif parts.path == "/html":
            self._send(200, b"<html>")
        else:
            wanted = query.get("身份证号", [""])[0]
            found = [r for r in self.rows if r["身份证号"] == wanted]
            self._send(200, json.dumps({"rows": found}).encode())

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def upstream() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Upstream)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_http_sends_the_params_and_refuses_odd_answers(upstream: str) -> None:
    _Upstream.rows = [{"身份证号": "1", "姓名": "示例"}]
    adapter = HttpAdapter(f"{upstream}/people")
    assert adapter.fetch({"身份证号": "1"}, ["身份证号"], {}, 5) == _Upstream.rows
    assert _Upstream.seen[-1] == {"身份证号": ["1"], "fields": ["身份证号"], "limit": ["5"]}
    for path, problem in (("/broken", "HTTP 500"), ("/html", "not JSON")):
        with pytest.raises(AdapterError, match=problem):
            HttpAdapter(f"{upstream}{path}").fetch({"身份证号": "secret"}, [], {}, 1)
    with pytest.raises(AdapterError) as raised:
        HttpAdapter("http://127.0.0.1:9/", timeout=0.5).fetch({"身份证号": "secret"}, [], {}, 1)
    assert "secret" not in str(raised.value)


def test_a_provider_answers_through_an_http_upstream(ex: ExchangeCities, upstream: str) -> None:
    _Upstream.rows = [{"身份证号": ex.ids[7], "姓名": "示例", "户籍地区划代码": "371302"}]
    parts = ex.parts(CHAIR)
    with pytest.raises(Invalid, match="http"):
        actions.configure_service(parts, None, ENTRY, "http", "ftp://x")
    actions.configure_service(parts, None, ENTRY, "http", f"{upstream}/people", timeout=2)
    agreement = ex.sc.agreement("370400", CHAIR)
    reply = ex.provider().answer(
        "370400", "resident-check", exchange_body(agreement, {"身份证号": ex.ids[7]})
    )
    assert json.loads(reply.body)["answer"] == "是"
    assert adapters.get_config(ex.engine, "resident-check") is not None
