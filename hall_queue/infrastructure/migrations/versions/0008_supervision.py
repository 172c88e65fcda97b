"""consultation records (咨询接待记录, issue 18 part 4); the audit viewer's index on (hall, time)

Revision ID: 0008_supervision
Revises: 0004_cases
Create Date: 2026-12-06 04:30:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008_supervision'
down_revision = '0004_cases'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('consultations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('hall_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=True),
    sa.Column('question', sa.Text(), nullable=False),
    sa.Column('asker_masked', sa.String(length=64), nullable=False),
    sa.Column('contact_cipher', sa.Text(), nullable=True),
    sa.Column('contact_masked', sa.String(length=64), nullable=False),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.Column('received_by_id', sa.Integer(), nullable=True),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('answer', sa.Text(), nullable=False),
    sa.Column('answered_at', sa.DateTime(), nullable=True),
    sa.Column('answered_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['answered_by_id'], ['staff.id'], ),
    sa.ForeignKeyConstraint(['hall_id'], ['halls.id'], ),
    sa.ForeignKeyConstraint(['item_id'], ['service_items.id'], ),
    sa.ForeignKeyConstraint(['received_by_id'], ['staff.id'], ),
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
