"""好差评 loop (issue 18 parts 1–3): ratings on cases and from phones, appeals, re-opened rectifications,
rating settings, call-backs, item codes for the provincial platform, the outbox shared by every channel

Revision ID: 0007_rating_loop
Revises: 0004_cases
Create Date: 2026-12-06 04:40:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from hall_queue.infrastructure.migrations.schema_ops import (
    add_columns,
    boolean,
    create_indexes,
    date,
    drop_columns,
    drop_tables,
    integer,
    ref,
    string,
    text,
    timestamp,
)

revision = '0007_rating_loop'
down_revision = '0009_floor_visitor'
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_columns('service_items', string('code_version', 20, server_default=''),
                                 string('implementation_code', 60, server_default=''))
    with op.batch_alter_table('ratings') as batch:
        batch.add_column(integer('case_id', null=True))
        batch.add_column(string('channel', 8, server_default='pad'))
        batch.add_column(boolean('real_name', server_default=sa.false()))
        batch.add_column(boolean('excluded', server_default=sa.false()))
        batch.create_foreign_key('fk_ratings_case_id', 'cases', ['case_id'], ['id'])
        batch.create_index(batch.f('ix_ratings_case_id'), ['case_id'], unique=False)
    add_columns('rectifications', string('rater_answer', 16, null=True), timestamp('rater_answered_at', null=True),
                                  integer('reopened', server_default='0'))
    op.create_table('rating_appeals',
    integer('id'),
    integer('hall_id'),
    integer('rating_id'),
    string('kind', 12),
    string('reason', 1000),
    integer('filed_by_id', null=True),
    timestamp('filed_at'),
    string('status', 10),
    integer('decided_by_id', null=True),
    timestamp('decided_at', null=True),
    string('decision_reason', 1000),
    ref('decided_by_id', 'staff'),
    ref('filed_by_id', 'staff'),
    ref('hall_id', 'halls'),
    ref('rating_id', 'ratings'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('rating_id', name='uq_rating_appeal')
    )
    create_indexes('rating_appeals', 'hall_id')
    op.create_table('rating_settings',
    integer('hall_id'),
    integer('rectify_working_days'),
    integer('callback_rate_pct'),
    string('region_code', 12),
    string('province_url', 300),
    text('province_secret_cipher', null=True),
    ref('hall_id', 'halls'),
    sa.PrimaryKeyConstraint('hall_id')
    )
    op.create_table('callbacks',
    integer('id'),
    integer('hall_id'),
    integer('case_id'),
    date('completed_on'),
    date('sampled_on'),
    date('due_on'),
    string('status', 12),
    integer('satisfaction', null=True),
    string('remarks', 1000),
    integer('recorded_by_id', null=True),
    timestamp('recorded_at', null=True),
    ref('case_id', 'cases'),
    ref('hall_id', 'halls'),
    ref('recorded_by_id', 'staff'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('case_id', name='uq_callback_case')
    )
    create_indexes('callbacks', ('ix_callback_due', 'hall_id', 'status', 'due_on'))
    # One outbox for every channel: case events (the approval system) and ratings (the province).
    with op.batch_alter_table('webhook_deliveries') as batch:
        batch.add_column(string('channel', 12, server_default='case'))
        batch.add_column(string('ordering_key', 40, server_default=''))
        batch.add_column(string('message_id', 80, null=True))
        batch.alter_column('case_id', existing_type=sa.Integer(), nullable=True)
        batch.alter_column('event_id', existing_type=sa.Integer(), nullable=True)
    op.execute("UPDATE webhook_deliveries SET ordering_key = 'case:' || CAST(case_id AS VARCHAR(20)), "
               "message_id = CAST(event_id AS VARCHAR(20))")
    with op.batch_alter_table('webhook_deliveries') as batch:
        batch.create_unique_constraint('uq_webhook_message', ['message_id'])


def downgrade() -> None:
    op.execute("DELETE FROM webhook_deliveries WHERE channel <> 'case'")
    with op.batch_alter_table('webhook_deliveries') as batch:
        batch.drop_constraint('uq_webhook_message', type_='unique')
        batch.alter_column('event_id', existing_type=sa.Integer(), nullable=False)
        batch.alter_column('case_id', existing_type=sa.Integer(), nullable=False)
        batch.drop_column('message_id')
        batch.drop_column('ordering_key')
        batch.drop_column('channel')
    drop_tables('callbacks', 'rating_settings', 'rating_appeals')
    drop_columns('rectifications', 'reopened', 'rater_answered_at', 'rater_answer')
    with op.batch_alter_table('ratings') as batch:
        batch.drop_index(batch.f('ix_ratings_case_id'))
        batch.drop_constraint('fk_ratings_case_id', type_='foreignkey')
        batch.drop_column('excluded')
        batch.drop_column('real_name')
        batch.drop_column('channel')
        batch.drop_column('case_id')
    drop_columns('service_items', 'implementation_code', 'code_version')
