"""好差评 loop (issue 18 parts 1–3): ratings on cases and from phones, appeals, re-opened rectifications,
rating settings, call-backs, item codes for the provincial platform, the outbox shared by every channel

Revision ID: 0007_rating_loop
Revises: 0004_cases
Create Date: 2026-12-06 04:40:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from hall_queue.infrastructure.migrations.schema_ops import create_indexes, drop_tables

revision = '0007_rating_loop'
down_revision = '0009_floor_visitor'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('service_items') as batch:
        batch.add_column(sa.Column('code_version', sa.String(length=20), nullable=False, server_default=''))
        batch.add_column(sa.Column('implementation_code', sa.String(length=60), nullable=False, server_default=''))
    with op.batch_alter_table('ratings') as batch:
        batch.add_column(sa.Column('case_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('channel', sa.String(length=8), nullable=False, server_default='pad'))
        batch.add_column(sa.Column('real_name', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column('excluded', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.create_foreign_key('fk_ratings_case_id', 'cases', ['case_id'], ['id'])
        batch.create_index(batch.f('ix_ratings_case_id'), ['case_id'], unique=False)
    with op.batch_alter_table('rectifications') as batch:
        batch.add_column(sa.Column('rater_answer', sa.String(length=16), nullable=True))
        batch.add_column(sa.Column('rater_answered_at', sa.DateTime(), nullable=True))
        batch.add_column(sa.Column('reopened', sa.Integer(), nullable=False, server_default='0'))
    op.create_table('rating_appeals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('hall_id', sa.Integer(), nullable=False),
    sa.Column('rating_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('reason', sa.String(length=1000), nullable=False),
    sa.Column('filed_by_id', sa.Integer(), nullable=True),
    sa.Column('filed_at', sa.DateTime(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('decision_reason', sa.String(length=1000), nullable=False),
    sa.ForeignKeyConstraint(['decided_by_id'], ['staff.id'], ),
    sa.ForeignKeyConstraint(['filed_by_id'], ['staff.id'], ),
    sa.ForeignKeyConstraint(['hall_id'], ['halls.id'], ),
    sa.ForeignKeyConstraint(['rating_id'], ['ratings.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('rating_id', name='uq_rating_appeal')
    )
    create_indexes('rating_appeals', 'hall_id')
    op.create_table('rating_settings',
    sa.Column('hall_id', sa.Integer(), nullable=False),
    sa.Column('rectify_working_days', sa.Integer(), nullable=False),
    sa.Column('callback_rate_pct', sa.Integer(), nullable=False),
    sa.Column('region_code', sa.String(length=12), nullable=False),
    sa.Column('province_url', sa.String(length=300), nullable=False),
    sa.Column('province_secret_cipher', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['hall_id'], ['halls.id'], ),
    sa.PrimaryKeyConstraint('hall_id')
    )
    op.create_table('callbacks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('hall_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('completed_on', sa.Date(), nullable=False),
    sa.Column('sampled_on', sa.Date(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('satisfaction', sa.Integer(), nullable=True),
    sa.Column('remarks', sa.String(length=1000), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.ForeignKeyConstraint(['hall_id'], ['halls.id'], ),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['staff.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('case_id', name='uq_callback_case')
    )
    create_indexes('callbacks', ('ix_callback_due', 'hall_id', 'status', 'due_on'))
    # One outbox for every channel: case events (the approval system) and ratings (the province).
    with op.batch_alter_table('webhook_deliveries') as batch:
        batch.add_column(sa.Column('channel', sa.String(length=12), nullable=False, server_default='case'))
        batch.add_column(sa.Column('ordering_key', sa.String(length=40), nullable=False, server_default=''))
        batch.add_column(sa.Column('message_id', sa.String(length=80), nullable=True))
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
    with op.batch_alter_table('rectifications') as batch:
        batch.drop_column('reopened')
        batch.drop_column('rater_answered_at')
        batch.drop_column('rater_answer')
    with op.batch_alter_table('ratings') as batch:
        batch.drop_index(batch.f('ix_ratings_case_id'))
        batch.drop_constraint('fk_ratings_case_id', type_='foreignkey')
        batch.drop_column('excluded')
        batch.drop_column('real_name')
        batch.drop_column('channel')
        batch.drop_column('case_id')
    with op.batch_alter_table('service_items') as batch:
        batch.drop_column('implementation_code')
        batch.drop_column('code_version')
