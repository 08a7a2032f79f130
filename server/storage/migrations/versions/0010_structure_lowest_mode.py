"""registry: a structure's slowest mode frequency (0: found in each record)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("structure") as batch:
        batch.add_column(sa.Column("lowest_mode_hz", sa.Float(), nullable=False, server_default=sa.text("0")))


def downgrade() -> None:
    with op.batch_alter_table("structure") as batch:
        batch.drop_column("lowest_mode_hz")
