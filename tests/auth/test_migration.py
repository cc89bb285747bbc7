"""The 0003_auth migration builds exactly the tables lunan.storage.schema declares, and undoes
them again, on every database backend."""

from __future__ import annotations

from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

from lunan.storage import db
from lunan.storage.schema import metadata

AUTH_TABLES = {"users", "api_tokens", "auth_sessions"}


def only_auth_tables(name: str | None, type_: str, _parent: Any) -> bool:
    """Reflect only our tables: other stages keep theirs in step themselves."""
    return type_ != "table" or name in AUTH_TABLES


def only_auth_objects(obj: Any, name: str | None, type_: str, *_: Any) -> bool:
    """Compare only our tables, their columns, indexes and constraints."""
    table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", None)
    return table in AUTH_TABLES


def test_the_migrated_auth_tables_match_the_schema(engine: Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={
                "include_name": only_auth_tables,
                "include_object": only_auth_objects,
                "compare_type": True,
            },
        )
        assert compare_metadata(context, metadata) == []
    assert set(inspect(engine).get_table_names()) >= AUTH_TABLES


def test_the_auth_migration_can_be_undone_and_redone(engine: Engine) -> None:
    config = Config()
    config.set_main_option("script_location", str(db.MIGRATIONS))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0002")
    assert not AUTH_TABLES & set(inspect(engine).get_table_names())
    db.migrate(engine)
    assert db.is_current(engine)
    assert set(inspect(engine).get_table_names()) >= AUTH_TABLES
