"""decision: plan notification outbox; activations made on an exercise server

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def _text(name: str, length: int, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sqlmodel.sql.sqltypes.AutoString(length=length), nullable=nullable)


def upgrade() -> None:
    with op.batch_alter_table("plan_activation") as batch:
        batch.add_column(sa.Column("exercise", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table(
        "plan_notification",
        _text("notification_id", 32),
        _text("activation_id", 32),
        _text("tenant", 64, nullable=True),
        _text("kind", 16),
        _text("role", 64),
        _text("channel", 16),
        _text("address", 512),
        sa.Column("payload_json", sa.Text(), nullable=False),
        _text("status", 16),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _text("last_error", 512),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("notification_id"),
    )
    op.create_index(op.f("ix_plan_notification_activation_id"), "plan_notification", ["activation_id"], unique=False)
    op.create_index("ix_plan_notification_due", "plan_notification", ["status", "next_attempt_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_plan_notification_due", table_name="plan_notification")
    op.drop_index(op.f("ix_plan_notification_activation_id"), table_name="plan_notification")
    op.drop_table("plan_notification")
    with op.batch_alter_table("plan_activation") as batch:
        batch.drop_column("exercise")
