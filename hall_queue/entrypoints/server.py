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
import json
import logging
import os
import select
import signal
import sys
import time
from collections.abc import Callable
from typing import Any

from gunicorn import util as gunicorn_util
from gunicorn.app.base import BaseApplication
from gunicorn.http import wsgi as gunicorn_wsgi
from gunicorn.workers.gthread import ThreadWorker

# A thread per WebSocket (screens, consoles, pads) plus request threads; idle keep-alive
# connections take no thread. worker_connections must exceed threads or keep-alive is off.
DEFAULT_THREADS = int(os.environ.get("ONEVISIT_THREADS", "1200"))
KEEPALIVE_S = 75  # nginx's own keepalive_timeout default: a proxy's pooled connection is not cut first
# How long a request thread waits on its keep-alive connection for the next request before handing the
# connection back to the worker's poller (see ``HallWorker.handle``).
LINGER_S = 0.02
# Only to compare servers in the benchmarks (README "Benchmarks"): e.g. "gevent" with gevent installed.
WORKER_CLASS = os.environ.get("ONEVISIT_WORKER_CLASS", "gthread")


def _die_with_parent() -> None:
    """Linux: the worker gets SIGKILL when the arbiter dies, as a power cut or ``kill -9`` of ``onevisit run`` would."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass


class HallWorker(ThreadWorker):
    """gunicorn's gthread worker that leaves at once when its graceful stop is over.

    Why: after the last request is answered, a plain ``sys.exit`` tears the interpreter down — the
    app's whole heap (SQLAlchemy, NumPy/OpenCV, the catalogue caches) collected object by object,
    2–3 CPU-seconds on this machine, more under load. That outlasts ``graceful_timeout``, so every
    ``systemctl stop`` or restart waited out the grace and ended with gunicorn's SIGKILL and its
    "Perhaps out of memory?" line in the log. Nothing is lost by skipping the teardown: every
    acknowledged ticket was committed before its answer left, and the logs are flushed here.
    """

    def run(self) -> None:
        super().run()  # returns once the worker stopped accepting and its connections ended (or the grace did)
        _leave(0)

    def handle(self, conn):  # noqa: ANN001 - gunicorn's TConn
        """Serve the connection's requests while they come back to back, then hand it back to the poller.

        Why (issue 19): gthread returns a kept-alive connection to its poller after every answer — two epoll
        changes, a pipe write and read, a future and two thread hand-offs under the GIL per request, about a
        third of a bare request's CPU. A busy client (a console, nginx's pooled connection under load) sends
        its next request within a few milliseconds; it is read here by the same thread. A quiet one costs a
        sleeping thread for ``LINGER_S`` (threads are plentiful: ``ONEVISIT_THREADS``), no CPU.
        """
        keep = super().handle(conn)
        while keep is True and self.alive and _next_request_within(conn, LINGER_S):
            keep = super().handle(conn)
        return keep


def _next_request_within(conn: Any, seconds: float) -> bool:
    """Whether a kept-alive connection has its next request (or its end) within ``seconds``."""
    if conn.parser.unreader.buf.getvalue():  # read ahead already (a pipelining client): not seen by a poll
        return True
    poller = select.poll()
    poller.register(conn.sock, select.POLLIN)
    return bool(poller.poll(seconds * 1000))


class GunicornServer(BaseApplication):
    """gunicorn run in-process by ``onevisit run``; ``build`` makes the WSGI app inside the worker."""

    def __init__(self, build: Callable[[], Any], *, host: str, port: int, threads: int = DEFAULT_THREADS,
                 access_log: bool = False) -> None:
        self._build = build
        self._options = {
            "bind": f"{host}:{port}",
            "workers": 1,
            "worker_class": HallWorker if WORKER_CLASS == "gthread" else WORKER_CLASS,
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


_date_kept: tuple[int, str] = (-1, "")
_http_date = gunicorn_util.http_date


def _http_date_per_second(timestamp: float | None = None) -> str:
    """gunicorn's ``Date`` header text, formatted once per second instead of once per answer.

    Why (issue 19): ``email.utils.formatdate`` was a twentieth of a bare request's CPU; the header's
    resolution is a whole second anyway (RFC 9110 §5.6.7). A date asked for another moment is formatted.
    """
    global _date_kept
    if timestamp is not None:
        return _http_date(timestamp)
    now = int(time.time())
    second, text = _date_kept  # one tuple read: a thread never pairs one second with another's text
    if second != now:
        text = _http_date(now)
        _date_kept = (now, text)
    return text


class OneWriteResponse(gunicorn_wsgi.Response):
    """gunicorn's answer, its head and a whole body of known length sent in one ``sendall`` instead of two.

    Why (issue 19): nearly every answer of the API is one piece of known length; two writes cost two system calls and
    two TCP segments, each woken for on the client's side. Anything else (chunked, streamed, a HEAD, a file) takes
    gunicorn's own path.
    """

    def write(self, arg):  # noqa: ANN001 - gunicorn's signature
        if (not self.headers_sent and type(arg) is bytes and self.response_length == len(arg) and not self.chunked
                and not getattr(self, "_omits_body", False)):
            head = self.default_headers()
            head.extend(["%s: %s\r\n" % (k, v) for k, v in self.headers])
            self.headers_sent = True
            self.sent = len(arg)
            gunicorn_util.write(self.sock, ("%s\r\n" % "".join(head)).encode("latin-1") + arg)
            return
        super().write(arg)


def _write_json_error(sock: Any, status_int: int, reason: str, mesg: str) -> None:
    """gunicorn's own refusals (a request line or headers too long, a malformed request) as the API's JSON error.

    Why: they never reach Flask, and gunicorn wrote them as an HTML page — the one place a client of the API got
    a 4xx without ``{"error": {"code", "message"}}`` (a URL over 4,094 bytes answered 414 in HTML).
    """
    body = json.dumps({"error": {"code": reason.lower().replace(" ", "_"), "message": mesg or reason}}).encode()
    head = (f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")
    gunicorn_util.write_nonblock(sock, head.encode("latin-1") + body)


def _leave(code: object) -> None:
    """End this process without the interpreter's teardown (see ``HallWorker``), logs flushed first."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code if isinstance(code, int) else (0 if code is None else 1))


def serve(build: Callable[[], Any], *, host: str, port: int, access_log: bool = False) -> int:
    gunicorn_util.http_date = _http_date_per_second  # gunicorn's answers read it as util.http_date()
    gunicorn_util.write_error = _write_json_error  # the worker's handle_error calls util.write_error()
    gunicorn_wsgi.Response = OneWriteResponse  # ``wsgi.create`` makes every HTTP/1 answer from this name
    try:
        GunicornServer(build, host=host, port=port, access_log=access_log).run()
    except SystemExit as halted:  # the arbiter halts by sys.exit once its worker is gone: leave as the worker does
        _leave(halted.code)
    return 0
