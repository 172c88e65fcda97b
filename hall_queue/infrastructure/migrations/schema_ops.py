"""What the revisions repeat: a column of each type, a foreign key to a table's ``id``, the columns a revision
adds to a table, a table's indexes named ``ix_<table>_<column>``, and the tables a revision made.

Kept outside ``versions/`` so that Alembic does not read it as a revision. Frozen: revisions already applied
to a hall's database are built from these functions, so none of them may change what it builds; a new need
gets a new function.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from alembic import op


def _typed(type_: type[sa.types.TypeEngine], what: str) -> Callable[..., sa.Column]:
    def build(name: str, *, null: bool = False, **kw: Any) -> sa.Column:
        return sa.Column(name, type_(), nullable=null, **kw)

    build.__doc__ = f"A {what} column, NOT NULL unless ``null``; ``kw`` (``server_default``) goes to ``sa.Column``."
    return build


integer = _typed(sa.Integer, "INTEGER")
text = _typed(sa.Text, "TEXT")
timestamp = _typed(sa.DateTime, "DATETIME (naive UTC)")
date = _typed(sa.Date, "DATE")
boolean = _typed(sa.Boolean, "BOOLEAN")
json = _typed(sa.JSON, "JSON")
floating = _typed(sa.Float, "FLOAT")
binary = _typed(sa.LargeBinary, "binary (BLOB / BYTEA)")


def string(name: str, length: int, *, null: bool = False, **kw: Any) -> sa.Column:
    """A VARCHAR(``length``) column, NOT NULL unless ``null``."""
    return sa.Column(name, sa.String(length=length), nullable=null, **kw)


def ref(column: str, table: str, ondelete: str | None = None) -> sa.ForeignKeyConstraint:
    """A foreign key from ``column`` to ``table.id``, unnamed as autogenerate wrote it."""
    return sa.ForeignKeyConstraint([column], [f"{table}.id"], ondelete=ondelete)


def delivery_columns(done_at: str) -> list[sa.Column]:
    """The columns of a message sent with retries: its state, when it was made, its next try, the tries so far,
    when it got through (``done_at``) and the last error (notifications in 0001, webhook_deliveries in 0004)."""
    return [string('status', 10), timestamp('created_at'), timestamp('next_attempt_at'), integer('attempts'),
            timestamp(done_at, null=True), string('last_error', 200, null=True)]


def scanned_page_columns() -> list[sa.Column]:
    """The columns of one stored scanned page, ``ScannedPage`` in the models (ticket_attachments in 0001,
    case_attachments in 0012)."""
    return [integer('position'), string('content_type', 20), integer('width'), integer('height'),
            string('page_size_name', 20), integer('size_bytes'), string('sha256', 64), binary('data'),
            timestamp('uploaded_at'), integer('uploaded_by_token_id', null=True)]


def add_columns(table: str, *columns: sa.Column) -> None:
    """Add columns to an existing table in order, in one batch (SQLite copies the table only if it must)."""
    with op.batch_alter_table(table) as batch:
        for column in columns:
            batch.add_column(column)


def drop_columns(table: str, *names: str) -> None:
    """Drop columns of a table in order, in one batch."""
    with op.batch_alter_table(table) as batch:
        for name in names:
            batch.drop_column(name)


def create_indexes(table: str, *indexes: str | tuple[str, ...]) -> None:
    """Create a table's non-unique indexes in order.

    A column name gives the index ``ix_<table>_<column>`` on that column (the name autogenerate gives);
    a tuple ``(name, column, ...)`` gives an index of that name on those columns.
    """
    for index in indexes:
        if isinstance(index, str):
            op.create_index(op.f(f"ix_{table}_{index}"), table, [index], unique=False)
        else:
            name, *columns = index
            op.create_index(name, table, columns, unique=False)


def drop_tables(*tables: str) -> None:
    """Drop tables in the order given; each table's indexes go with it."""
    for table in tables:
        op.drop_table(table)
