"""English names of service items and bundles (issue 21: the kiosk's English mode)

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06 01:40:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
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
