"""Socket.IO handlers: who may connect and join ``hall:<id>`` / ``window:<id>``; a client that joins gets a snapshot first.

With several server processes, events travel between them through the Redis message queue. While
Redis is away each process still delivers its own events to its own clients; when Redis returns,
every process pushes a fresh snapshot to the screens it holds, so what they missed from the other
processes during the outage is made good (see :func:`watch_message_queue`).
"""
from __future__ import annotations

import logging
import time
from typing import Any

from flask import Flask, request
from flask_socketio import join_room

from hall_queue.infrastructure.realtime import QUEUE_STATE as _queue
from hall_queue.infrastructure.realtime import socketio
from hall_queue.access.auth import authenticate
from hall_queue.domain.errors import DomainError
from hall_queue.domain.models import Hall, Window
from hall_queue.bootstrap import runtime
from hall_queue.floor.snapshots import hall_snapshot, window_snapshot

log = logging.getLogger("onevisit.realtime")
_principals: dict[str, Any] = {}


def _token_from(auth: Any) -> str | None:
    if isinstance(auth, dict) and isinstance(auth.get("token"), str):
        return auth["token"]
    return request.args.get("token")


@socketio.on("connect")
def on_connect(auth: Any = None):
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
def on_disconnect(*_args):
    _principals.pop(request.sid, None)


@socketio.on("join")
def on_join(data: Any):
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


QUEUE_WATCH_EVERY_S = 1.0
# After Redis returns, the Socket.IO listener of each process resubscribes with a back-off of up to
# 60 s (python-socketio's RedisManager); screens are resynced again once every listener is back.
QUEUE_RESUBSCRIBE_WAIT_S = 75.0
def resync_local_screens(app: Flask) -> int:
    """Push a fresh snapshot to every hall and window room with clients on this process; return the rooms."""
    manager = socketio.server.manager
    rooms = [r for r in list(manager.rooms.get("/", {}).keys())
             if isinstance(r, str) and r.startswith(("hall:", "window:"))]
    rt = runtime(app)
    now = rt.clock.now()
    sent = 0
    with app.app_context(), rt.db.read() as s:
        for room in rooms:
            kind, _, raw = room.partition(":")
            obj = s.get(Hall if kind == "hall" else Window, int(raw)) if raw.isdigit() else None
            if obj is None:
                continue
            snap = hall_snapshot(s, obj, now=now) if kind == "hall" else window_snapshot(s, obj, now=now)
            socketio.emit("snapshot", {"room": room, "resync": True, **snap}, to=room, ignore_queue=True)
            sent += 1
    _queue["resyncs"] += 1
    return sent


def watch_message_queue(app: Flask) -> None:
    """Watch the Redis message queue from a background task (``onevisit run``); nothing to do without one."""
    url = app.config.get("SOCKETIO_MESSAGE_QUEUE")
    if not url or not str(url).startswith(("redis://", "rediss://", "unix://")):
        return
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=1.0, socket_timeout=1.0)
    channel = getattr(socketio.server.manager, "channel", "onevisit")
    _queue["configured"] = True

    def listeners() -> tuple[int, str]:
        """Processes subscribed to our channel, and the Redis server's run id (new after a restart)."""
        count = int(dict(client.pubsub_numsub(channel)).get(channel.encode(), 0))
        return count, str(client.info("server").get("run_id", ""))

    def loop() -> None:
        healthy_listeners = 0
        waiting_for: tuple[int, float] | None = None  # (listeners to wait for, deadline)
        run_id = None
        while True:
            socketio.sleep(QUEUE_WATCH_EVERY_S)
            try:
                count, now_run_id = listeners()
                up = True
            except Exception:  # noqa: BLE001 - any failure to reach Redis counts as "down"
                up = False
            try:
                if not up:
                    if _queue["ok"]:
                        _queue["ok"] = False
                        _queue["outages"] += 1
                        log.error("message queue %s unavailable: events reach this process's clients only",
                                  channel)
                    continue
                if _queue["ok"] and run_id is not None and now_run_id != run_id:
                    # Redis restarted between two looks (an outage shorter than the watch interval):
                    # events published meanwhile are lost all the same.
                    _queue["ok"] = False
                    _queue["outages"] += 1
                    log.error("message queue %s restarted: events of the outage may be lost", channel)
                run_id = now_run_id
                if not _queue["ok"]:
                    _queue["ok"] = True
                    log.warning("message queue back: resyncing this process's screens from snapshots")
                    resync_local_screens(app)
                    waiting_for = (healthy_listeners, time.monotonic() + QUEUE_RESUBSCRIBE_WAIT_S)
                elif waiting_for is not None and (count >= waiting_for[0] or time.monotonic() > waiting_for[1]):
                    # Every process listens again: what was published before that is in this snapshot.
                    resync_local_screens(app)
                    waiting_for = None
                if waiting_for is None:
                    healthy_listeners = count
            except Exception:  # the watch must outlive a database hiccup
                log.exception("message queue watch failed")

    socketio.start_background_task(loop)
