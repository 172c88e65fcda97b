"""cases (办件): departments, cases, their events, documents, deferred materials, handovers, webhook outbox

Revision ID: 0004_cases
Revises: 0003_item_english_names
Create Date: 2026-12-06 01:58:08.337321
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from hall_queue.infrastructure.migrations.schema_ops import (
    add_columns,
    boolean,
    create_indexes,
    date,
    delivery_columns,
    drop_columns,
    drop_tables,
    integer,
    json,
    ref,
    string,
    text,
    timestamp,
)

revision = '0004_cases'
down_revision = '0003_item_english_names'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('case_counters',
    integer('hall_id'),
    integer('year'),
    integer('last_seq'),
    ref('hall_id', 'halls'),
    sa.PrimaryKeyConstraint('hall_id', 'year')
    )
    op.create_table('case_settings',
    integer('hall_id'),
    string('acceptance_format', 60),
    integer('due_soon_working_days'),
    string('webhook_url', 300),
    text('webhook_secret_cipher', null=True),
    ref('hall_id', 'halls'),
    sa.PrimaryKeyConstraint('hall_id')
    )
    op.create_table('departments',
    integer('id'),
    integer('hall_id'),
    string('code', 40),
    string('name', 100),
    ref('hall_id', 'halls'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('hall_id', 'code', name='uq_department_code')
    )
    create_indexes('departments', 'hall_id')
    op.create_table('cases',
    integer('id'),
    integer('hall_id'),
    integer('parent_id', null=True),
    integer('year'),
    integer('seq'),
    integer('part'),
    string('acceptance_no', 40),
    integer('ticket_id', null=True),
    integer('item_id', null=True),
    integer('bundle_id', null=True),
    string('title', 200),
    integer('department_id', null=True),
    boolean('blocking'),
    string('outcome', 20),
    string('state', 20),
    string('decision', 20, null=True),
    text('decision_reason'),
    string('masked_name', 64, null=True),
    string('masked_id', 32, null=True),
    string('id_hash', 64, null=True),
    text('id_cipher', null=True),
    text('phone_cipher', null=True),
    string('lookup_hash', 64),
    text('lookup_cipher', null=True),
    timestamp('accepted_at'),
    integer('accepted_by_id', null=True),
    integer('window_id', null=True),
    integer('promised_days'),
    date('due_on'),
    date('clock_stopped_on', null=True),
    integer('stopped_working_days'),
    json('special_procedures'),
    string('intermediary_service', 200),
    integer('handler_id', null=True),
    timestamp('decided_at', null=True),
    timestamp('ready_at', null=True),
    timestamp('handed_over_at', null=True),
    timestamp('closed_at', null=True),
    integer('visits'),
    integer('due_alert_id', null=True),
    string('due_alert_kind', 20, null=True),
    integer('pickup_ticket_id', null=True),
    ref('accepted_by_id', 'staff'),
    ref('bundle_id', 'bundles'),
    ref('department_id', 'departments'),
    ref('due_alert_id', 'alerts'),
    ref('hall_id', 'halls'),
    ref('handler_id', 'staff'),
    ref('item_id', 'service_items'),
    ref('parent_id', 'cases'),
    ref('pickup_ticket_id', 'tickets'),
    ref('ticket_id', 'tickets'),
    ref('window_id', 'windows'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('hall_id', 'acceptance_no', name='uq_case_acceptance_no'),
    sa.UniqueConstraint('hall_id', 'year', 'seq', 'part', name='uq_case_seq'),
    sa.UniqueConstraint('lookup_hash', name='uq_case_lookup')
    )
    create_indexes('cases', ('ix_case_department', 'hall_id', 'department_id', 'state'),
                   ('ix_case_person', 'hall_id', 'id_hash'), ('ix_case_state_due', 'hall_id', 'state', 'due_on'),
                   'parent_id', 'pickup_ticket_id', 'ticket_id')

    op.create_table('idempotent_replies',
    integer('token_id'),
    string('key', 100),
    string('request_hash', 64),
    integer('status'),
    json('body'),
    timestamp('created_at'),
    ref('token_id', 'access_tokens'),
    sa.PrimaryKeyConstraint('token_id', 'key')
    )
    op.create_table('case_documents',
    integer('id'),
    integer('hall_id'),
    integer('case_id', null=True),
    integer('ticket_id', null=True),
    string('kind', 20),
    string('number', 60),
    json('content'),
    timestamp('issued_at'),
    integer('issued_by_id', null=True),
    integer('prints'),
    ref('case_id', 'cases'),
    ref('hall_id', 'halls'),
    ref('issued_by_id', 'staff'),
    ref('ticket_id', 'tickets'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('hall_id', 'number', name='uq_case_document_number')
    )
    create_indexes('case_documents', 'case_id', 'hall_id', 'ticket_id')
    op.create_table('case_events',
    integer('id'),
    integer('hall_id'),
    integer('case_id'),
    timestamp('at'),
    string('action', 30),
    string('from_state', 20, null=True),
    string('to_state', 20),
    string('actor_kind', 10),
    integer('actor_id', null=True),
    text('note'),
    json('detail'),
    ref('case_id', 'cases'),
    ref('hall_id', 'halls'),
    sa.PrimaryKeyConstraint('id')
    )
    create_indexes('case_events', ('ix_case_event_case', 'case_id', 'id'), 'hall_id')
    op.create_table('case_handovers',
    integer('id'),
    integer('hall_id'),
    integer('case_id'),
    string('method', 12),
    timestamp('at'),
    integer('by_id', null=True),
    integer('window_id', null=True),
    integer('ticket_id', null=True),
    boolean('id_checked'),
    string('signed_by_masked', 64),
    string('courier_company', 60),
    string('tracking_no', 60),
    ref('by_id', 'staff'),
    ref('case_id', 'cases'),
    ref('hall_id', 'halls'),
    ref('ticket_id', 'tickets'),
    ref('window_id', 'windows'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('case_id', name='uq_case_handover')
    )
    create_indexes('case_handovers', 'hall_id')
    op.create_table('deferred_materials',
    integer('id'),
    integer('hall_id'),
    integer('case_id'),
    string('name', 200),
    date('due_on'),
    string('promise', 1000),
    string('state', 10),
    timestamp('supplied_at', null=True),
    string('supplied_via', 20),
    timestamp('reminded_at', null=True),
    integer('alert_id', null=True),
    ref('alert_id', 'alerts'),
    ref('case_id', 'cases'),
    ref('hall_id', 'halls'),
    sa.PrimaryKeyConstraint('id')
    )
    create_indexes('deferred_materials', ('ix_deferred_due', 'hall_id', 'state', 'due_on'), 'case_id')
    op.create_table('webhook_deliveries',
    integer('id'),
    integer('hall_id'),
    integer('case_id'),
    integer('event_id'),
    string('url', 300),
    text('body'),
    *delivery_columns('delivered_at'),
    ref('case_id', 'cases'),
    ref('event_id', 'case_events'),
    ref('hall_id', 'halls'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('event_id')
    )
    create_indexes('webhook_deliveries', 'hall_id', ('ix_webhook_due', 'status', 'next_attempt_at'))

    add_columns('bundle_items', boolean('blocking', server_default=sa.true()))

    with op.batch_alter_table('bundles', schema=None) as batch_op:
        batch_op.add_column(integer('lead_department_id', null=True))
        batch_op.create_foreign_key('fk_bundles_lead_department_id', 'departments', ['lead_department_id'], ['id'])

    with op.batch_alter_table('service_items', schema=None) as batch_op:
        batch_op.add_column(integer('department_id', null=True))
        batch_op.create_foreign_key('fk_service_items_department_id', 'departments', ['department_id'], ['id'])

    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.add_column(integer('department_id', null=True))
        batch_op.create_foreign_key('fk_service_items_department_id', 'departments', ['department_id'], ['id'])



def downgrade() -> None:
    drop_columns('staff', 'department_id')

    drop_columns('service_items', 'department_id')

    drop_columns('bundles', 'lead_department_id')

    drop_columns('bundle_items', 'blocking')

    drop_tables('webhook_deliveries', 'deferred_materials', 'case_handovers', 'case_events', 'case_documents',
                'idempotent_replies', 'cases', 'departments', 'case_settings', 'case_counters')
