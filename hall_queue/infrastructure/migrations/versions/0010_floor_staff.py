"""The hall's minimum time before a called visitor may be marked no-show (issue 21: the clerk console)

Revision ID: 0010_floor_staff
Revises: 0004_cases
Create Date: 2026-12-06 04:40:00
"""
from __future__ import annotations

from hall_queue.infrastructure.migrations.schema_ops import (
    add_columns,
    drop_columns,
    integer,
)

revision = '0010_floor_staff'
down_revision = '0007_rating_loop'
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_columns('halls', integer('no_show_min_s', server_default='120'))


def downgrade() -> None:
    drop_columns('halls', 'no_show_min_s')
