"""service levels per hall and queue, guards against abuse, idle intervals, emergency alarms (issue 17)

Revision ID: 0006_service_levels
Revises: 0004_cases
Create Date: 2026-12-06 04:30:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from hall_queue.infrastructure.migrations.schema_ops import (
    add_columns,
    create_indexes,
    date,
    drop_columns,
    drop_tables,
    integer,
    ref,
    string,
    timestamp,
)

revision = '0006_service_levels'
down_revision = '0010_floor_staff'
branch_labels = None
depends_on = None

# (column, default) of the hall's service levels and guards; existing halls get the defaults.
_HALL_COLUMNS = (
    ('sl_max_wait_s', 0), ('sl_max_service_s', 1200), ('sl_max_idle_s', 180), ('sl_max_queue_len', 30),
    ('id_daily_ticket_cap', 0), ('cancelled_slot_hold_min', 0), ('recall_min_gap_s', 0),
)
# A queue's own service levels; NULL keeps the hall's.
_QUEUE_COLUMNS = ('sl_max_wait_s', 'sl_max_service_s', 'sl_max_queue_len')


def upgrade() -> None:
    add_columns('halls', *(integer(name, server_default=str(default)) for name, default in _HALL_COLUMNS))
    add_columns('queues', *(integer(name, null=True) for name in _QUEUE_COLUMNS))
    add_columns('tickets', timestamp('recalled_at', null=True))
    with op.batch_alter_table('alerts') as batch:
        batch.add_column(integer('acknowledged_by_id', null=True))
        batch.create_foreign_key('fk_alerts_acknowledged_by', 'staff', ['acknowledged_by_id'], ['id'])
    op.create_table('id_ticket_counts',
    integer('hall_id'),
    date('service_day'),
    string('id_hash', 64),
    integer('item_id'),
    integer('count'),
    ref('hall_id', 'halls'),
    ref('item_id', 'service_items'),
    sa.PrimaryKeyConstraint('hall_id', 'service_day', 'id_hash', 'item_id')
    )
    op.create_table('idle_intervals',
    integer('id'),
    integer('hall_id'),
    integer('window_id'),
    integer('clerk_id', null=True),
    timestamp('started_at'),
    timestamp('ended_at', null=True),
    ref('hall_id', 'halls'),
    ref('window_id', 'windows'),
    ref('clerk_id', 'staff'),
    sa.PrimaryKeyConstraint('id')
    )
    create_indexes('idle_intervals', 'hall_id', ('ix_idle_window_open', 'window_id', 'ended_at'))


def downgrade() -> None:
    drop_tables('idle_intervals', 'id_ticket_counts')
    with op.batch_alter_table('alerts') as batch:
        batch.drop_constraint('fk_alerts_acknowledged_by', type_='foreignkey')
        batch.drop_column('acknowledged_by_id')
    drop_columns('tickets', 'recalled_at')
    drop_columns('queues', *_QUEUE_COLUMNS)
    drop_columns('halls', *(name for name, _ in reversed(_HALL_COLUMNS)))
