"""Windows' break plans (午休轮岗、工间休息), read by the wait estimate (issue 17)

Revision ID: 0013_break_plan
Revises: 0012_kiosk_supply
Create Date: 2026-12-06 11:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0013_break_plan'
down_revision = '0012_kiosk_supply'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('windows') as batch:
        batch.add_column(sa.Column('break_plan', sa.JSON(), nullable=False, server_default='[]'))


def downgrade() -> None:
    with op.batch_alter_table('windows') as batch:
        batch.drop_column('break_plan')
