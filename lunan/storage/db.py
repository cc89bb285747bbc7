"""Database engines: SQLite in WAL mode by default, PostgreSQL (psycopg 3) in production."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

MIGRATIONS = Path(__file__).parent / "migrations"


class DatabaseURLError(ValueError):
    """A database URL this program cannot use."""


def resolve_url(url: str, base: Path) -> str:
    """Make a relative SQLite path relative to `base` (the node directory), not the cwd."""
    try:
        parsed = make_url(url)
    except ArgumentError as e:
        raise DatabaseURLError(f"not a database URL: {url!r}") from e
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise DatabaseURLError(
            f"unsupported database {backend!r}: use sqlite:/// or postgresql+psycopg://"
        )
    if backend == "postgresql" and parsed.get_driver_name() != "psycopg":
        raise DatabaseURLError(
            "PostgreSQL URLs must use the psycopg driver: postgresql+psycopg://…"
        )
    if backend == "sqlite" and parsed.database and parsed.database != ":memory:":
        path = Path(parsed.database)
        if not path.is_absolute():
            return parsed.set(database=str(base / path)).render_as_string(hide_password=False)
    return url


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    # Before anything is written: a new database gets 16 KiB pages (an existing one keeps its
    # own). A log stores its entries as blobs of up to ~70 KB; with SQLite's usual 4 KiB pages
    # writing them took four times the system calls, twice (WAL, then the database file),
    # while small commits measured no slower (docs/performance.md).
    cur.execute("PRAGMA page_size=16384")
    # WAL lets pages and API readers run while the writer commits; FULL makes an acknowledged
    # append survive power loss, not only a crash of the process.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def open_engine(url: str) -> Engine:
    if make_url(url).get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def masked(url: str) -> str:
    """A URL fit for messages: never print a password."""
    return make_url(url).render_as_string(hide_password=True)


def first_line(error: Exception) -> str:
    """The driver's own message, without SQLAlchemy's statement dump."""
    orig = getattr(error, "orig", None) or error
    return str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__


def holds_tables(engine: Engine) -> bool:
    return bool(inspect(engine).get_table_names())


def _alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migration."""
    cfg = _alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def is_current(engine: Engine) -> bool:
    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision() == head
