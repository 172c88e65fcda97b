"""Background duties of a running server: A/B post checks every few seconds."""
from __future__ import annotations

import logging
import time

from flask import Flask
from sqlalchemy import select

from .models import Hall
from .posts import check_posts
from .runtime import runtime

log = logging.getLogger("onevisit.duties")
POST_CHECK_EVERY_S = 5.0


def run_post_checks(app: Flask) -> int:
    """Run one round of post checks over every hall; return the number of events published."""
    rt = runtime(app)

    def do(s):
        events = []
        for hall in s.scalars(select(Hall)).all():
            events += check_posts(s, hall, now=rt.clock.now())
        return events

    events = rt.db.run_write(do)
    rt.publish(events)
    return len(events)


def start_duties(app: Flask) -> None:
    from .realtime import socketio

    def loop() -> None:
        while True:
            time.sleep(POST_CHECK_EVERY_S)
            try:
                run_post_checks(app)
            except Exception:  # noqa: BLE001 - keep the duty alive through a database hiccup
                log.exception("post check failed")

    socketio.start_background_task(loop)
