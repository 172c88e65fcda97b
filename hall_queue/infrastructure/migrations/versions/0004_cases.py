"""cases (办件): departments, cases, their events, documents, deferred materials, handovers, webhook outbox

Revision ID: 0004_cases
Revises: 0003_item_english_names
Create Date: 2026-12-06 01:58:08.337321
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from hall_queue.infrastructure.migrations.schema_ops import create_indexes, drop_tables

revision = '0004_cases'
down_revision = '0003_item_english_names'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('case_counters',
    sa.Column('hall_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('last_seq', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['hall_id'], ['halls.id'], ),
    sa.PrimaryKeyConstraint('hall_id', 'year')
    )
    op.create_table('case_settings',
    sa.Column('hall_id', sa.Integer(), nullable=False),
    sa.Column('acceptance_format', sa.String(length=60), nullable=False),
    sa.Column('due_soon_working_days', sa.Integer(), nullable=False),
    sa.Column('webhook_url', sa.String(length=300), nullable=False),
    sa.Column('webhook_secret_cipher', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['hall_id'], ['halls.id'], ),
    sa.PrimaryKeyConstraint('hall_id')
    )
    op.create_table('departments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('hall_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['hall_id'], ['halls.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('hall_id', 'code', name='uq_department_code')
    )
    create_indexes('departments', 'hall_id')
    op.create_table('cases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('hall_id', sa.Integer(), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('part', sa.Integer(), nullable=False),
    sa.Column('acceptance_no', sa.String(length=40), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.Column('item_id', sa.Integer(), nullable=True),
    sa.Column('bundle_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=True),
    sa.Column('blocking', sa.Boolean(), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('decision', sa.String(length=20), nullable=True),
    sa.Column('decision_reason', sa.Text(), nullable=False),
    sa.Column('masked_name', sa.String(length=64), nullable=True),
    sa.Column('masked_id', sa.String(length=32), nullable=True),
    sa.Column('id_hash', sa.String(length=64), nullable=True),
    sa.Column('id_cipher', sa.Text(), nullable=True),
    sa.Column('phone_cipher', sa.Text(), nullable=True),
    sa.Column('lookup_hash', sa.String(length=64), nullable=False),
    sa.Column('lookup_cipher', sa.Text(), nullable=True),
    sa.Column('accepted_at', sa.DateTime(), nullable=False),
    sa.Column('accepted_by_id', sa.Integer(), nullable=True),
    sa.Column('window_id', sa.Integer(), nullable=True),
    sa.Column('promised_days', sa.Integer(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('clock_stopped_on', sa.Date(), nullable=True),
    sa.Column('stopped_working_days', sa.Integer(), nullable=False),
    sa.Column('special_procedures', sa.JSON(), nullable=False),
    sa.Column('intermediary_service', sa.String(length=200), nullable=False),
    sa.Column('handler_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('ready_at', sa.DateTime(), nullable=True),
    sa.Column('handed_over_at', sa.DateTime(), nullable=True),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.Column('visits', sa.Integer(), nullable=False),
    sa.Column('due_alert_id', sa.Integer(), nullable=True),
    sa.Column('due_alert_kind', sa.String(length=20), nullable=True),
    sa.Column('pickup_ticket_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['accepted_by_id'], ['staff.id'], ),
    sa.ForeignKeyConstraint(['bundle_id'], ['bundles.id'], ),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], ),
    sa.ForeignKeyConstraint(['due_alert_id'], ['alerts.id'], ),
    sa.ForeignKeyConstraint(['hall_id'], ['halls.id'], ),
    sa.ForeignKeyConstraint(['handler_id'], ['staff.id'], ),
    sa.ForeignKeyConstraint(['item_id'], ['service_items.id'], ),
    sa.ForeignKeyConstraint(['parent_id'], ['cases.id'], ),
    sa.ForeignKeyConstraint(['pickup_ticket_id'], ['tickets.id'], ),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], ),
    sa.ForeignKeyConstraint(['window_id'], ['windows.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('hall_id', 'acceptance_no', name='uq_case_acceptance_no'),
    sa.UniqueConstraint('hall_id', 'year', 'seq', 'part', name='uq_case_seq'),
    sa.UniqueConstraint('lookup_hash', name='uq_case_lookup')
    )
    create_indexes('cases', ('ix_case_department', 'hall_id', 'department_id', 'state'),
                   ('ix_case_person', 'hall_id', 'id_hash'), ('ix_case_state_due', 'hall_id', 'state', 'due_on'),
                   'parent_id', 'pickup_ticket_id', 'ticket_id')

    op.create_table('idempotent_replies',
    sa.Column('token_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('status', sa.Integer(), nullable=False),
    sa.Column('body', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['token_id'], ['access_tokens.id'], ),
    sa.PrimaryKeyConstraint('token_id', 'key')
    )
    op.create_table('case_documents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('hall_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('number', sa.String(length=60), nullable=False),
    sa.Column('content', sa.JSON(), nullable=False),
    sa.Column('issued_at', sa.DateTime(), nullable=False),
    sa.Column('issued_by_id', sa.Integer(), nullable=True),
    sa.Column('prints', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.ForeignKeyConstraint(['hall_id'], ['halls.id'], ),
    sa.ForeignKeyConstraint(['issued_by_id'], ['staff.id'], ),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('hall_id', 'number', name='uq_case_document_number')
    )
    create_indexes('case_documents', 'case_id', 'hall_id', 'ticket_id')
    op.create_table('case_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('hall_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('action', sa.String(length=30), nullable=False),
    sa.Column('from_state', sa.String(length=20), nullable=True),
    sa.Column('to_state', sa.String(length=20), nullable=False),
    sa.Column('actor_kind', sa.String(length=10), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.ForeignKeyConstraint(['hall_id'], ['halls.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    create_indexes('case_events', ('ix_case_event_case', 'case_id', 'id'), 'hall_id')
    op.create_table('case_handovers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('hall_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('method', sa.String(length=12), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('by_id', sa.Integer(), nullable=True),
    sa.Column('window_id', sa.Integer(), nullable=True),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.Column('id_checked', sa.Boolean(), nullable=False),
    sa.Column('signed_by_masked', sa.String(length=64), nullable=False),
    sa.Column('courier_company', sa.String(length=60), nullable=False),
    sa.Column('tracking_no', sa.String(length=60), nullable=False),
    sa.ForeignKeyConstraint(['by_id'], ['staff.id'], ),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.ForeignKeyConstraint(['hall_id'], ['halls.id'], ),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], ),
    sa.ForeignKeyConstraint(['window_id'], ['windows.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('case_id', name='uq_case_handover')
    )
    create_indexes('case_handovers', 'hall_id')
    op.create_table('deferred_materials',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('hall_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('promise', sa.String(length=1000), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('supplied_at', sa.DateTime(), nullable=True),
    sa.Column('supplied_via', sa.String(length=20), nullable=False),
    sa.Column('reminded_at', sa.DateTime(), nullable=True),
    sa.Column('alert_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['alert_id'], ['alerts.id'], ),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.ForeignKeyConstraint(['hall_id'], ['halls.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    create_indexes('deferred_materials', ('ix_deferred_due', 'hall_id', 'state', 'due_on'), 'case_id')
    op.create_table('webhook_deliveries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('hall_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('url', sa.String(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('delivered_at', sa.DateTime(), nullable=True),
    sa.Column('last_error', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.ForeignKeyConstraint(['event_id'], ['case_events.id'], ),
    sa.ForeignKeyConstraint(['hall_id'], ['halls.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('event_id')
    )
    create_indexes('webhook_deliveries', 'hall_id', ('ix_webhook_due', 'status', 'next_attempt_at'))

    with op.batch_alter_table('bundle_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('blocking', sa.Boolean(), nullable=False, server_default=sa.true()))

    with op.batch_alter_table('bundles', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lead_department_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_bundles_lead_department_id', 'departments', ['lead_department_id'], ['id'])

    with op.batch_alter_table('service_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('department_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_service_items_department_id', 'departments', ['department_id'], ['id'])

    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.add_column(sa.Column('department_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_service_items_department_id', 'departments', ['department_id'], ['id'])



def downgrade() -> None:
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.drop_column('department_id')

    with op.batch_alter_table('service_items', schema=None) as batch_op:
        batch_op.drop_column('department_id')

    with op.batch_alter_table('bundles', schema=None) as batch_op:
        batch_op.drop_column('lead_department_id')

    with op.batch_alter_table('bundle_items', schema=None) as batch_op:
        batch_op.drop_column('blocking')

    drop_tables('webhook_deliveries', 'deferred_materials', 'case_handovers', 'case_events', 'case_documents',
                'idempotent_replies', 'cases', 'departments', 'case_settings', 'case_counters')
