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
