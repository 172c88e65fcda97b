"""complaint form limited per device as well as per address (issue 13, finding 6)

Revision ID: 0002_complaint_device
Revises: 0001
Create Date: 2026-12-06 02:00:00
"""
from __future__ import annotations

from alembic import op

from hall_queue.infrastructure.migrations.schema_ops import string

revision = '0002_complaint_device'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('complaints') as batch:
        batch.add_column(string('device_hash', 64, null=True))
        batch.create_index('ix_complaints_device_hash', ['device_hash'])


def downgrade() -> None:
    with op.batch_alter_table('complaints') as batch:
        batch.drop_index('ix_complaints_device_hash')
        batch.drop_column('device_hash')
