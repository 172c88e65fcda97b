"""The real server as a subprocess for tests (shared with the benchmarks), and its clerks over HTTP."""
from __future__ import annotations

import atexit
import io
import os
import shutil
import tempfile
import threading
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import requests

from bench.harness import ServerProcess, free_port
from hall_queue.entrypoints.demo.loader import DEMO_PASSWORD

__all__ = ["ServerProcess", "bearer_session", "clerk_tokens", "free_port", "prepared_instance", "serve_until_empty",
           "staff_session"]

# `onevisit init` and `onevisit demo` as subprocesses cost a fresh interpreter each (about 2 and 3 CPU-seconds on
# this machine) for the same bytes every time. A test process builds each starting point once, in-process, and
# every instance gets its own copy of the files: a fresh database, as the CLI would have made it.
_instance_templates: dict[bool, Path] = {}


def _build_template(demo: bool) -> Path:
    from hall_queue.entrypoints import cli
    from hall_queue.infrastructure.migrate import upgrade

    path = Path(tempfile.mkdtemp(prefix="onevisit-instance-template-"))
    atexit.register(shutil.rmtree, path, True)
    if not demo:
        upgrade(f"sqlite:///{path / 'onevisit.db'}")
        return path
    prepared_instance(path)  # the migrations once per process: `demo` then finds the schema at head
    saved = dict(os.environ)
    os.environ["ONEVISIT_INSTANCE"] = str(path)
    for name in ("DATABASE_URL", "ONEVISIT_ENV"):
        os.environ.pop(name, None)
    try:
        with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()) as err:
            rc = cli.main(["demo"])
    finally:
        os.environ.clear()
        os.environ.update(saved)
    assert rc == 0, err.getvalue()
    return path


def prepared_instance(instance: Path, *, demo: bool = False) -> Path:
    """Fill ``instance`` as ``onevisit init`` would (``demo=True``: as ``init`` then ``demo``), by file copy.

    The SQLite file comes migrated to head (with the demo hall, its 30 days of history and
    ``demo-tokens.json``); the copy is taken from a template this process built once.
    """
    if demo not in _instance_templates:
        _instance_templates[demo] = _build_template(demo)
    instance.mkdir(parents=True, exist_ok=True)
    for f in _instance_templates[demo].iterdir():
        if f.is_file() and f.name in ("onevisit.db", "demo-tokens.json"):
            shutil.copy2(f, instance / f.name)
    return instance


def staff_session(base: str, username: str, *, timeout: float = 30) -> requests.Session:
    """A session logged in as staff member ``username`` (demo password) at ``base``, bearer token in its headers."""
    r = requests.post(f"{base}/api/v1/auth/login", json={"username": username, "password": DEMO_PASSWORD},
                      timeout=timeout)
    assert r.status_code == 200, r.text
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {r.json()['token']}"
    return s


def bearer_session(token: str) -> requests.Session:
    """A session sending ``token`` as its bearer token."""
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {token}"
    return s


def clerk_tokens(session, hall_id: int, code: str, count: int, *, now) -> list[str]:
    """Staff sessions for clerks ``<code>-c01`` … as a login would open them, without a password hash per clerk.

    For drills about something else than logging in: each login costs the server an Argon2 verification
    (about 0.2 CPU-seconds on this machine, by design), and sixty-four clerks logging in cost over ten.
    """
    from datetime import timedelta

    from sqlalchemy import select

    from hall_queue.access.auth import issue_token
    from hall_queue.domain.models import Staff

    ids = [session.scalar(select(Staff.id).where(Staff.username == f"{code}-c{i + 1:02d}")) for i in range(count)]
    return [issue_token(session, kind="staff", hall_id=hall_id, staff_id=i, now=now, ttl=timedelta(hours=2))
            for i in ids]


def serve_until_empty(s: requests.Session, base: str, window_id: int, *, called: list[int], lock: threading.Lock,
                      end: Callable[[int], None], timeout: float, ready: threading.Barrier | None = None) -> None:
    """Sign in at ``window_id`` and call until its queues are empty: each called ticket's id goes into ``called``
    (under ``lock``), then ``end(ticket_id)`` ends the visit (finish, no-show…) and checks the answers.

    With ``ready``, the first call waits until every party of the barrier is signed in: all clerks then
    contend from the first call on."""
    assert s.post(f"{base}/api/v1/windows/{window_id}/sign-in", timeout=timeout).status_code == 200
    if ready is not None:
        ready.wait(timeout=timeout)
    while True:
        r = s.post(f"{base}/api/v1/windows/{window_id}/call-next", timeout=timeout)
        assert r.status_code == 200, r.text
        t = r.json()["ticket"]
        if t is None:
            return
        with lock:
            called.append(t["id"])
        end(t["id"])
