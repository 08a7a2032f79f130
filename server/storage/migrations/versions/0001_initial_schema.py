"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('api_token',
    sa.Column('token_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('secret_sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('tenant', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('token_id')
    )
    op.create_table('audit_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('time', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('tenant', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('target', sqlmodel.sql.sqltypes.AutoString(length=256), nullable=False),
    sa.Column('details_json', sa.Text(), nullable=False),
    sa.Column('prev_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('hash'),
    sa.UniqueConstraint('prev_hash')
    )
    op.create_table('structure',
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('longitude_deg', sa.Float(), nullable=False),
    sa.Column('latitude_deg', sa.Float(), nullable=False),
    sa.Column('elevation_m', sa.Float(), nullable=False),
    sa.Column('tenant', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('network_code', sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False),
    sa.Column('station_code', sqlmodel.sql.sqltypes.AutoString(length=5), nullable=False),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('structure_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('structure_id')
    )
    with op.batch_alter_table('structure', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_structure_tenant'), ['tenant'], unique=False)

    op.create_table('channel',
    sa.Column('array_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('seed_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('azimuth_deg', sa.Float(), nullable=False),
    sa.Column('dip_deg', sa.Float(), nullable=False),
    sa.Column('orientation', sqlmodel.sql.sqltypes.AutoString(length=4), nullable=False),
    sa.Column('x_m', sa.Float(), nullable=False),
    sa.Column('y_m', sa.Float(), nullable=False),
    sa.Column('z_m', sa.Float(), nullable=False),
    sa.Column('floor', sa.Integer(), nullable=False),
    sa.Column('height_m', sa.Float(), nullable=False),
    sa.Column('units', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.Column('sensitivity', sa.Float(), nullable=False),
    sa.Column('sample_rate_hz', sa.Float(), nullable=False),
    sa.Column('clip_level', sa.Float(), nullable=False),
    sa.Column('structure_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('channel_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.ForeignKeyConstraint(['structure_id'], ['structure.structure_id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('structure_id', 'channel_id')
    )
    with op.batch_alter_table('channel', schema=None) as batch_op:
        batch_op.create_index('ix_channel_seed_id', ['seed_id'], unique=True)

    op.create_table('channel_status',
    sa.Column('structure_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('channel_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('status_json', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['structure_id'], ['structure.structure_id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('structure_id', 'channel_id')
    )


def downgrade() -> None:
    op.drop_table('channel_status')
    with op.batch_alter_table('channel', schema=None) as batch_op:
        batch_op.drop_index('ix_channel_seed_id')

    op.drop_table('channel')
    with op.batch_alter_table('structure', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_structure_tenant'))

    op.drop_table('structure')
    op.drop_table('audit_entry')
    op.drop_table('api_token')
