"""Two real server processes on PostgreSQL with Redis as the message queue: no duplicate number, no ticket
called twice, and events cross processes (issue 8). The race is in scaleout_race.py; the SQLite file runs it
in test_scaleout.py (a file of its own, so the two run on different workers)."""
from __future__ import annotations

import threading
import uuid

import pytest
import requests

from tests.conftest import REQUIRE_SERVICES, drop_postgres_database, new_postgres_database, postgres_available
from tests.integration.scaleout_race import race, redis_available, setup


@pytest.fixture
def pg_redis():
    if not (postgres_available() and redis_available()):
        if REQUIRE_SERVICES:
            pytest.fail("PostgreSQL and Redis are required (ONEVISIT_REQUIRE_SERVICES=1)")
        pytest.skip("PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379 are needed")
    url = new_postgres_database(migrated=True)  # as `onevisit init` leaves it
    yield url, {"DATABASE_URL": url, "SOCKETIO_MESSAGE_QUEUE": "redis://127.0.0.1:6379/0",
                "SOCKETIO_CHANNEL": f"onevisit-test-{uuid.uuid4().hex[:8]}"}
    drop_postgres_database(url)


@pytest.mark.timeout(900)
def test_two_processes_on_postgresql_with_redis(tmp_path, pg_redis):
    import socketio

    url, env = pg_redis
    db, hall_id, kiosk, screen, clerks, servers = setup(tmp_path, url, env)
    try:
        # An event caused through process 2 reaches a screen connected to process 1.
        got: list[dict] = []
        arrived = threading.Event()
        client = socketio.Client()

        @client.on("ticket_issued")
        def _issued(data):
            got.append(data)
            arrived.set()

        client.connect(servers[0].url, auth={"token": screen}, transports=["websocket"], wait_timeout=20)
        ack = client.call("join", {"hall": hall_id}, timeout=20)
        assert ack["ok"] is True
        item = requests.get(f"{servers[1].url}/api/v1/halls/{hall_id}/catalog", timeout=10).json()["items"][0]["id"]
        r = requests.post(f"{servers[1].url}/api/v1/halls/{hall_id}/tickets", json={"item_ids": [item]},
                          headers={"Authorization": f"Bearer {kiosk}"}, timeout=30)
        assert r.status_code == 201
        assert arrived.wait(20), "event from process 2 never reached the client on process 1"
        assert got[0]["ticket"]["number"] == r.json()["number"]
        client.disconnect()
        # The race then numbers from 2; the probe ticket is cancelled so the backlog count stays exact.
        requests.post(f"{servers[1].url}/api/v1/tickets/{r.json()['id']}/cancel",
                      headers={"Authorization": f"Bearer {kiosk}"}, timeout=30).raise_for_status()
        race(db, hall_id, kiosk, clerks, servers, first=2)
    finally:
        for s in servers:
            s.stop()
        db.dispose()
