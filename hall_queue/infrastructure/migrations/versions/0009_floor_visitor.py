"""Where visitors wait and where the hall is: window areas, the hall's address and elderly age (issue 21)

Revision ID: 0009_floor_visitor
Revises: 0004_cases
Create Date: 2026-12-06 04:40:00
"""
from __future__ import annotations

from hall_queue.infrastructure.migrations.schema_ops import (
    add_columns,
    drop_columns,
    integer,
    string,
)

revision = '0009_floor_visitor'
down_revision = '0008_supervision'
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_columns('halls', string('address', 200, null=True), integer('elderly_age', null=True))
    add_columns('windows', string('area', 40, null=True))


def downgrade() -> None:
    drop_columns('windows', 'area')
    drop_columns('halls', 'elderly_age', 'address')
