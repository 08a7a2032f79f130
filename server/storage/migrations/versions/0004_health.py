"""structural health: modal results and assessments

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _id(name: str, length: int) -> sa.Column:
    return sa.Column(name, sqlmodel.sql.sqltypes.AutoString(length=length), nullable=False)


def upgrade() -> None:
    op.create_table(
        "modal_result",
        _id("result_id", 32),
        _id("structure_id", 64),
        _id("tenant", 64),
        sa.Column("window_end_ns", sa.BigInteger(), nullable=False),
        sa.Column("n_modes", sa.Integer(), nullable=False),
        sa.Column("result_json", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["structure_id"], ["structure.structure_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("result_id"),
    )
    op.create_index("ix_modal_result_structure_end", "modal_result", ["structure_id", "window_end_ns"], unique=False)
    op.create_index(op.f("ix_modal_result_tenant"), "modal_result", ["tenant"], unique=False)
    op.create_table(
        "health_assessment",
        _id("assessment_id", 32),
        _id("structure_id", 64),
        _id("tenant", 64),
        _id("kind", 16),
        _id("status", 8),
        sa.Column("time_ns", sa.BigInteger(), nullable=False),
        sa.Column("assessment_json", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["structure_id"], ["structure.structure_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("assessment_id"),
    )
    op.create_index("ix_assessment_structure_time", "health_assessment", ["structure_id", "time_ns"], unique=False)
    op.create_index(op.f("ix_health_assessment_tenant"), "health_assessment", ["tenant"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_health_assessment_tenant"), table_name="health_assessment")
    op.drop_index("ix_assessment_structure_time", table_name="health_assessment")
    op.drop_table("health_assessment")
    op.drop_index(op.f("ix_modal_result_tenant"), table_name="modal_result")
    op.drop_index("ix_modal_result_structure_end", table_name="modal_result")
    op.drop_table("modal_result")
