"""Where visitors wait and where the hall is: window areas, the hall's address and elderly age (issue 21)

Revision ID: 0009_floor_visitor
Revises: 0004_cases
Create Date: 2026-12-06 04:40:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0009_floor_visitor'
down_revision = '0008_supervision'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('halls') as batch:
        batch.add_column(sa.Column('address', sa.String(length=200), nullable=True))
        batch.add_column(sa.Column('elderly_age', sa.Integer(), nullable=True))
    with op.batch_alter_table('windows') as batch:
        batch.add_column(sa.Column('area', sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('windows') as batch:
        batch.drop_column('area')
    with op.batch_alter_table('halls') as batch:
        batch.drop_column('elderly_age')
        batch.drop_column('address')
