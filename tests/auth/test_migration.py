"""The 0003_auth migration builds exactly the tables lunan.storage.schema declares, and undoes
them again, on every database backend."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from factories import schema_differences
from sqlalchemy import Engine, inspect

from lunan.storage import db

AUTH_TABLES = {"users", "api_tokens", "auth_sessions"}


def test_the_migrated_auth_tables_match_the_schema(engine: Engine) -> None:
    assert schema_differences(engine, AUTH_TABLES) == []
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
