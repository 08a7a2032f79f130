"""decision: stored loss estimates

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _text(name: str, length: int, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sqlmodel.sql.sqltypes.AutoString(length=length), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "loss_estimate",
        _text("estimate_id", 32),
        _text("tenant", 64, nullable=True),
        _text("created_by", 64),
        _text("name", 256),
        _text("response_level", 4),
        _text("pager_alert", 8),
        sa.Column("fatalities", sa.Float(), nullable=False),
        sa.Column("economic_loss", sa.Float(), nullable=False),
        sa.Column("displaced", sa.Float(), nullable=False),
        sa.Column("n_assets", sa.Integer(), nullable=False),
        sa.Column("realisations", sa.Integer(), nullable=False),
        sa.Column("observations", sa.Integer(), nullable=False),
        sa.Column("summary_json", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("estimate_id"),
    )
    op.create_index(op.f("ix_loss_estimate_tenant"), "loss_estimate", ["tenant"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_loss_estimate_tenant"), table_name="loss_estimate")
    op.drop_table("loss_estimate")
