"""Issue 18 gaps: questions asked on the public form (look-up code, rate-limit hashes) and corrective
measures withheld from the public page

Revision ID: 0011_feedback_public
Revises: 0006_service_levels
Create Date: 2026-12-06 07:30:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from hall_queue.infrastructure.migrations.schema_ops import (
    create_indexes,
    integer,
    ref,
    string,
    timestamp,
)

revision = '0011_feedback_public'
down_revision = '0006_service_levels'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('consultations') as batch:
        batch.add_column(string('lookup_hash', 64, null=True))
        batch.add_column(string('source_hash', 64, null=True))
        batch.add_column(string('device_hash', 64, null=True))
        batch.create_index(batch.f('ix_consultations_source_hash'), ['source_hash'], unique=False)
        batch.create_index(batch.f('ix_consultations_device_hash'), ['device_hash'], unique=False)
    op.create_table('withheld_measures',
    integer('id'),
    integer('hall_id'),
    string('source', 16),
    integer('source_id'),
    string('reason', 500),
    integer('withheld_by_id', null=True),
    timestamp('withheld_at'),
    ref('hall_id', 'halls'),
    ref('withheld_by_id', 'staff'),
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
