"""The hall's minimum time before a called visitor may be marked no-show (issue 21: the clerk console)

Revision ID: 0010_floor_staff
Revises: 0004_cases
Create Date: 2026-12-06 04:40:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0010_floor_staff'
down_revision = '0007_rating_loop'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('halls') as batch:
        batch.add_column(sa.Column('no_show_min_s', sa.Integer(), server_default='120', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('halls') as batch:
        batch.drop_column('no_show_min_s')
