"""容缺 materials scanned at the kiosk (case_attachments) and the limit on typed acceptance numbers (lookup_hits)

Revision ID: 0012_kiosk_supply
Revises: 0011_feedback_public
Create Date: 2026-12-06 07:40:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from hall_queue.infrastructure.migrations.schema_ops import (
    create_indexes,
    drop_tables,
    integer,
    ref,
    scanned_page_columns,
    string,
    timestamp,
)

revision = '0012_kiosk_supply'
down_revision = '0011_feedback_public'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('case_attachments',
    integer('id'),
    integer('hall_id'),
    integer('case_id'),
    integer('material_id'),
    *scanned_page_columns(),
    ref('hall_id', 'halls'),
    ref('case_id', 'cases'),
    ref('material_id', 'deferred_materials'),
    ref('uploaded_by_token_id', 'access_tokens'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('case_id', 'position', name='uq_case_attachment_position')
    )
    create_indexes('case_attachments', 'hall_id', 'case_id', 'material_id')
    op.create_table('lookup_hits',
    integer('id'),
    string('scope', 10),
    string('key', 64),
    timestamp('at'),
    sa.PrimaryKeyConstraint('id')
    )
    create_indexes('lookup_hits', ('ix_lookup_hit_key_at', 'scope', 'key', 'at'))


def downgrade() -> None:
    drop_tables('lookup_hits', 'case_attachments')
