"""service levels per hall and queue, guards against abuse, idle intervals, emergency alarms (issue 17)

Revision ID: 0006_service_levels
Revises: 0004_cases
Create Date: 2026-12-06 04:30:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from hall_queue.infrastructure.migrations.schema_ops import create_indexes, drop_tables

revision = '0006_service_levels'
down_revision = '0010_floor_staff'
branch_labels = None
depends_on = None

# (column, default) of the hall's service levels and guards; existing halls get the defaults.
_HALL_COLUMNS = (
    ('sl_max_wait_s', 0), ('sl_max_service_s', 1200), ('sl_max_idle_s', 180), ('sl_max_queue_len', 30),
    ('id_daily_ticket_cap', 0), ('cancelled_slot_hold_min', 0), ('recall_min_gap_s', 0),
)


def upgrade() -> None:
    with op.batch_alter_table('halls') as batch:
        for name, default in _HALL_COLUMNS:
            batch.add_column(sa.Column(name, sa.Integer(), nullable=False, server_default=str(default)))
    with op.batch_alter_table('queues') as batch:
        for name in ('sl_max_wait_s', 'sl_max_service_s', 'sl_max_queue_len'):
            batch.add_column(sa.Column(name, sa.Integer(), nullable=True))
    with op.batch_alter_table('tickets') as batch:
        batch.add_column(sa.Column('recalled_at', sa.DateTime(), nullable=True))
    with op.batch_alter_table('alerts') as batch:
        batch.add_column(sa.Column('acknowledged_by_id', sa.Integer(), nullable=True))
        batch.create_foreign_key('fk_alerts_acknowledged_by', 'staff', ['acknowledged_by_id'], ['id'])
    op.create_table('id_ticket_counts',
    sa.Column('hall_id', sa.Integer(), nullable=False),
    sa.Column('service_day', sa.Date(), nullable=False),
    sa.Column('id_hash', sa.String(length=64), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['hall_id'], ['halls.id'], ),
    sa.ForeignKeyConstraint(['item_id'], ['service_items.id'], ),
    sa.PrimaryKeyConstraint('hall_id', 'service_day', 'id_hash', 'item_id')
    )
    op.create_table('idle_intervals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('hall_id', sa.Integer(), nullable=False),
    sa.Column('window_id', sa.Integer(), nullable=False),
    sa.Column('clerk_id', sa.Integer(), nullable=True),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('ended_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['hall_id'], ['halls.id'], ),
    sa.ForeignKeyConstraint(['window_id'], ['windows.id'], ),
    sa.ForeignKeyConstraint(['clerk_id'], ['staff.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    create_indexes('idle_intervals', 'hall_id', ('ix_idle_window_open', 'window_id', 'ended_at'))


def downgrade() -> None:
    drop_tables('idle_intervals', 'id_ticket_counts')
    with op.batch_alter_table('alerts') as batch:
        batch.drop_constraint('fk_alerts_acknowledged_by', type_='foreignkey')
        batch.drop_column('acknowledged_by_id')
    with op.batch_alter_table('tickets') as batch:
        batch.drop_column('recalled_at')
    with op.batch_alter_table('queues') as batch:
        for name in ('sl_max_wait_s', 'sl_max_service_s', 'sl_max_queue_len'):
            batch.drop_column(name)
    with op.batch_alter_table('halls') as batch:
        for name, _ in reversed(_HALL_COLUMNS):
            batch.drop_column(name)
