"""Alembic migrations build exactly the schema the models describe, from the first table on."""
from __future__ import annotations


import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from hall_queue.infrastructure.migrate import upgrade
from hall_queue.domain.models import Base
from tests.conftest import REQUIRE_SERVICES


def _no_drift(url: str) -> None:
    engine = create_engine(url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    engine.dispose()
    assert diff == []


def test_sqlite_upgrade_matches_models(tmp_path):
    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url)
    upgrade(url)  # idempotent
    _no_drift(url)


def test_postgresql_upgrade_matches_models():
    import uuid

    try:
        import psycopg
        admin = psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=postgres", autocommit=True,
                                connect_timeout=3)
    except Exception as e:  # noqa: BLE001
        if REQUIRE_SERVICES:
            raise
        pytest.skip(f"PostgreSQL not reachable: {e}")
    name = f"ov_mig_{uuid.uuid4().hex[:8]}"
    admin.execute(f"CREATE DATABASE {name}")
    try:
        url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
        upgrade(url)
        _no_drift(url)
    finally:
        admin.execute(f"DROP DATABASE {name} WITH (FORCE)")
        admin.close()
