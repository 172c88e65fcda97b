"""The WebSocket transport under Socket.IO in threading mode (``onevisit run``): how an event reaches 1,000 screens.

Engine.IO's threading transport gives every WebSocket a writer thread fed by a queue: an event for the hall's
1,000 screens wakes 1,000 threads, and each wake-up, with its hand-over of the interpreter lock, cost far more than
the write itself — on this 2-core machine 120–140 ms of CPU per event against 7 ms for the same 1,000 writes made
in one thread (issue 19; ``bench/fanout_bench.py`` reports ``server_cpu_ms_per_cycle``). So a screen connected over
WebSocket from the start (every page of ours: ``live.js`` asks for ``websocket`` first) is written to by the thread
that sends the event, frame built once per event for every screen:

* every byte for a WebSocket goes through one :class:`OrderedSocket`, so frames never interleave whoever writes;
* a write never blocks the sender: what the client's TCP window cannot take now waits in that socket's buffer and
  one flusher thread per process finishes it; a client that takes nothing for ``STALLED_S`` seconds, or falls
  ``MAX_BACKLOG`` bytes behind (a frozen screen), is cut off — it reconnects and gets a fresh snapshot;
* compression is declined (see :func:`install`), so a frame is the same bytes for every screen.

A client that began with HTTP long-polling and upgraded keeps Engine.IO's own path (queue and writer thread). A
long-polling client gets at most ``PACKETS_PER_POLL`` packets per answer (see :func:`poll_at_most`).
"""
from __future__ import annotations

import queue
import select
import socket
import threading
import time
from collections import deque
from typing import Any

from engineio import exceptions as engineio_exceptions

MAX_BACKLOG = 4 * 1024 * 1024  # bytes one client may fall behind before it is cut off
STALLED_S = 30.0  # a client whose window stays shut this long is gone (Engine.IO's own ping timeout is 20 s)
FLUSH_POLL_MS = 50
# python-engineio's client refuses a long-polling answer of more than 16 packets ("Unexpected packet from server",
# and it drops the connection: ``engineio.payload.Payload.max_decode_packets``); a burst of issues (two events each)
# between two polls of a slow client reached that. The rest waits in the queue for the client's next poll.
PACKETS_PER_POLL = 16
_NOT_NOW = (BlockingIOError, InterruptedError)


def frame(message: str | bytes) -> bytes:
    """One unmasked, uncompressed, final WebSocket frame (RFC 6455 §5.2): text for ``str``, binary for ``bytes``."""
    data = message.encode() if isinstance(message, str) else bytes(message)
    first = 0x81 if isinstance(message, str) else 0x82
    n = len(data)
    if n < 126:
        return bytes((first, n)) + data
    if n < 65536:
        return bytes((first, 126)) + n.to_bytes(2, "big") + data
    return bytes((first, 127)) + n.to_bytes(8, "big") + data


class OrderedSocket:
    """A WebSocket's TCP socket whose writes never block and never interleave.

    ``send`` takes all the bytes at once: what the kernel does not accept now is kept in order and written by the
    :class:`Flusher`; reads and everything else go to the real socket."""

    def __init__(self, sock: socket.socket, flusher: Flusher) -> None:
        self._sock = sock
        self._flusher = flusher
        self._lock = threading.Lock()
        self._backlog: deque[memoryview] = deque()
        self._backlog_bytes = 0
        self._stalled_since = 0.0
        self.broken = False

    def send(self, data: bytes) -> int:
        with self._lock:
            if self.broken:
                return len(data)
            if self._backlog:
                self._keep(memoryview(data))
                return len(data)
            try:
                sent = self._sock.send(data, socket.MSG_DONTWAIT)
            except _NOT_NOW:
                sent = 0
            except OSError:
                self._break()
                return len(data)
            if sent < len(data):
                self._stalled_since = time.monotonic()
                self._keep(memoryview(data)[sent:])
                if not self.broken:
                    self._flusher.watch(self)
        return len(data)

    def _keep(self, rest: memoryview) -> None:
        self._backlog.append(rest)
        self._backlog_bytes += len(rest)
        if self._backlog_bytes > MAX_BACKLOG:
            self._break()

    def _break(self) -> None:
        """Give up on this client: nothing more is written, and its reader sees the end of the connection."""
        self.broken = True
        self._backlog.clear()
        self._backlog_bytes = 0
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def flush(self) -> bool:
        """Write what the client's window takes now; True while something is still waiting (the flusher's side)."""
        with self._lock:
            while self._backlog and not self.broken:
                head = self._backlog[0]
                try:
                    sent = self._sock.send(head, socket.MSG_DONTWAIT)
                except _NOT_NOW:
                    break
                except OSError:
                    self._break()
                    break
                self._backlog_bytes -= sent
                self._stalled_since = time.monotonic()
                if sent < len(head):
                    self._backlog[0] = head[sent:]
                    break
                self._backlog.popleft()
            if self._backlog and time.monotonic() - self._stalled_since > STALLED_S:
                self._break()
            waiting = bool(self._backlog) and not self.broken
            if not waiting:  # under this socket's lock: a send that backs up again now finds it unwatched
                self._flusher.forget(self)
            return waiting

    def forget_closed(self) -> None:
        with self._lock:
            self._backlog.clear()
            self._backlog_bytes = 0
            self._flusher.forget(self)

    def fileno(self) -> int:
        return self._sock.fileno()

    def __getattr__(self, name: str) -> Any:  # recv, shutdown, close, settimeout…: the real socket's
        return getattr(self._sock, name)


class Flusher:
    """One thread per process finishing the writes that clients' TCP windows could not take at once."""

    def __init__(self) -> None:
        self._waiting: set[OrderedSocket] = set()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def watch(self, sock: OrderedSocket) -> None:
        with self._lock:
            self._waiting.add(sock)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="onevisit-ws-flusher", daemon=True)
                self._thread.start()
        self._wake.set()

    def forget(self, sock: OrderedSocket) -> None:
        with self._lock:
            self._waiting.discard(sock)

    def _run(self) -> None:
        while True:
            with self._lock:
                waiting = list(self._waiting)
                if not waiting:
                    self._wake.clear()
            if not waiting:
                self._wake.wait()
                continue
            poller = select.poll()
            for s in waiting:
                fd = s.fileno()
                if fd >= 0:
                    poller.register(fd, select.POLLOUT)
            poller.poll(FLUSH_POLL_MS)
            for s in waiting:  # the writable ones move on; the others' stall is checked
                if s.fileno() < 0:
                    s.forget_closed()
                else:
                    s.flush()


FLUSHER = Flusher()


class _HeldQueue:
    """Stands in for a direct WebSocket's Engine.IO queue once its sends go straight out: the idle writer thread
    blocks here until the session closes, instead of timing out after a ping interval (it would then close the
    WebSocket) — nothing else is ever queued."""

    def __init__(self) -> None:
        self._closed = threading.Event()
        self._taken = False

    def put(self, item: Any, *args: Any, **kwargs: Any) -> None:
        if item is None:
            self._closed.set()
        # Anything else comes from Engine.IO after the close (its writer would have dropped it too).

    def get(self, block: bool = True, timeout: float | None = None) -> None:  # None: the close, as Engine.IO's
        if block:
            self._closed.wait()
        if self._taken or not self._closed.is_set():
            raise queue.Empty
        self._taken = True

    def task_done(self) -> None:
        pass

    def join(self) -> None:
        pass


def send_directly(esock: Any, ws: Any, out: OrderedSocket) -> None:
    """From now on ``esock.send`` (Engine.IO's socket) writes the packet's frame at once through ``out``; what was
    queued before (Engine.IO's OPEN packet) goes first."""
    pending = []
    old = esock.queue
    while True:
        try:
            pkt = old.get(block=False)
        except Exception:  # noqa: BLE001 - queue.Empty of whichever queue class the async mode uses
            break
        old.task_done()
        if pkt is not None:
            pending.append(pkt)
    esock.queue = _HeldQueue()

    def send(pkt: Any) -> None:
        try:
            if not esock.check_ping_timeout():  # as Engine.IO's own send: a silent client is closed, not written to
                return
        except Exception:  # noqa: BLE001 - closed meanwhile (SocketIsClosedError): one screen gone never cuts
            return         # a broadcast short for the screens after it in the room
        if not ws.connected:
            return
        data = getattr(pkt, "_ws_frame", None)
        if data is None:
            data = frame(pkt.encode())
            try:
                pkt._ws_frame = data  # the same event to every screen: framed once
            except AttributeError:
                pass
        out.send(data)

    esock.send = send
    for pkt in pending:
        send(pkt)


def poll_at_most(esock: Any) -> list:
    """Engine.IO's ``Socket.poll`` answering at most ``PACKETS_PER_POLL`` packets: wait for the first, then take
    what is queued behind it up to the limit; the close marker (``None``) stays queued for the next poll."""
    empty = esock.server.get_queue_empty_exception()
    try:
        first = esock.queue.get(timeout=esock.server.ping_interval + esock.server.ping_timeout)
        esock.queue.task_done()
    except empty:
        raise engineio_exceptions.QueueEmpty() from None
    if first is None:
        return []
    packets = [first]
    while len(packets) < PACKETS_PER_POLL:
        try:
            pkt = esock.queue.get(block=False)
            esock.queue.task_done()
        except empty:
            break
        if pkt is None:
            esock.queue.put(None)
            break
        packets.append(pkt)
    return packets


def install(eio: Any) -> None:
    """Use this transport for Engine.IO's WebSockets in threading mode (no-op for gevent/eventlet), and answer
    long-polling clients at most ``PACKETS_PER_POLL`` packets at a time."""
    from engineio import socket as engineio_socket

    engineio_socket.Socket.poll = poll_at_most
    import simple_websocket
    from engineio.async_drivers._websocket_wsgi import SimpleWebSocketWSGI

    class HallWebSocket(SimpleWebSocketWSGI):
        def __call__(self, environ, start_response):
            # Compression declined: wsproto would compress every screen's copy separately, in Python, with a zlib
            # context per socket (≈ 2.5 × the CPU of framing it, 200 µs for a first message, some 200 MB for 1,000
            # screens), to save a few hundred bytes on the hall's own network. The handshake reads the offer here.
            environ.pop("HTTP_SEC_WEBSOCKET_EXTENSIONS", None)
            self.ws = simple_websocket.Server(environ, **self.server_args)
            esock = getattr(self.app, "__self__", None)
            # A WebSocket from the start (not an upgraded long-poll) on a blocking socket: a socket with a timeout
            # would wait for its window inside ``send`` whatever the flags, so it keeps Engine.IO's writer thread.
            if esock is not None and not getattr(esock, "connected", True) and self.ws.sock.gettimeout() is None:
                out = OrderedSocket(self.ws.sock, FLUSHER)
                self.ws.sock = out
                send_directly(esock, self.ws, out)
            ret = self.app(self)
            if self.ws.mode == "gunicorn":
                raise StopIteration()
            if self.ws.mode == "werkzeug":
                raise ConnectionError()
            return ret

        def close(self):
            # simple-websocket sends a close frame and waits for the client's; a client holding sessions open never
            # answers, and each such socket kept its reader thread (300 sockets: 10 → 1,211 threads). Shutting the
            # TCP connection down wakes the blocked reader, which then ends.
            super().close()
            sock = getattr(getattr(self, "ws", None), "sock", None)
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    if eio._async.get("websocket") is SimpleWebSocketWSGI:  # threading mode (not gevent/eventlet)
        eio._async = {**eio._async, "websocket": HallWebSocket}
