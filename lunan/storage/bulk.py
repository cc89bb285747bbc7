"""Many rows in one INSERT statement, straight to the driver.

A multi-row INSERT runs thousands of rows in one driver call, with the interpreter lock released
throughout, where `executemany` (and one statement per row) takes the lock back after every
row — which, while any other thread of the process is busy, waits for that thread's time slice
each time. Values go to the driver as they are (text, integers, bytes), so this is for tables
whose columns need no SQLAlchemy type processing. The SQL is the same for SQLite and PostgreSQL
but for the placeholder.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection

# Parameters in one statement: under SQLite's 32,766 and PostgreSQL's 65,535.
MAX_PARAMETERS = 30_000


@lru_cache(maxsize=256)
def _sql(paramstyle: str, table: str, columns: tuple[str, ...], rows: int, then: str) -> str:
    mark = "?" if paramstyle == "qmark" else "%s"
    row = "(" + ", ".join([mark] * len(columns)) + ")"
    values = ", ".join([row] * rows)
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES {values} {then}".rstrip()


def driver_sql(conn: Connection, sql: str) -> str:
    """SQL written with `?` placeholders, as the connection's driver wants them."""
    return sql if conn.dialect.paramstyle == "qmark" else sql.replace("?", "%s")


def insert_rows(
    conn: Connection,
    table: str,
    columns: tuple[str, ...],
    rows: Sequence[Sequence[Any]],
    then: str = "",
) -> None:
    """Insert `rows` (tuples in the order of `columns`) inside the caller's transaction;
    `then` ends the statement (an ON CONFLICT clause: no two rows may share a key)."""
    per_statement = MAX_PARAMETERS // len(columns)
    for first in range(0, len(rows), per_statement):
        chunk = rows[first : first + per_statement]
        values = tuple(v for row in chunk for v in row)
        sql = _sql(conn.dialect.paramstyle, table, columns, len(chunk), then)
        conn.exec_driver_sql(sql, values)
