"""What the revisions repeat: a table's indexes named ``ix_<table>_<column>``, and the tables a revision made.

Kept outside ``versions/`` so that Alembic does not read it as a revision.
"""
from __future__ import annotations

from alembic import op


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
