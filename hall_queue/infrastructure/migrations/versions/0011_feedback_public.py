"""Issue 18 gaps: questions asked on the public form (look-up code, rate-limit hashes) and corrective
measures withheld from the public page

Revision ID: 0011_feedback_public
Revises: 0006_service_levels
Create Date: 2026-12-06 07:30:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from hall_queue.infrastructure.migrations.schema_ops import create_indexes

revision = '0011_feedback_public'
down_revision = '0006_service_levels'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('consultations') as batch:
        batch.add_column(sa.Column('lookup_hash', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('source_hash', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('device_hash', sa.String(length=64), nullable=True))
        batch.create_index(batch.f('ix_consultations_source_hash'), ['source_hash'], unique=False)
        batch.create_index(batch.f('ix_consultations_device_hash'), ['device_hash'], unique=False)
    op.create_table('withheld_measures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('hall_id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('withheld_by_id', sa.Integer(), nullable=True),
    sa.Column('withheld_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['hall_id'], ['halls.id'], ),
    sa.ForeignKeyConstraint(['withheld_by_id'], ['staff.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('source', 'source_id', name='uq_withheld_measure')
    )
    create_indexes('withheld_measures', 'hall_id')


def downgrade() -> None:
    op.drop_table('withheld_measures')
    with op.batch_alter_table('consultations') as batch:
        batch.drop_index(batch.f('ix_consultations_device_hash'))
        batch.drop_index(batch.f('ix_consultations_source_hash'))
        batch.drop_column('device_hash')
        batch.drop_column('source_hash')
        batch.drop_column('lookup_hash')
