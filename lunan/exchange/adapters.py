"""Where a service's data comes from: the small interface a city implements to plug in a system.

An adapter answers one question — "the rows whose key fields equal these values" — and nothing
else. It is given only what the agreement allows (the provider has already checked the caller,
the agreement, its fields and its row filter); the provider checks the rows it returns again
(params, row filter) and keeps only the agreed fields, so a sloppy adapter cannot leak more
than the agreement permits.

    class Adapter(Protocol):
        def fetch(self, params, fields, row_filter, limit) -> list[dict[str, Any]]

- `params`: field name -> value; every one must match (equality).
- `fields`: the fields the provider needs in each row (agreed fields, params, filter fields).
- `row_filter`: field name -> allowed values; a row must have one of them in each such field.
- `limit`: the most rows to return.
- Rows are dicts keyed by the catalog entry's field names; values str, int, bool or None.
- Raise `AdapterError` when the source fails. Its message goes to the operator's log: never
  put a value from the request or the data in it.

Three come with the node, chosen per service in `data_services` (`lunan data configure`):
`table` (rows imported with `lunan data import`), `sql` (a table of another database, opened
read-only, parameterised queries only) and `http` (GET an upstream with the params). A fourth,
`python`, plugs in a city's own code: its configuration names a factory `module:callable`,
importable by the node, which is called with the city's options (a JSON object) and returns an
Adapter (see `load_factory`; lunan.exchange.example_adapter is a complete example).
"""

from __future__ import annotations

import atexit
import importlib
import inspect
import json
import math
import re
import sqlite3
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit

import httpx
from sqlalchemy import Engine, bindparam, column, create_engine, delete, func, insert, select, table
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from lunan.clock import now_shanghai
from lunan.events.context import dumps, loads
from lunan.storage.schema import data_rows, data_services

AdapterKind = Literal["table", "sql", "http", "python"]
ADAPTERS: tuple[AdapterKind, ...] = ("table", "sql", "http", "python")
HTTP_TIMEOUT = 3.0
_PG_READ_ONLY = "-c default_transaction_read_only=on"


class AdapterError(Exception):
    """The data source failed. The message is for the operator and holds no data values."""


class ConfigError(ValueError):
    """An adapter configuration that cannot work; the message says how to fix it."""


class Adapter(Protocol):
    def fetch(
        self,
        params: Mapping[str, str],
        fields: Sequence[str],
        row_filter: Mapping[str, Sequence[str]],
        limit: int,
    ) -> list[dict[str, Any]]: ...


def as_text(value: object) -> str:
    """A value as params and row filters compare it: 12 → "12", True → "true", None → ""."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)


def matches(
    row: Mapping[str, Any], params: Mapping[str, str], row_filter: Mapping[str, Sequence[str]]
) -> bool:
    """Whether a row answers `params` and lies inside `row_filter`."""
    return all(as_text(row.get(k)) == v for k, v in params.items()) and all(
        as_text(row.get(k)) in allowed for k, allowed in row_filter.items()
    )


# --- table: rows imported into this node ------------------------------------------------------


# Every exchange served from an imported table runs one of these: built once.
_ROWS = (
    select(data_rows.c.data)
    .where(data_rows.c.dataset == bindparam("dataset"))
    .order_by(data_rows.c.row)
)
_ROWS_BY_KEY = (
    select(data_rows.c.data)
    .where(data_rows.c.dataset == bindparam("dataset"), data_rows.c.key == bindparam("key"))
    .order_by(data_rows.c.row)
)


class TableAdapter:
    """Rows of `data_rows` for one catalog entry; `key_field`'s value is indexed."""

    def __init__(self, engine: Engine, dataset_code: str, key_field: str | None) -> None:
        self.engine = engine
        self.dataset_code = dataset_code
        self.key_field = key_field

    def fetch(
        self,
        params: Mapping[str, str],
        fields: Sequence[str],
        row_filter: Mapping[str, Sequence[str]],
        limit: int,
    ) -> list[dict[str, Any]]:
        bound = {"dataset": self.dataset_code}
        q = _ROWS
        if self.key_field is not None and self.key_field in params:
            q, bound["key"] = _ROWS_BY_KEY, params[self.key_field]
        found: list[dict[str, Any]] = []
        with self.engine.connect() as conn:
            for (text,) in conn.execute(q, bound):
                row = loads(text)
                if matches(row, params, row_filter):
                    found.append(row)
                    if len(found) >= limit:
                        break
        return found


def replace_rows(
    engine: Engine, dataset_code: str, key_field: str | None, rows: Sequence[Mapping[str, Any]]
) -> None:
    """Replace the entry's imported rows, all in one transaction."""
    with engine.begin() as conn:
        conn.execute(delete(data_rows).where(data_rows.c.dataset == dataset_code))
        if rows:
            conn.execute(
                insert(data_rows),
                [
                    {
                        "dataset": dataset_code,
                        "row": i,
                        "key": None if key_field is None else as_text(r.get(key_field)),
                        "data": dumps(dict(r)),
                    }
                    for i, r in enumerate(rows, start=1)
                ],
            )


def count_rows(engine: Engine, dataset_code: str) -> int:
    q = select(func.count()).select_from(data_rows).where(data_rows.c.dataset == dataset_code)
    with engine.connect() as conn:
        return int(conn.execute(q).scalar() or 0)


# --- sql: a table of another database, read-only -----------------------------------------------


def _read_only_engine(url: str) -> Engine:
    """An engine that cannot write: SQLite opened mode=ro, PostgreSQL in read-only
    transactions. Other databases are refused rather than trusted to be read-only."""
    try:
        parsed = make_url(url)
    except ArgumentError as e:
        raise ConfigError(f"不是数据库URL not a database URL: {e}") from e
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        path = parsed.database
        if not path or path == ":memory:":
            raise ConfigError("SQLite URL须指明文件 a SQLite URL must name a file")

        def connect() -> sqlite3.Connection:
            return sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)

        return create_engine("sqlite://", creator=connect)
    if backend == "postgresql":
        # Added to any options the URL gives (e.g. a search_path), which it would replace.
        given = parsed.query.get("options", "")
        options = " ".join([*([given] if isinstance(given, str) else given), _PG_READ_ONLY])
        return create_engine(
            parsed.difference_update_query(["options"]),
            pool_pre_ping=True,
            connect_args={"options": options.strip()},
        )
    raise ConfigError(
        f"不支持的数据库 unsupported database {backend!r}: use sqlite:/// or postgresql+psycopg://"
    )


def _plain(value: Any) -> Any:
    """A database value as JSON can carry it, exactly (decimals as text)."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    return value


class SqlAdapter:
    """One table (or view) of another database; `columns` maps field names to its column
    names where they differ. Only SELECTs with bound parameters are sent."""

    def __init__(self, url: str, table_name: str, columns: Mapping[str, str] | None = None) -> None:
        self.engine = _read_only_engine(url)
        schema, _, name = table_name.rpartition(".")
        self.table = table(name, schema=schema or None)
        self.columns = dict(columns or {})

    def _column(self, field: str) -> Any:
        return column(self.columns.get(field, field))

    def fetch(
        self,
        params: Mapping[str, str],
        fields: Sequence[str],
        row_filter: Mapping[str, Sequence[str]],
        limit: int,
    ) -> list[dict[str, Any]]:
        wanted = list(dict.fromkeys([*fields, *params, *row_filter]))
        q = select(*(self._column(f).label(f"c{i}") for i, f in enumerate(wanted)))
        q = q.select_from(self.table)
        for f, value in params.items():
            q = q.where(self._column(f) == value)
        for f, allowed in row_filter.items():
            q = q.where(self._column(f).in_(list(allowed)))
        try:
            with self.engine.connect() as conn:
                result = conn.execute(q.limit(limit)).all()
        except SQLAlchemyError as e:
            # The driver's message may quote a value: name the failure only.
            orig = getattr(e, "orig", None)
            code = getattr(orig, "sqlstate", None) or type(orig or e).__name__
            raise AdapterError(f"SQL source {self.table.name}: query failed ({code})") from None
        return [{f: _plain(r[i]) for i, f in enumerate(wanted)} for r in result]

    def check(self, fields: Sequence[str]) -> None:
        """Run the query once with no match, to find a wrong table or column now."""
        try:
            with self.engine.connect() as conn:
                cols = [self._column(f) for f in fields]
                conn.execute(select(*cols).select_from(self.table).limit(0)).all()
        except SQLAlchemyError as e:
            raise ConfigError(f"无法查询 cannot query {self.table.name}: {_first_line(e)}") from e


def _first_line(error: Exception) -> str:
    orig = getattr(error, "orig", None) or error
    text = str(orig).strip()
    return text.splitlines()[0] if text else type(orig).__name__


# --- http: an upstream service ------------------------------------------------------------------

_client: httpx.Client | None = None
_client_lock = threading.Lock()


def _http() -> httpx.Client:
    """One connection pool for every upstream call (httpx.Client is thread-safe)."""
    global _client
    with _client_lock:
        if _client is not None:
            return _client
        _client = httpx.Client(follow_redirects=False)
        atexit.register(_client.close)
        return _client


class HttpAdapter:
    """GET `url` with the params as query parameters (plus `fields` and `limit`); the
    upstream answers a JSON list of row objects, or an object whose "rows" is one."""

    def __init__(self, url: str, timeout: float = HTTP_TIMEOUT) -> None:
        self.url = url
        self.timeout = timeout

    def fetch(
        self,
        params: Mapping[str, str],
        fields: Sequence[str],
        row_filter: Mapping[str, Sequence[str]],
        limit: int,
    ) -> list[dict[str, Any]]:
        query = {**params, "fields": ",".join(fields), "limit": str(limit)}
        where = urlsplit(self.url).netloc
        try:
            r = _http().get(self.url, params=query, timeout=self.timeout)
        except httpx.HTTPError as e:  # messages can hold the URL, and so the params
            raise AdapterError(f"HTTP source {where}: {type(e).__name__}") from None
        if r.status_code != 200:
            raise AdapterError(f"HTTP source {where}: HTTP {r.status_code}")
        try:
            doc = r.json()
        except ValueError:
            raise AdapterError(f"HTTP source {where}: the answer is not JSON") from None
        rows = doc.get("rows") if isinstance(doc, dict) else doc
        if not isinstance(rows, list) or not all(isinstance(x, dict) for x in rows):
            raise AdapterError(f"HTTP source {where}: expected a list of row objects")
        return rows[:limit]


# --- python: a city's own code --------------------------------------------------------------------

_FACTORY = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*:[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*$")
Factory = Callable[[dict[str, Any]], Any]


def _json_value(value: object) -> bool:
    """A value the answer can carry as it is: text, a whole number, a finite number, a truth
    value or nothing."""
    if isinstance(value, float):
        return math.isfinite(value)
    return value is None or isinstance(value, str | int | bool)


def _line(error: BaseException) -> str:
    """An exception as one line: its type, and the first line of its message."""
    text = str(error).strip()
    first = text.splitlines()[0] if text else ""
    return f"{type(error).__name__}: {first}" if first else type(error).__name__


def load_factory(spec: str) -> Factory:
    """The callable `spec` names ("package.module:callable", the callable may be dotted, e.g.
    "module:Class.create"), imported now. ConfigError, saying what is wrong, if it cannot be."""
    if not _FACTORY.match(spec):
        raise ConfigError(
            f"--factory 须为“模块:可调用对象” must be 'module:callable', e.g. "
            f"lunan.exchange.example_adapter:make, not {spec!r}"
        )
    module_name, _, attribute = spec.partition(":")
    try:
        found: Any = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        raise ConfigError(
            f"找不到模块 no module {e.name or module_name!r}: is it installed in the node's "
            "Python environment (or on its PYTHONPATH)?"
        ) from None
    except Exception as e:  # the module's own code failed while being imported
        raise ConfigError(
            f"导入模块{module_name}出错 importing {module_name} failed: {_line(e)}"
        ) from None
    for name in attribute.split("."):
        if not hasattr(found, name):
            raise ConfigError(f"{module_name}中没有{attribute} {module_name} has no {attribute!r}")
        found = getattr(found, name)
    if not callable(found):
        raise ConfigError(f"{spec}不可调用 {spec} is not callable")
    factory: Factory = found
    return factory


def _python_adapter(spec: str, options: Mapping[str, Any]) -> PythonAdapter:
    """Load the factory, call it with the options and check what it returns (ConfigError)."""
    factory = load_factory(spec)
    try:
        made = factory(dict(options))
    except ConfigError:
        raise
    except Exception as e:
        raise ConfigError(f"{spec}出错 {spec} raised {_line(e)}") from None
    fetch = getattr(made, "fetch", None)
    if not callable(fetch):
        raise ConfigError(
            f"{spec}的返回值没有fetch方法 {spec} returned {type(made).__name__}, not an adapter "
            "(an object with fetch(params, fields, row_filter, limit))"
        )
    try:
        inspect.signature(fetch).bind({}, [], {}, 1)
    except TypeError:
        raise ConfigError(
            f"{spec}返回的fetch参数不对 the fetch of what {spec} returned must take "
            "(params, fields, row_filter, limit)"
        ) from None
    except ValueError:  # no signature to inspect (a builtin): it will be tried when called
        pass
    return PythonAdapter(spec, made)


class PythonAdapter:
    """A city's own adapter, made by its factory: any exception it raises becomes an
    AdapterError (its type only: a message could quote the request), and what it returns is
    checked to be a list of rows with plain values before the provider sees it."""

    def __init__(self, spec: str, adapter: Adapter) -> None:
        self.spec = spec
        self.adapter = adapter

    def fetch(
        self,
        params: Mapping[str, str],
        fields: Sequence[str],
        row_filter: Mapping[str, Sequence[str]],
        limit: int,
    ) -> list[dict[str, Any]]:
        try:
            rows = self.adapter.fetch(params, fields, row_filter, limit)
        except AdapterError:
            raise
        except Exception as e:
            raise AdapterError(f"python source {self.spec}: raised {type(e).__name__}") from None
        if not isinstance(rows, list | tuple):
            raise AdapterError(
                f"python source {self.spec}: returned {type(rows).__name__}, not a list of rows"
            )
        out: list[dict[str, Any]] = []
        for row in rows[:limit]:
            if not isinstance(row, Mapping) or not all(isinstance(k, str) for k in row):
                raise AdapterError(f"python source {self.spec}: a row is not a dict of fields")
            plain = {k: _plain(v) for k, v in row.items()}
            if not all(_json_value(v) for v in plain.values()):
                raise AdapterError(
                    f"python source {self.spec}: values must be str, int, float, bool or None"
                )
            out.append(plain)
        return out


# --- configuration: data_services -----------------------------------------------------------------


@dataclass(frozen=True)
class ServiceConfig:
    service: str
    dataset: str  # the catalog entry's object id
    adapter: AdapterKind
    config: dict[str, Any]
    updated_at: str

    def describe(self) -> str:
        """One line for people: the adapter and where it reads, without any password."""
        if self.adapter == "table":
            return "table: imported rows"
        if self.adapter == "python":  # not the options: they may hold a password
            return f"python: {self.config.get('factory', '')}"
        url = self.config.get("url", "")
        shown = make_url(url).render_as_string(hide_password=True) if self.adapter == "sql" else url
        table_name = self.config.get("table")
        return f"{self.adapter}: {shown}" + (f" table {table_name}" if table_name else "")


# Asked on every exchange served (is the cached adapter still the configured one?): built once.
_CONFIG = select(data_services).where(data_services.c.service == bindparam("service"))


def get_config(engine: Engine, service: str) -> ServiceConfig | None:
    with engine.connect() as conn:
        row = conn.execute(_CONFIG, {"service": service}).first()
    return None if row is None else _config(row)


def list_configs(engine: Engine) -> list[ServiceConfig]:
    with engine.connect() as conn:
        rows = conn.execute(select(data_services).order_by(data_services.c.service)).all()
    return [_config(r) for r in rows]


def _config(row: Any) -> ServiceConfig:
    return ServiceConfig(row.service, row.dataset, row.adapter, loads(row.config), row.updated_at)


def save_config(
    engine: Engine, service: str, dataset: str, adapter: AdapterKind, config: Mapping[str, Any]
) -> ServiceConfig:
    values = {
        "service": service,
        "dataset": dataset,
        "adapter": adapter,
        "config": dumps(dict(config)),
        "updated_at": now_shanghai(),
    }
    with engine.begin() as conn:
        conn.execute(delete(data_services).where(data_services.c.service == service))
        conn.execute(insert(data_services).values(**values))
    return ServiceConfig(service, dataset, adapter, dict(config), values["updated_at"])


def check_config(adapter: AdapterKind, config: Mapping[str, Any], fields: Sequence[str]) -> None:
    """Refuse a configuration that cannot work, saying why (a SQL source is queried once)."""
    if adapter == "sql":
        if not config.get("url") or not config.get("table"):
            raise ConfigError(
                "SQL适配器需要 --url 和 --table the sql adapter needs --url and --table"
            )
        sql = SqlAdapter(config["url"], config["table"], config.get("columns"))
        try:
            sql.check(fields)
        finally:
            sql.engine.dispose()
    elif adapter == "http":
        parts = urlsplit(str(config.get("url", "")))
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError("HTTP适配器需要 --url http(s)://… the http adapter needs an http URL")
    elif adapter == "python":
        if not config.get("factory"):
            raise ConfigError(
                "python适配器需要 --factory 模块:可调用对象 the python adapter needs "
                "--factory module:callable"
            )
        # Imported and called now, so that a mistake shows at configure time, not at a call.
        _python_adapter(str(config["factory"]), _options(config))


def _options(config: Mapping[str, Any]) -> dict[str, Any]:
    options = config.get("options", {})
    if not isinstance(options, dict):
        raise ConfigError("--options 须为JSON对象 must be a JSON object")
    return options


def build(
    engine: Engine, config: ServiceConfig, dataset_code: str, key_field: str | None
) -> Adapter:
    """The adapter a configuration describes. `engine` is the node's, for the table adapter.
    ConfigError when it cannot be made (for a python adapter: anything going wrong while its
    factory is imported and called)."""
    if config.adapter == "table":
        return TableAdapter(engine, dataset_code, key_field)
    if config.adapter == "sql":
        return SqlAdapter(
            config.config["url"], config.config["table"], config.config.get("columns")
        )
    if config.adapter == "python":
        return _python_adapter(str(config.config.get("factory", "")), _options(config.config))
    return HttpAdapter(config.config["url"], float(config.config.get("timeout", HTTP_TIMEOUT)))


def config_json(config: ServiceConfig) -> str:
    """The configuration as stored, to tell when a cached adapter is out of date."""
    return json.dumps([config.dataset, config.adapter, config.config], sort_keys=True)
