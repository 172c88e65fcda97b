"""Drop two indexes that a wider one already serves: every ticket and audit row wrote a page for each (issue 19)

``ix_tickets_hall_id`` (hall_id) is the leading column of the unique ``uq_ticket_idempotency`` (hall_id,
idempotency_key), and ``ix_audit_events_hall_id`` (hall_id) of ``ix_audit_hall_at`` (hall_id, at): both engines
answer a lookup by hall (and PostgreSQL checks a hall's foreign keys) from those, so the narrow copies only cost a
page written per ticket issued and per audit event recorded.

Revision ID: 0014_drop_prefix_indexes
Revises: 0013_break_plan
Create Date: 2026-12-07 04:00:00
"""
from __future__ import annotations

from alembic import op

revision = '0014_drop_prefix_indexes'
down_revision = '0013_break_plan'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index('ix_tickets_hall_id', table_name='tickets')
    op.drop_index('ix_audit_events_hall_id', table_name='audit_events')


def downgrade() -> None:
    op.create_index('ix_audit_events_hall_id', 'audit_events', ['hall_id'])
    op.create_index('ix_tickets_hall_id', 'tickets', ['hall_id'])
