"""The Socket.IO hub's publishing side: the unbound ``socketio`` extension and sending an event to a room.

Who may connect and join, snapshots on join and the Redis watch live in ``entrypoints.socket_events``.
With several server processes, events travel between them through the Redis message queue; while
Redis is away each process still delivers its own events to its own clients.
"""
from __future__ import annotations

from typing import Any

from flask_socketio import SocketIO

socketio = SocketIO()
# Whether a message queue is configured and reachable, with outage and resync counts (kept by the watch).
QUEUE_STATE: dict[str, Any] = {"configured": False, "ok": True, "outages": 0, "resyncs": 0}


def emit_to_room(name: str, payload: dict, room: str) -> None:
    """Send one event to one room (``hall:<id>``, ``window:<id>``)."""
    if QUEUE_STATE["configured"] and not QUEUE_STATE["ok"]:
        # Redis is down: deliver to this process's clients only, without two failing publishes per event.
        socketio.emit(name, payload, to=room, ignore_queue=True)
        return
    socketio.emit(name, payload, to=room)


def message_queue_state() -> dict[str, Any]:
    """Return whether a message queue is configured and reachable, with outage and resync counts."""
    return dict(QUEUE_STATE)


def socket_paths_only(middleware: Any) -> Any:
    """The WSGI app Flask-SocketIO installed (``middleware``), entered only for the Socket.IO path; every other request
    goes straight to the app behind it.

    Why (issue 19): on every request served by gunicorn, the Engine.IO middleware copies the WSGI environ and defines
    a class (a wrapper of the socket for eventlet's WebSocket module, which this server does not use) before it looks
    at the path — about a twentieth of a bare request's CPU. Socket.IO's own requests (``/socket.io/…``: polling and
    the WebSocket upgrade) still go through it unchanged."""
    path = middleware.engineio_path

    def dispatch(environ: dict, start_response: Any) -> Any:
        if (environ.get("PATH_INFO") or "").startswith(path):
            return middleware(environ, start_response)
        return middleware.wsgi_app(environ, start_response)
    return dispatch
