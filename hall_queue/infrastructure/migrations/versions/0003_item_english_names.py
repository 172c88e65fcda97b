"""English names of service items and bundles (issue 21: the kiosk's English mode)

Revision ID: 0003_item_english_names
Revises: 0002_complaint_device
Create Date: 2026-12-06 01:40:00
"""
from __future__ import annotations

from hall_queue.infrastructure.migrations.schema_ops import (
    add_columns,
    drop_columns,
    string,
)

revision = '0003_item_english_names'
down_revision = '0002_complaint_device'
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_columns('service_items', string('name_en', 200, null=True))
    add_columns('bundles', string('name_en', 200, null=True))


def downgrade() -> None:
    drop_columns('bundles', 'name_en')
    drop_columns('service_items', 'name_en')
