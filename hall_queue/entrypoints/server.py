"""The production server behind ``onevisit run``: gunicorn, one ``gthread`` worker, Flask-SocketIO threading mode.

Why gthread (measured, README "Benchmarks"): Flask-SocketIO's threading mode with simple-websocket
runs under gunicorn's gthread worker; kiosks and consoles keep their HTTP connections alive (idle
ones wait in the worker's poller, not in a thread), and the hall's blocking parts — SQLite in C, the
writer ``flock`` between processes, pyserial devices, psycopg — stay correct without monkey
patching. Under gevent or eventlet each of those would stop every screen's greenlet while it runs.

One worker per port: Flask-SocketIO keeps a client's session in the process that accepted it, so
more processes run on consecutive ports (``onevisit run --workers N``, ``supervisor.py``) behind a
sticky load balancer. The app is built in the worker, after the fork, so the publisher thread, the
periodic duties and the Redis watch start in the process that serves (``on_serving``).
"""
from __future__ import annotations

import ctypes
import os
import signal
import sys
from collections.abc import Callable
from typing import Any

from gunicorn.app.base import BaseApplication

# A thread per WebSocket (screens, consoles, pads) plus request threads; idle keep-alive
# connections take no thread. worker_connections must exceed threads or keep-alive is off.
DEFAULT_THREADS = int(os.environ.get("ONEVISIT_THREADS", "1200"))
KEEPALIVE_S = 75  # nginx's own keepalive_timeout default: a proxy's pooled connection is not cut first
# Only to compare servers in the benchmarks (README "Benchmarks"): e.g. "gevent" with gevent installed.
WORKER_CLASS = os.environ.get("ONEVISIT_WORKER_CLASS", "gthread")


def _die_with_parent() -> None:
    """Linux: the worker gets SIGKILL when the arbiter dies, as a power cut or ``kill -9`` of ``onevisit run`` would."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass


class GunicornServer(BaseApplication):
    """gunicorn run in-process by ``onevisit run``; ``build`` makes the WSGI app inside the worker."""

    def __init__(self, build: Callable[[], Any], *, host: str, port: int, threads: int = DEFAULT_THREADS,
                 access_log: bool = False) -> None:
        self._build = build
        self._options = {
            "bind": f"{host}:{port}",
            "workers": 1,
            "worker_class": WORKER_CLASS,
            "threads": threads,
            "worker_connections": threads + 2000,
            "keepalive": KEEPALIVE_S,
            # A worker whose main loop stops for this long is restarted; requests and WebSockets run in threads.
            "timeout": 60,
            "graceful_timeout": 3,  # open WebSockets never finish: screens reconnect to the next process
            "accesslog": "-" if access_log else None,
            "errorlog": "-",
            "loglevel": "warning",
            "post_fork": lambda _arbiter, _worker: _die_with_parent(),
            "proc_name": "onevisit",
        }
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        return self._build()


def serve(build: Callable[[], Any], *, host: str, port: int, access_log: bool = False) -> int:
    GunicornServer(build, host=host, port=port, access_log=access_log).run()
    return 0
