"""Entries are stored 256 to a row, as tlog-tiles entry bundles (log_entries → log_bundles).

Revision ID: 0006_entry_bundles
Revises: 0005_alert_resolution
"""

from __future__ import annotations

from collections.abc import Iterator

import sqlalchemy as sa
from alembic import op

revision = "0006_entry_bundles"
down_revision = "0005_alert_resolution"
branch_labels = None
depends_on = None

WIDTH = 256
BATCH = 64  # bundles per INSERT


def _bundle(entries: list[bytes]) -> bytes:
    return b"".join(len(e).to_bytes(2, "big") + e for e in entries)


def _unbundle(data: bytes) -> Iterator[bytes]:
    i = 0
    while i < len(data):
        j = i + 2 + (data[i] << 8 | data[i + 1])
        yield data[i + 2 : j]
        i = j


def _check_no_gaps(conn: sa.Connection) -> None:
    """Refuse, before changing anything, a store whose entries do not run 0, 1, … per log."""
    q = sa.text("SELECT log_id, COUNT(*), MAX(idx) FROM log_entries GROUP BY log_id")
    for log_id, count, top in conn.execute(q):
        if count != top + 1:
            raise RuntimeError(
                f"log {log_id} holds {count} entries up to index {top}: the store is damaged "
                "(entries are missing); restore it from a backup before upgrading"
            )


def upgrade() -> None:
    conn = op.get_bind()
    _check_no_gaps(conn)
    bundles = op.create_table(
        "log_bundles",
        sa.Column("log_id", sa.Integer, sa.ForeignKey("logs.id"), primary_key=True),
        sa.Column("idx", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("first", sa.SmallInteger, primary_key=True, autoincrement=False),
        sa.Column("width", sa.SmallInteger, nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
    )
    assert bundles is not None
    pending: list[dict[str, object]] = []
    current: tuple[int, int] | None = None  # (log_id, bundle index)
    held: list[bytes] = []

    def close_bundle() -> None:
        if current is not None and held:
            pending.append(
                {
                    "log_id": current[0],
                    "idx": current[1],
                    "first": 0,
                    "width": len(held),
                    "data": _bundle(held),
                }
            )
        if len(pending) >= BATCH:
            conn.execute(bundles.insert(), pending)
            pending.clear()

    q = sa.text("SELECT log_id, idx, data FROM log_entries ORDER BY log_id, idx")
    with conn.execute(q.execution_options(yield_per=4096)) as rows:
        for log_id, idx, data in rows:  # 0, 1, … per log: _check_no_gaps said so
            if current != (log_id, idx // WIDTH):
                close_bundle()
                current, held = (log_id, idx // WIDTH), []
            held.append(bytes(data))
    close_bundle()
    if pending:
        conn.execute(bundles.insert(), pending)
    op.drop_table("log_entries")


def downgrade() -> None:
    entries = op.create_table(
        "log_entries",
        sa.Column("log_id", sa.Integer, sa.ForeignKey("logs.id"), primary_key=True),
        sa.Column("idx", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
        sqlite_with_rowid=False,
    )
    assert entries is not None
    conn = op.get_bind()
    q = sa.text("SELECT log_id, idx, first, data FROM log_bundles ORDER BY log_id, idx, first")
    with conn.execute(q.execution_options(yield_per=64)) as rows:
        for log_id, idx, first, data in rows:
            conn.execute(
                entries.insert(),
                [
                    {"log_id": log_id, "idx": idx * WIDTH + first + i, "data": e}
                    for i, e in enumerate(_unbundle(bytes(data)))
                ],
            )
    op.drop_table("log_bundles")
