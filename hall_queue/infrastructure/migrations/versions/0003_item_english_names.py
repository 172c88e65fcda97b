"""English names of service items and bundles (issue 21: the kiosk's English mode)

Revision ID: 0003_item_english_names
Revises: 0002_complaint_device
Create Date: 2026-12-06 01:40:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003_item_english_names'
down_revision = '0002_complaint_device'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('service_items') as batch:
        batch.add_column(sa.Column('name_en', sa.String(length=200), nullable=True))
    with op.batch_alter_table('bundles') as batch:
        batch.add_column(sa.Column('name_en', sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('bundles') as batch:
        batch.drop_column('name_en')
    with op.batch_alter_table('service_items') as batch:
        batch.drop_column('name_en')
