"""How the embedded database is opened: page size, journal, durability."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import text

from lunan.storage import db


def pragma(path: Path, name: str) -> object:
    engine = db.open_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            return conn.execute(text(f"PRAGMA {name}")).scalar()
    finally:
        engine.dispose()


def test_a_new_database_has_16_kib_pages_a_wal_and_full_sync(tmp_path: Path) -> None:
    path = tmp_path / "node.db"
    assert pragma(path, "page_size") == 16384
    assert pragma(path, "journal_mode") == "wal"
    assert pragma(path, "synchronous") == 2  # FULL


def test_an_existing_database_keeps_its_page_size_and_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as old:  # as made before: 4 KiB pages
        old.execute("PRAGMA page_size=4096")
        old.execute("CREATE TABLE t (x BLOB)")
        old.execute("INSERT INTO t VALUES (zeroblob(100000))")
    old.close()
    assert pragma(path, "page_size") == 4096
    engine = db.open_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES (zeroblob(100000))"))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*), sum(length(x)) FROM t")).one() == (2, 200000)
    engine.dispose()
