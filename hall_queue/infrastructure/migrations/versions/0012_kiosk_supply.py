"""容缺 materials scanned at the kiosk (case_attachments) and the limit on typed acceptance numbers (lookup_hits)

Revision ID: 0012_kiosk_supply
Revises: 0011_feedback_public
Create Date: 2026-12-06 07:40:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from hall_queue.infrastructure.migrations.schema_ops import create_indexes, drop_tables

revision = '0012_kiosk_supply'
down_revision = '0011_feedback_public'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('case_attachments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('hall_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('material_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('content_type', sa.String(length=20), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('page_size_name', sa.String(length=20), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('uploaded_at', sa.DateTime(), nullable=False),
    sa.Column('uploaded_by_token_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['hall_id'], ['halls.id'], ),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.ForeignKeyConstraint(['material_id'], ['deferred_materials.id'], ),
    sa.ForeignKeyConstraint(['uploaded_by_token_id'], ['access_tokens.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('case_id', 'position', name='uq_case_attachment_position')
    )
    create_indexes('case_attachments', 'hall_id', 'case_id', 'material_id')
    op.create_table('lookup_hits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scope', sa.String(length=10), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    create_indexes('lookup_hits', ('ix_lookup_hit_key_at', 'scope', 'key', 'at'))


def downgrade() -> None:
    drop_tables('lookup_hits', 'case_attachments')
