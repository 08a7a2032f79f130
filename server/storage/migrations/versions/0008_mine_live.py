"""mine live path: event origin and details, blasting schedule

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def _text(name: str, length: int, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sqlmodel.sql.sqltypes.AutoString(length=length), nullable=nullable)


def upgrade() -> None:
    with op.batch_alter_table("mine_event") as batch:
        batch.add_column(sa.Column("origin", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False, server_default="import"))
        batch.add_column(sa.Column("details_json", sa.Text(), nullable=False, server_default="{}"))
    op.create_table(
        "mine_blasting_window",
        sa.Column("id", sa.Integer(), nullable=False),
        _text("mine_id", 64),
        sa.Column("start_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_time", sa.DateTime(timezone=True), nullable=False),
        _text("face_id", 64),
        sa.Column("x_m", sa.Float(), nullable=False),
        sa.Column("y_m", sa.Float(), nullable=False),
        sa.Column("z_m", sa.Float(), nullable=False),
        sa.Column("radius_m", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_mine_blasting_window_mine_id"), "mine_blasting_window", ["mine_id"], unique=False)
    op.create_index(op.f("ix_mine_blasting_window_start_time"), "mine_blasting_window", ["start_time"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_mine_blasting_window_start_time"), table_name="mine_blasting_window")
    op.drop_index(op.f("ix_mine_blasting_window_mine_id"), table_name="mine_blasting_window")
    op.drop_table("mine_blasting_window")
    with op.batch_alter_table("mine_event") as batch:
        batch.drop_column("details_json")
        batch.drop_column("origin")
