"""The screens' WebSocket transport (``infrastructure.ws_transport``, issue 19) on real socket pairs.

Frames are read back with wsproto, the library the server's own WebSocket stack is built on, as a client would.
"""
from __future__ import annotations

import socket
import threading
import time

import pytest
from wsproto.connection import Connection, ConnectionType
from wsproto.events import BytesMessage, TextMessage

from hall_queue.infrastructure import ws_transport
from hall_queue.infrastructure.ws_transport import Flusher, OrderedSocket, frame

WAIT_S = 20.0  # generous bound for the flusher to finish; nothing asserts how fast


def _client_reads(data: bytes) -> list:
    """The messages a WebSocket client makes of ``data`` (a server's unmasked frames)."""
    client = Connection(ConnectionType.CLIENT)
    client.receive_data(data)
    return [e for e in client.events() if isinstance(e, (TextMessage, BytesMessage))]


def _read_all(sock: socket.socket, expected: int) -> bytes:
    got = bytearray()
    deadline = time.monotonic() + WAIT_S
    sock.settimeout(0.5)
    while len(got) < expected and time.monotonic() < deadline:
        try:
            chunk = sock.recv(1 << 20)
        except TimeoutError:
            continue
        if not chunk:
            break
        got += chunk
    return bytes(got)


@pytest.mark.parametrize("size", [0, 1, 125, 126, 127, 65535, 65536, 200_000])
def test_a_frame_of_any_length_is_read_back_whole(size):
    text = "叫" * (size // 3) + "A" * (size % 3)  # UTF-8: exactly ``size`` bytes
    assert len(text.encode()) == size
    [message] = _client_reads(frame(text))
    assert isinstance(message, TextMessage) and message.data == text and message.message_finished
    [binary] = _client_reads(frame(bytes(range(256)) * (size // 256) + bytes(size % 256)))
    assert isinstance(binary, BytesMessage) and len(binary.data) == size


def test_a_client_that_stops_reading_never_blocks_the_sender_and_loses_nothing():
    server, client = socket.socketpair()
    flusher = Flusher()
    out = OrderedSocket(server, flusher)
    payloads = [f'42["ticket_called",{{"n":{i},"pad":"{"x" * 900}"}}]' for i in range(3000)]  # ≈ 2.8 MB
    started = time.monotonic()
    for p in payloads:  # far beyond the socket buffers: nobody reads yet
        out.send(frame(p))
    sending_s = time.monotonic() - started
    assert out._backlog, "the kernel took everything: the test did not fill the window"
    data = _read_all(client, sum(len(frame(p)) for p in payloads))
    messages = _client_reads(data)
    assert [m.data for m in messages] == payloads  # every frame, whole and in order
    print(f"3,000 frames sent in {sending_s * 1000:.0f} ms with the reader stopped")
    server.close()
    client.close()


def test_frames_sent_from_many_threads_at_once_never_interleave():
    server, client = socket.socketpair()
    out = OrderedSocket(server, Flusher())
    threads, per_thread = 8, 400

    def sender(t: int) -> None:
        for i in range(per_thread):
            out.send(frame(f"{t}:{i}:" + "y" * (i % 300)))

    workers = [threading.Thread(target=sender, args=(t,)) for t in range(threads)]
    reader_data: list[bytes] = []
    expected = sum(len(frame(f"{t}:{i}:" + "y" * (i % 300))) for t in range(threads) for i in range(per_thread))
    reader = threading.Thread(target=lambda: reader_data.append(_read_all(client, expected)))
    reader.start()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    reader.join()
    messages = [m.data for m in _client_reads(reader_data[0])]
    assert len(messages) == threads * per_thread
    for t in range(threads):  # each sender's frames arrive whole and in its order
        assert [int(m.split(":")[1]) for m in messages if m.startswith(f"{t}:")] == list(range(per_thread))
    server.close()
    client.close()


def test_a_frozen_client_is_cut_off_instead_of_piling_up(monkeypatch):
    monkeypatch.setattr(ws_transport, "MAX_BACKLOG", 256 * 1024)
    server, client = socket.socketpair()
    out = OrderedSocket(server, Flusher())
    big = frame("z" * 4096)
    for _ in range(2000):  # 8 MB for a reader that never reads
        out.send(big)
    assert out.broken and not out._backlog  # given up, nothing kept
    client.settimeout(WAIT_S)
    received = 0
    while chunk := client.recv(1 << 20):  # what the kernel had taken, then the end of the connection
        received += len(chunk)
    assert received < 2000 * len(big)
    server.close()
    client.close()


def test_a_client_whose_window_stays_shut_is_cut_off_by_the_flusher(monkeypatch):
    monkeypatch.setattr(ws_transport, "STALLED_S", 0.3)
    server, client = socket.socketpair()
    out = OrderedSocket(server, Flusher())
    while not out._backlog:
        out.send(frame("w" * 60_000))
    deadline = time.monotonic() + WAIT_S
    while not out.broken and time.monotonic() < deadline:
        time.sleep(0.05)
    assert out.broken
    server.close()
    client.close()


def test_a_long_poll_answers_at_most_the_packets_a_python_client_accepts():
    """python-engineio's client drops the connection on a polling answer of more than 16 packets: the server answers
    at most ``PACKETS_PER_POLL``, in order, and the rest on the next polls; the close marker stays queued."""
    import engineio
    from engineio import exceptions, packet, payload
    from engineio.socket import Socket

    server = engineio.Server(async_mode="threading", ping_interval=0.05, ping_timeout=0.05)
    ws_transport.install(server)
    esock = Socket(server, "sid-1")
    for i in range(40):
        esock.queue.put(packet.Packet(packet.MESSAGE, data=f"m{i}"))
    esock.queue.put(None)  # a close after the 40th message
    answers = []
    while True:
        got = esock.poll()
        if not got:
            break
        assert len(got) <= ws_transport.PACKETS_PER_POLL
        payload.Payload(encoded_payload=payload.Payload(packets=got).encode())  # the client accepts it
        answers.append([p.data for p in got])
    assert [len(a) for a in answers] == [16, 16, 8]
    assert [m for a in answers for m in a] == [f"m{i}" for i in range(40)]
    with pytest.raises(exceptions.QueueEmpty):
        esock.poll()  # nothing queued: the poll times out as Engine.IO's own does
