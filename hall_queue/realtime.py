"""Socket.IO: rooms ``hall:<id>`` and ``window:<id>``; a client that joins gets a snapshot first."""
from __future__ import annotations

import logging
from typing import Any

from flask import request
from flask_socketio import SocketIO, join_room

from .auth import authenticate
from .errors import DomainError
from .models import Hall, Window
from .runtime import runtime
from .snapshot import hall_snapshot, window_snapshot

log = logging.getLogger("onevisit.realtime")
socketio = SocketIO()
_principals: dict[str, Any] = {}


def _token_from(auth: Any) -> str | None:
    if isinstance(auth, dict) and isinstance(auth.get("token"), str):
        return auth["token"]
    return request.args.get("token")


@socketio.on("connect")
def on_connect(auth: Any = None):  # noqa: ANN201
    """Sent by every screen, console and dashboard; refused without a valid token."""
    token = _token_from(auth)
    if not token:
        return False
    rt = runtime()
    try:
        with rt.db.read() as s:
            principal = authenticate(s, token, now=rt.clock.now())
    except DomainError:
        return False
    _principals[request.sid] = principal.actor
    return True


@socketio.on("disconnect")
def on_disconnect(*_args):  # noqa: ANN201
    _principals.pop(request.sid, None)


@socketio.on("join")
def on_join(data: Any):  # noqa: ANN201
    """A client asks for ``{"hall": id}`` or ``{"window": id}``; it gets ``snapshot`` first, then events."""
    actor = _principals.get(request.sid)
    if actor is None:
        return {"error": {"code": "unauthorized", "message": "connect with a token first"}}
    if not isinstance(data, dict):
        return {"error": {"code": "invalid", "message": "join needs {\"hall\": id} or {\"window\": id}"}}
    rt = runtime()
    now = rt.clock.now()
    with rt.db.read() as s:
        if isinstance(data.get("hall"), int) and not isinstance(data.get("hall"), bool):
            hall = s.get(Hall, data["hall"]) if 0 < data["hall"] < 2**62 else None
            if hall is None or (actor.hall_id is not None and actor.hall_id != hall.id):
                return {"error": {"code": "not_found", "message": "hall not found"}}
            if actor.window_id is not None:
                return {"error": {"code": "forbidden", "message": "a window device joins its window only"}}
            room = f"hall:{hall.id}"
            # Join before reading: an event committed meanwhile is either in the snapshot or arrives after.
            join_room(room)
            snap = hall_snapshot(s, hall, now=now)
        elif isinstance(data.get("window"), int) and not isinstance(data.get("window"), bool):
            window = s.get(Window, data["window"]) if 0 < data["window"] < 2**62 else None
            if window is None or (actor.hall_id is not None and actor.hall_id != window.hall_id):
                return {"error": {"code": "not_found", "message": "window not found"}}
            if actor.window_id is not None and actor.window_id != window.id:
                return {"error": {"code": "forbidden", "message": "this device belongs to another window"}}
            room = f"window:{window.id}"
            join_room(room)
            snap = window_snapshot(s, window, now=now)
        else:
            return {"error": {"code": "invalid", "message": "join needs {\"hall\": id} or {\"window\": id}"}}
    socketio.emit("snapshot", {"room": room, **snap}, to=request.sid)
    return {"ok": True, "room": room}


def emit_to_room(name: str, payload: dict, room: str) -> None:
    socketio.emit(name, payload, to=room)
