"""decision: plan activations and dispatch plans

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _text(name: str, length: int, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sqlmodel.sql.sqltypes.AutoString(length=length), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "plan_activation",
        _text("activation_id", 32),
        _text("tenant", 64, nullable=True),
        _text("created_by", 64),
        _text("plan_id", 128),
        _text("plan_version", 64),
        _text("plan_sha256", 64),
        sa.Column("plan_text", sa.Text(), nullable=False),
        _text("level", 4),
        sa.Column("origin_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("open", sa.Boolean(), nullable=False),
        sa.Column("situation_json", sa.Text(), nullable=False),
        sa.Column("decision_json", sa.Text(), nullable=False),
        sa.Column("actions_json", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("activation_id"),
    )
    op.create_index(op.f("ix_plan_activation_tenant"), "plan_activation", ["tenant"], unique=False)
    op.create_index(op.f("ix_plan_activation_open"), "plan_activation", ["open"], unique=False)
    op.create_table(
        "dispatch_plan",
        _text("dispatch_id", 32),
        _text("tenant", 64, nullable=True),
        _text("created_by", 64),
        sa.Column("objective", sa.Float(), nullable=False),
        sa.Column("n_shipments", sa.Integer(), nullable=False),
        sa.Column("unmet_total", sa.Float(), nullable=False),
        sa.Column("document_json", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("dispatch_id"),
    )
    op.create_index(op.f("ix_dispatch_plan_tenant"), "dispatch_plan", ["tenant"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_dispatch_plan_tenant"), table_name="dispatch_plan")
    op.drop_table("dispatch_plan")
    op.drop_index(op.f("ix_plan_activation_open"), table_name="plan_activation")
    op.drop_index(op.f("ix_plan_activation_tenant"), table_name="plan_activation")
    op.drop_table("plan_activation")
