"""Data exchange: service adapters, imported rows, exchange nonces (node-local, never replicated).

Revision ID: 0004_exchange
Revises: 0003_auth
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_exchange"
down_revision = "0003_auth"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "data_services",
        sa.Column("service", sa.Text, primary_key=True),
        sa.Column("dataset", sa.Text, nullable=False),
        sa.Column("adapter", sa.Text, nullable=False),
        sa.Column("config", sa.Text, nullable=False),
        sa.Column("updated_at", sa.Text, nullable=False),
    )
    op.create_table(
        "data_rows",
        sa.Column("dataset", sa.Text, primary_key=True),
        sa.Column("row", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("key", sa.Text),
        sa.Column("data", sa.Text, nullable=False),
    )
    op.create_index("ix_data_rows_dataset_key", "data_rows", ["dataset", "key"])
    op.create_table(
        "exchange_secrets",
        sa.Column("request_id", sa.Text, primary_key=True),
        sa.Column("role", sa.Text, primary_key=True),
        sa.Column("nonce", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.Text, nullable=False),
    )


def downgrade() -> None:
    for table in ("exchange_secrets", "data_rows", "data_services"):
        op.drop_table(table)
