"""Socket.IO handlers: who may connect and join ``hall:<id>`` / ``window:<id>``; a client that joins gets a snapshot first.

With several server processes, events travel between them through the Redis message queue. While
Redis is away each process still delivers its own events to its own clients; when Redis returns,
every process pushes a fresh snapshot to the screens it holds, so what they missed from the other
processes during the outage is made good (see :func:`watch_message_queue`).
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app, request
from flask_socketio import join_room
from sqlalchemy import or_, select

from hall_queue.infrastructure.realtime import QUEUE_STATE as _queue
from hall_queue.infrastructure.realtime import socketio
from hall_queue.infrastructure import ws_transport
from hall_queue.access.auth import authenticate
from hall_queue.domain.errors import DomainError
from hall_queue.domain.events import JOIN, SNAPSHOT
from hall_queue.domain.models import AccessToken, Hall, Staff, Window
from hall_queue.domain.vocabulary import MAX_ID
from hall_queue.bootstrap import runtime
from hall_queue.floor.snapshots import hall_snapshot, window_snapshot

log = logging.getLogger("onevisit.realtime")
_principals: dict[str, LiveSession] = {}


def _token_from(auth: Any) -> str | None:
    """The token from the Socket.IO ``auth`` payload or an ``Authorization: Bearer`` header, never the URL.

    A token in a query string ends up in access logs and proxies' logs (issue 13, finding 11).
    """
    if isinstance(auth, dict) and isinstance(auth.get("token"), str):
        return auth["token"]
    header = request.headers.get("Authorization", "")
    return (header[7:].strip() or None) if header.startswith("Bearer ") else None


# ---------------------------------------------------------------- sessions that end (findings 4 and 10)
# Every live Socket.IO connection is checked again against the database every LIVE_CHECK_EVERY_S by a
# background task of its own process: a logout, a revoked token or a disabled account — made by any
# process — closes the connection within a second, with no message queue needed. Engine.IO sessions
# that were refused a token are closed on the next check; those that never sent one, after a short grace.
LIVE_CHECK_EVERY_S = 0.5
UNAUTHENTICATED_GRACE_S = 3.0


@dataclass(frozen=True)
class LiveSession:
    actor: Any
    token_id: int
    eio_sid: str | None


_refused: set[str] = set()            # Engine.IO sessions refused a token: close on the next check
_first_seen: dict[str, float] = {}    # Engine.IO sessions without a Socket.IO connection yet
_checker_lock = threading.Lock()


def _valid_token_ids(session: Any, token_ids: set[int], now: Any) -> set[int]:
    """The ids among ``token_ids`` still valid at ``now``: not revoked, not expired, staff still active."""
    rows = session.execute(
        select(AccessToken.id).outerjoin(Staff, Staff.id == AccessToken.staff_id)
        .where(AccessToken.id.in_(token_ids), AccessToken.revoked_at.is_(None),
               or_(AccessToken.expires_at.is_(None), AccessToken.expires_at > now),
               or_(AccessToken.kind != "staff", Staff.active.is_(True)))).scalars()
    return set(rows)


def _close_transport(eio_sid: str) -> None:
    """End an Engine.IO session without waiting for its writer (which may be gone with the client)."""
    eio = socketio.server.eio
    sock = eio.sockets.pop(eio_sid, None)
    if sock is not None:
        sock.close(wait=False, reason=eio.reason.SERVER_DISCONNECT)


def _close(sid: str, live: LiveSession | None) -> None:
    try:
        socketio.server.disconnect(sid, namespace="/")
    finally:
        if live is not None and live.eio_sid is not None:
            _close_transport(live.eio_sid)  # frees the transport's threads too


def check_live_sessions(app: Flask) -> int:
    """Close every connection whose token no longer holds and every unauthenticated Engine.IO session.

    Return how many were closed. Run by the per-process checker; callable directly.
    """
    closed = 0
    live = dict(_principals)
    if live:
        rt = runtime(app)
        with rt.db.read() as s:
            valid = _valid_token_ids(s, {v.token_id for v in live.values()}, rt.clock.now())
        for sid, info in live.items():
            if info.token_id not in valid and _principals.get(sid) is info:
                log.info("closing a live connection: its token was revoked or expired, or its account disabled")
                _close(sid, info)
                closed += 1
    eio = socketio.server.eio
    authenticated = {v.eio_sid for v in _principals.values()}
    now_m = time.monotonic()
    for eio_sid in list(eio.sockets):
        if eio_sid in authenticated:
            _first_seen.pop(eio_sid, None)
            continue
        if eio_sid in _refused or now_m - _first_seen.setdefault(eio_sid, now_m) > UNAUTHENTICATED_GRACE_S:
            _close_transport(eio_sid)
            closed += 1
    for gone in (set(_first_seen) | _refused) - set(eio.sockets):
        _first_seen.pop(gone, None)
        _refused.discard(gone)
    return closed


def _start_checker(app: Flask) -> None:
    """Start the live-session checker of this process for the current Socket.IO server, once."""
    server = socketio.server
    with _checker_lock:
        if getattr(server, "_onevisit_checker", False):
            return
        server._onevisit_checker = True
        # One Socket.IO server per process in service; a test's new app replaces the old server,
        # whose connections are gone with it.
        _principals.clear()
        _refused.clear()
        _first_seen.clear()

    def loop() -> None:
        while socketio.server is server:  # a test building a new app gets a new server and checker
            socketio.sleep(LIVE_CHECK_EVERY_S)
            try:
                check_live_sessions(app)
            except Exception:
                log.exception("live session check failed")

    socketio.start_background_task(loop)


def harden_transport() -> None:
    """Engine.IO's WebSockets through ``infrastructure.ws_transport``: a server's close ends the TCP connection
    even if the client never answers, messages go out uncompressed, and an event is written to every screen by
    the thread that sends it rather than by a writer thread per screen (issue 19)."""
    ws_transport.install(socketio.server.eio)
    _ignore_reserved_events(socketio.server)


def _ignore_reserved_events(server: Any) -> None:
    """Drop an event a client sends under a lifecycle name (``connect``, ``disconnect``).

    python-socketio hands such an EVENT packet to the lifecycle handler: a client emitting ``disconnect``
    ran :func:`on_disconnect` and lost its principal while still connected, and one emitting ``connect``
    ran :func:`on_connect` again with whatever it sent as the auth. Only the real handshake may run them.
    """
    if getattr(server, "_onevisit_reserved_ignored", False):
        return
    handle = server._handle_event

    def handle_event(eio_sid, namespace, id, data):  # noqa: ANN001, ANN202, A002 - python-socketio's signature
        if isinstance(data, list) and data and data[0] in server.reserved_events:
            log.info("dropped a client event named %r (a reserved name)", data[0])
            return None
        return handle(eio_sid, namespace, id, data)

    server._handle_event = handle_event
    server._onevisit_reserved_ignored = True


def _eio_sid() -> str | None:
    try:
        return socketio.server.manager.eio_sid_from_sid(request.sid, "/")
    except Exception:  # noqa: BLE001 - the test client has no Engine.IO session
        return None


@socketio.on("connect")
def on_connect(auth: Any = None):
    """Sent by every screen, console and dashboard; refused without a valid token (then closed at once)."""
    _start_checker(current_app._get_current_object())
    token = _token_from(auth)
    principal = None
    if token:
        rt = runtime()
        try:
            with rt.db.read() as s:
                principal = authenticate(s, token, now=rt.clock.now())
        except DomainError:
            principal = None
    eio_sid = _eio_sid()
    if principal is None:
        if eio_sid is not None:
            _refused.add(eio_sid)
        return False
    _principals[request.sid] = LiveSession(principal.actor, principal.token_id, eio_sid)
    return True


@socketio.on("disconnect")
def on_disconnect(*_args):
    _principals.pop(request.sid, None)


@socketio.on_error_default
def on_error(e: Exception):
    """Whatever a handler raised: logged once, and the sender's acknowledgement says so (as an HTTP 500 would).

    A failed ``connect`` is refused (``False``): any other answer would let the client in without a principal.
    """
    event = (getattr(request, "event", None) or {}).get("message")
    log.exception("unexpected error in Socket.IO event %r", event)
    if event == "connect":
        return False
    return {"error": {"code": "internal", "message": "internal error; it has been logged"}}


def _still_valid(live: LiveSession) -> bool:
    """Re-check a connection's token in the database (not the token cache): for every ``join``."""
    rt = runtime()
    with rt.db.read() as s:
        return live.token_id in _valid_token_ids(s, {live.token_id}, rt.clock.now())


@socketio.on(JOIN)
def on_join(data: Any = None, *_extra: Any):
    """A client asks for ``{"hall": id}`` or ``{"window": id}``; it gets ``snapshot`` first, then events.

    A ``join`` sent with no argument, or with several, gets the same ``invalid`` answer as a wrong one
    (Flask-SocketIO calls the handler with the event's arguments as they came: it was a TypeError).
    """
    live = _principals.get(request.sid)
    if live is None:
        return {"error": {"code": "unauthorized", "message": "connect with a token first"}}
    if not _still_valid(live):
        _close(request.sid, live)
        return {"error": {"code": "unauthorized", "message": "the token was revoked or has expired"}}
    actor = live.actor
    if not isinstance(data, dict):
        return {"error": {"code": "invalid", "message": "join needs {\"hall\": id} or {\"window\": id}"}}
    rt = runtime()
    now = rt.clock.now()
    with rt.db.read() as s:
        if isinstance(data.get("hall"), int) and not isinstance(data.get("hall"), bool):
            hall = s.get(Hall, data["hall"]) if 0 < data["hall"] <= MAX_ID else None
            if hall is None or (actor.hall_id is not None and actor.hall_id != hall.id):
                return {"error": {"code": "not_found", "message": "hall not found"}}
            if actor.window_id is not None:
                return {"error": {"code": "forbidden", "message": "a window device joins its window only"}}
            room = f"hall:{hall.id}"
            # Join before reading: an event committed meanwhile is either in the snapshot or arrives after.
            join_room(room)
            snap = hall_snapshot(s, hall, now=now)
        elif isinstance(data.get("window"), int) and not isinstance(data.get("window"), bool):
            window = s.get(Window, data["window"]) if 0 < data["window"] <= MAX_ID else None
            if window is None or (actor.hall_id is not None and actor.hall_id != window.hall_id):
                return {"error": {"code": "not_found", "message": "window not found"}}
            if actor.window_id is not None and actor.window_id != window.id:
                return {"error": {"code": "forbidden", "message": "this device belongs to another window"}}
            room = f"window:{window.id}"
            join_room(room)
            snap = window_snapshot(s, window, now=now)
        else:
            return {"error": {"code": "invalid", "message": "join needs {\"hall\": id} or {\"window\": id}"}}
    socketio.emit(SNAPSHOT, {"room": room, **snap}, to=request.sid)
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
            socketio.emit(SNAPSHOT, {"room": room, "resync": True, **snap}, to=room, ignore_queue=True)
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
