"""consultation records (咨询接待记录, issue 18 part 4); the audit viewer's index on (hall, time)

Revision ID: 0008_supervision
Revises: 0004_cases
Create Date: 2026-12-06 04:30:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from hall_queue.infrastructure.migrations.schema_ops import (
    date,
    integer,
    ref,
    string,
    text,
    timestamp,
)

revision = '0008_supervision'
down_revision = '0004_cases'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('consultations',
    integer('id'),
    integer('hall_id'),
    string('channel', 10),
    integer('item_id', null=True),
    text('question'),
    string('asker_masked', 64),
    text('contact_cipher', null=True),
    string('contact_masked', 64),
    timestamp('received_at'),
    integer('received_by_id', null=True),
    date('due_on'),
    text('answer'),
    timestamp('answered_at', null=True),
    integer('answered_by_id', null=True),
    ref('answered_by_id', 'staff'),
    ref('hall_id', 'halls'),
    ref('item_id', 'service_items'),
    ref('received_by_id', 'staff'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_consultation_pending', 'consultations', ['hall_id', 'answered_at', 'due_on'], unique=False)
    op.create_index(op.f('ix_consultations_hall_id'), 'consultations', ['hall_id'], unique=False)
    op.create_index('ix_audit_hall_at', 'audit_events', ['hall_id', 'at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_audit_hall_at', table_name='audit_events')
    op.drop_index(op.f('ix_consultations_hall_id'), table_name='consultations')
    op.drop_index('ix_consultation_pending', table_name='consultations')
    op.drop_table('consultations')
