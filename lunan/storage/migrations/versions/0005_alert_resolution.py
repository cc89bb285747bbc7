"""Alerts get a lifecycle: open until an operator resolves one, with who, when and a note.

Revision ID: 0005_alert_resolution
Revises: 0004_exchange
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_alert_resolution"
down_revision = "0004_exchange"
branch_labels = None
depends_on = None

COLUMNS = ("resolved_at", "resolved_by", "resolved_via", "resolution_note")


def upgrade() -> None:
    # Every alert raised so far stays open: nobody has resolved one yet.
    with op.batch_alter_table("alerts") as batch:
        for name in COLUMNS:
            batch.add_column(sa.Column(name, sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        for name in reversed(COLUMNS):
            batch.drop_column(name)
