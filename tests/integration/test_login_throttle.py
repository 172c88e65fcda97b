"""Login lock-out per account, counted atomically, with client addresses behind a proxy (issue 13, findings 6, 7)."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

import pytest
import requests
from argon2 import PasswordHasher
from sqlalchemy import func, select, update

from hall_queue import create_app
from hall_queue.access.auth import MAX_FAILURES_PER_USER
from hall_queue.domain.clock import SystemClock
from hall_queue.infrastructure.db import Database
from hall_queue.entrypoints.demo.loader import DEMO_PASSWORD, load_demo_hall
from hall_queue.domain.models import AuditEvent, LoginAttempt, Staff
from tests.server import ServerProcess, prepared_instance


def test_40_parallel_wrong_passwords_get_at_most_the_limit_checked(tmp_path):
    # The real KDF cost here: the race is between parallel checks that each take it outside the writer lock.
    server = ServerProcess(prepared_instance(tmp_path), args=("--no-duties",))  # as `onevisit init`
    db = Database(f"sqlite:///{tmp_path / 'onevisit.db'}")
    db.run_write(lambda s: load_demo_hall(s, now=SystemClock().now()))
    server.start()
    barrier = Barrier(40)

    def attempt(n: int) -> int:
        with requests.Session() as http:
            barrier.wait()
            return http.post(f"{server.url}/api/v1/auth/login", timeout=60,
                             json={"username": "clerk03", "password": f"wrong-{n:04d}"}).status_code
    try:
        with ThreadPoolExecutor(40) as pool:
            codes = list(pool.map(attempt, range(40)))
    finally:
        server.stop()
    checked, refused = codes.count(401), codes.count(429)
    print(f"40 parallel wrong passwords: {checked} checked, {refused} refused")
    assert checked + refused == 40, codes
    assert 1 <= checked <= MAX_FAILURES_PER_USER, codes    # the password was verified at most five times
    with db.read() as s:
        failed = s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "staff.login_failed"))
        pending = s.scalar(select(func.count()).select_from(LoginAttempt).where(LoginAttempt.outcome == "pending"))
    db.dispose()
    assert failed == checked and pending == 0


@pytest.fixture
def cheap_hashes(db, hall_id) -> None:
    """Store the demo staff's password as an Argon2 hash of the lowest cost (same password, same checks).

    The lock-out rules below count wrong passwords one after the other; the production cost (about 0.2
    CPU-seconds a check here) adds nothing to what they prove but some ninety checks' worth of seconds.
    """
    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(DEMO_PASSWORD)
    db.run_write(lambda s: s.execute(update(Staff).values(password_hash=cheap)))


def _app(db, clock, proxies: str):
    return create_app({"DATABASE": db, "DATABASE_URL": db.url, "CLOCK": clock, "DATA_KEY": "test-data-key",
                       "TESTING": True, "TRUSTED_PROXIES": proxies})


def _login(client, username: str, password: str, client_address: str, peer: str = "127.0.0.1") -> int:
    return client.post("/api/v1/auth/login", json={"username": username, "password": password},
                       headers={"X-Forwarded-For": client_address},
                       environ_base={"REMOTE_ADDR": peer}).status_code


@pytest.mark.parametrize("proxies", ["1", "127.0.0.1", "127.0.0.0/8,10.0.0.5"])
def test_twenty_wrong_passwords_through_the_proxy_lock_only_those_accounts(db, clock, hall_id, proxies, cheap_hashes):
    client = _app(db, clock, proxies).test_client()
    for clerk in ("clerk01", "clerk02", "clerk03", "clerk04"):
        codes = [_login(client, clerk, "wrong-password", "203.0.113.9") for _ in range(5)]
        assert codes == [401] * 5
    assert _login(client, "clerk01", DEMO_PASSWORD, "198.51.100.7") == 429     # that account is locked
    assert _login(client, "manager", DEMO_PASSWORD, "198.51.100.7") == 200     # every other login works
    assert _login(client, "clerk05", DEMO_PASSWORD, "198.51.100.8") == 200


def test_forwarded_for_is_ignored_unless_the_proxy_is_trusted(db, clock, hall_id, cheap_hashes):
    client = _app(db, clock, "").test_client()
    for clerk in ("clerk01", "clerk02", "clerk03", "clerk04"):
        for _ in range(5):
            _login(client, clerk, "wrong-password", "203.0.113.9")
    # Without the setting the header proves nothing: all twenty came from this peer, which is locked.
    assert _login(client, "manager", DEMO_PASSWORD, "198.51.100.7") == 429
    # A listed proxy's header is believed only from that proxy: a direct client cannot forge it.
    listed = _app(db, clock, "10.0.0.5").test_client()
    assert _login(listed, "manager", DEMO_PASSWORD, "198.51.100.7", peer="127.0.0.1") == 429
    assert _login(listed, "manager", DEMO_PASSWORD, "198.51.100.7", peer="10.0.0.5") == 200
