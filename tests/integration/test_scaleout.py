"""Two real server processes on one SQLite file: no duplicate number, no ticket called twice (issue 8).

The race is in scaleout_race.py; PostgreSQL + Redis run it in test_scaleout_postgresql.py."""
from __future__ import annotations

import pytest

from tests.integration.scaleout_race import race, setup


@pytest.mark.timeout(900)
def test_two_processes_on_one_sqlite_file(tmp_path):
    db, hall_id, kiosk, _screen, clerks, servers = setup(tmp_path, f"sqlite:///{tmp_path / 'onevisit.db'}", {})
    try:
        race(db, hall_id, kiosk, clerks, servers)
    finally:
        for s in servers:
            s.stop()
        db.dispose()
