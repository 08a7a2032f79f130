"""mine: catalogue events and warning grade changes

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _text(name: str, length: int, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sqlmodel.sql.sqltypes.AutoString(length=length), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "mine_event",
        _text("mine_id", 64),
        _text("event_id", 64),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("x_m", sa.Float(), nullable=False),
        sa.Column("y_m", sa.Float(), nullable=False),
        sa.Column("z_m", sa.Float(), nullable=False),
        sa.Column("magnitude", sa.Float(), nullable=False),
        sa.Column("energy_j", sa.Float(), nullable=True),
        sa.Column("moment_nm", sa.Float(), nullable=True),
        _text("type", 8),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("mine_id", "event_id"),
    )
    op.create_index(op.f("ix_mine_event_time"), "mine_event", ["time"], unique=False)
    op.create_table(
        "mine_grade_change",
        sa.Column("id", sa.Integer(), nullable=False),
        _text("mine_id", 64),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        _text("event_id", 64),
        _text("previous", 8),
        _text("grade", 8),
        sa.Column("reasons_json", sa.Text(), nullable=False),
        _text("rule_table", 128),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_mine_grade_change_mine_id"), "mine_grade_change", ["mine_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_mine_grade_change_mine_id"), table_name="mine_grade_change")
    op.drop_table("mine_grade_change")
    op.drop_index(op.f("ix_mine_event_time"), table_name="mine_event")
    op.drop_table("mine_event")
