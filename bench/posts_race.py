"""A/B posts under load: the HTTP benchmark's sign-ins against duty rounds running back to back (issue 19).

Each round builds an 8-window hall (``load_simple_hall``, open all day, nobody signed in: the first duty
round records every window as an empty post, as a running server does while a benchmark issues tickets),
then signs clerks c01…c08 in at windows 1…8 one after another while another thread runs ``check_posts``
in a loop, each in its own transaction and connection. It counts the halls left with a window that is
signed in and covered — the state that made the benchmark's ``call-next`` fail with ``window_covered``.
PostgreSQL only (SQLite's ``BEGIN IMMEDIATE`` runs these transactions one at a time), in a temporary
database. The deterministic proof is ``tests/integration/queueing/test_posts_race.py``; this shows the
same race at its natural rate.

Usage: ``python -m bench.posts_race [--rounds 40]``; prints one JSON object.
"""
from __future__ import annotations

import argparse
import json
import threading
import uuid

from sqlalchemy import select

from bench.harness import pg_admin
from hall_queue.access.audit import Actor
from hall_queue.domain.clock import SystemClock
from hall_queue.domain.models import Base, Hall, Staff, Window
from hall_queue.entrypoints.demo.loader import load_simple_hall
from hall_queue.infrastructure.db import Database
from hall_queue.queueing import posts

WINDOWS = 8


def one_round(db: Database, clock: SystemClock, code: str) -> tuple[int, int]:
    """Return (windows signed in and covered, failed duty rounds) for one fresh hall."""
    hall_id = db.run_write(lambda s: load_simple_hall(s, code=code, now=clock.now(), windows=WINDOWS).id)
    duty = lambda s: posts.check_posts(s, s.get(Hall, hall_id), now=clock.now())  # noqa: E731
    db.run_write(duty)  # every window is an empty post now
    with db.read() as s:
        windows = {w.number: w.id for w in s.scalars(select(Window).where(Window.hall_id == hall_id))}
        staff = {int(st.username.rsplit("c", 1)[1]): st.id
                 for st in s.scalars(select(Staff).where(Staff.hall_id == hall_id))}
    stop, failed = threading.Event(), [0]

    def duties() -> None:
        while not stop.is_set():
            try:
                db.run_write(duty)
            except Exception:  # noqa: BLE001 - counted
                failed[0] += 1

    t = threading.Thread(target=duties)
    t.start()
    try:
        for n in range(1, WINDOWS + 1):
            actor = Actor(kind="staff", id=staff[n], role="clerk", hall_id=hall_id)
            db.run_write(lambda s: posts.sign_in(s, s.get(Window, windows[n]), s.get(Staff, staff[n]),
                                                 now=clock.now(), actor=actor))
    finally:
        stop.set()
        t.join()
    with db.read() as s:
        bad = len(s.scalars(select(Window.id).where(Window.hall_id == hall_id, Window.clerk_id.is_not(None),
                                                    Window.paused_at.is_(None),
                                                    Window.covered_by_id.is_not(None))).all())
    return bad, failed[0]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=40)
    args = p.parse_args(argv)
    name = f"ov_posts_race_{uuid.uuid4().hex[:8]}"
    with pg_admin() as admin:
        admin.execute(f"CREATE DATABASE {name}")
    db = Database(f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}")
    try:
        Base.metadata.create_all(db.writer)
        clock = SystemClock()
        results = [one_round(db, clock, f"race{r}") for r in range(args.rounds)]
    finally:
        db.dispose()
        with pg_admin() as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    print(json.dumps({"rounds": args.rounds, "halls_with_a_window_signed_in_and_covered": sum(b > 0 for b, _ in results),
                      "windows_signed_in_and_covered": sum(b for b, _ in results),
                      "failed_duty_rounds": sum(f for _, f in results)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
