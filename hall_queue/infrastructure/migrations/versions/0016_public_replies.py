"""Visitors' retried writes: the first answer to a complaint, an online question or a booking sent with an
``Idempotency-Key`` (or from a form's one-use token), kept a day, encrypted, so that a retry gets it again.

Revision ID: 0016_public_replies
Revises: 0015_ticket_calling_order
Create Date: 2026-12-07 21:30:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0016_public_replies'
down_revision = '0015_ticket_calling_order'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('public_replies',
                    sa.Column('scope', sa.String(length=60), nullable=False),
                    sa.Column('key', sa.String(length=100), nullable=False),
                    sa.Column('request_hash', sa.String(length=64), nullable=False),
                    sa.Column('body_cipher', sa.Text(), nullable=False),
                    sa.Column('created_at', sa.DateTime(), nullable=False),
                    sa.PrimaryKeyConstraint('scope', 'key'))


def downgrade() -> None:
    op.drop_table('public_replies')
