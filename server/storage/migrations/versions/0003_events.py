"""detected events

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "event",
        sa.Column("event_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("structure_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("tenant", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("classification", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("trigger_time_ns", sa.BigInteger(), nullable=False),
        sa.Column("end_time_ns", sa.BigInteger(), nullable=False),
        sa.Column("max_intensity", sa.Float(), nullable=False),
        sa.Column("max_pga_mps2", sa.Float(), nullable=False),
        sa.Column("event_json", sa.Text(), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["structure_id"], ["structure.structure_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("event_id"),
    )
    op.create_index("ix_event_structure_trigger", "event", ["structure_id", "trigger_time_ns"], unique=False)
    op.create_index(op.f("ix_event_tenant"), "event", ["tenant"], unique=False)
    op.create_index(op.f("ix_event_trigger_time_ns"), "event", ["trigger_time_ns"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_event_trigger_time_ns"), table_name="event")
    op.drop_index(op.f("ix_event_tenant"), table_name="event")
    op.drop_index("ix_event_structure_trigger", table_name="event")
    op.drop_table("event")
