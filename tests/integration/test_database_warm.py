"""``Database.warm``: a serving process compiles the prebuilt statements and opens its pools before the first
request (issue 19: the first kiosks and clerks after a start waited for both)."""
from __future__ import annotations

import pytest

from hall_queue.infrastructure.db import _ALL_PREBUILT
from tests.conftest import engines


@pytest.mark.parametrize("db", engines(), indirect=True)
def test_warm_compiles_the_prebuilt_statements_and_opens_postgresql_pools(db):
    import hall_queue  # noqa: F401 - the hot paths' modules, with their prebuilt statements

    db.warm()
    dialect = db.writer.dialect
    assert len(_ALL_PREBUILT) > 10
    assert all((dialect.name, dialect.driver) in p._by_dialect for p in _ALL_PREBUILT)
    for engine in db.engines:  # PostgreSQL's opened; SQLite's opened as the load asks (see ``warm``)
        assert engine.pool.checkedin() == (0 if db.is_sqlite else engine.pool.size())
        assert engine.pool.checkedout() == 0
    with db.read() as s:  # and the pooled connections serve as before
        assert s.connection().exec_driver_sql("SELECT 1").scalar() == 1
