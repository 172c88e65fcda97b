"""Windows' break plans (午休轮岗、工间休息), read by the wait estimate (issue 17)

Revision ID: 0013_break_plan
Revises: 0012_kiosk_supply
Create Date: 2026-12-06 11:00:00
"""
from __future__ import annotations

from hall_queue.infrastructure.migrations.schema_ops import (
    add_columns,
    drop_columns,
    json,
)

revision = '0013_break_plan'
down_revision = '0012_kiosk_supply'
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_columns('windows', json('break_plan', server_default='[]'))


def downgrade() -> None:
    drop_columns('windows', 'break_plan')
