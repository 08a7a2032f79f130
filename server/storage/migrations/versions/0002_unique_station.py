"""one structure per SEED network + station

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("structure", schema=None) as batch_op:
        batch_op.create_unique_constraint("uq_structure_network_station", ["network_code", "station_code"])


def downgrade() -> None:
    with op.batch_alter_table("structure", schema=None) as batch_op:
        batch_op.drop_constraint("uq_structure_network_station", type_="unique")
