"""Real transports (TCP, pty serial, device file) talking to a simulated ESC/POS printer peer."""
import os
import select
import socket
import threading
import time
import tty

import pytest
from escpos.printer import Dummy

from devices.base import UnsupportedDeviceURL
from devices.printer import (
    CoverOpen,
    PaperOut,
    PrinterNotResponding,
    PrinterState,
    PrinterUnavailable,
    SlipMaterial,
    TicketSlip,
    open_printer,
    probe_health,
)
from devices.printer.layouts import layout_ticket

OK = b"\x12"
HEALTHY = {1: OK, 2: OK, 3: OK, 4: OK}
FAST = "status_timeout=0.2&timeout=2"

SLIP = TicketSlip(hall_name="示例政务服务中心", number="A023", queue_name="综合受理（A）", matter="企业设立登记",
                  people_ahead=3, estimated_wait_minutes=9, issued_at="2025-01-06 09:31",
                  materials=[SlipMaterial("住所使用证明", False, 1)], masked_identity="张*三",
                  follow_url="https://hall.example.cn/t/A023")


def expected_job(slip=SLIP):
    dummy = Dummy()
    layout_ticket(dummy, slip)
    return dummy.output


class FakePrinterPeer:
    """The printer's side of the wire: answers DLE EOT n from ``answers``, keeps everything else."""

    def __init__(self):
        self.answers = dict(HEALTHY)
        self.received = bytearray()
        self.queries: list[int] = []
        self._scan = 0

    def feed(self, chunk: bytes) -> bytes:
        self.received += chunk
        reply = b""
        while True:
            at = self.received.find(b"\x10\x04", self._scan)
            if at < 0 or at + 2 >= len(self.received):
                return reply
            n = self.received[at + 2]
            self.queries.append(n)
            reply += self.answers.get(n) or b""
            self._scan = at + 3

    def wait_job(self, size: int, timeout: float = 2.0) -> bytes:
        """Wait until the peer has read ``size`` job bytes (the writer may close before we read)."""
        deadline = time.monotonic() + timeout
        while len(self.job) < size and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.job

    @property
    def job(self) -> bytes:
        data = bytes(self.received)
        for n in (1, 2, 3, 4):
            data = data.replace(b"\x10\x04" + bytes([n]), b"")
        return data


@pytest.fixture
def net_printer():
    """A TCP printer on 127.0.0.1 (like port 9100 on a real one); yields (peer, url base)."""
    peer = FakePrinterPeer()
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.1)
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(0.1)
                while not stop.is_set():
                    try:
                        chunk = conn.recv(65536)
                    except TimeoutError:
                        continue
                    if not chunk:
                        break
                    reply = peer.feed(chunk)
                    if reply:
                        conn.sendall(reply)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield peer, f"escpos-net://127.0.0.1:{server.getsockname()[1]}?{FAST}"
    stop.set()
    thread.join(2)
    server.close()


@pytest.fixture
def serial_printer():
    """A serial printer at the far end of a pty; yields (peer, url)."""
    peer = FakePrinterPeer()
    master, slave = os.openpty()
    tty.setraw(slave)
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            ready, _, _ = select.select([master], [], [], 0.05)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:
                    return
                reply = peer.feed(chunk)
                if reply:
                    os.write(master, reply)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield peer, f"escpos-serial://{os.ttyname(slave)}?baud=115200&{FAST}"
    stop.set()
    thread.join(2)
    os.close(master)
    os.close(slave)


@pytest.fixture(params=["net", "serial"])
def peer_and_url(request):
    return request.getfixturevalue(f"{request.param}_printer")


def test_ticket_round_trip_queries_status_then_sends_the_job_unchanged(peer_and_url):
    peer, url = peer_and_url
    with open_printer(url) as printer:
        assert printer.print_ticket(SLIP) is None
        assert printer.status().state == PrinterState.ONLINE
    assert peer.queries[:4] == [1, 2, 3, 4]
    assert peer.wait_job(len(expected_job())) == expected_job()


@pytest.mark.parametrize(("answers", "state", "reason"), [
    ({4: b"\x1e"}, "online", "paper_near_end"),
    ({1: b"\x1a", 2: b"\x32", 4: b"\x7e"}, "fault", "paper_out"),
    ({1: b"\x1a", 2: b"\x16"}, "fault", "cover_open"),
    ({1: b"\x1a"}, "offline", "offline"),
])
def test_health_from_a_printer_that_answers(net_printer, answers, state, reason):
    peer, url = net_printer
    peer.answers.update(answers)
    health = probe_health(url)
    assert (health.state, health.reason) == (state, reason)


def test_printing_is_refused_with_a_typed_error_in_a_fault(peer_and_url):
    peer, url = peer_and_url
    peer.answers.update({1: b"\x1a", 2: b"\x32", 4: b"\x7e"})
    with open_printer(url) as printer, pytest.raises(PaperOut):
        printer.print_ticket(SLIP)
    peer.answers.update({2: b"\x16", 4: OK})
    with open_printer(url) as printer, pytest.raises(CoverOpen):
        printer.print_ticket(SLIP)
    assert peer.job == b""


def test_a_silent_printer_is_no_answer_never_ok(peer_and_url):
    peer, url = peer_and_url
    peer.answers.clear()
    with open_printer(url) as printer:
        status = printer.status()
        assert status.state == PrinterState.NO_ANSWER
        with pytest.raises(PrinterNotResponding):
            printer.print_ticket(SLIP)
    assert peer.job == b""
    health = probe_health(url)
    assert (health.state, health.reason) == ("offline", "no_answer")


def test_check_0_prints_without_asking(net_printer):
    peer, url = net_printer
    peer.answers.clear()
    with open_printer(url + "&check=0") as printer:
        printer.print_ticket(SLIP)
    assert peer.wait_job(len(expected_job())) == expected_job()
    assert peer.queries == []


def test_a_stale_byte_is_not_taken_for_the_next_answer(net_printer):
    peer, url = net_printer
    peer.answers[1] = OK + b"\x16"  # a late extra byte that would read as "cover open" to query 2
    with open_printer(url) as printer:
        assert printer.status().state == PrinterState.ONLINE


def test_58mm_roll_in_the_url_relayouts_an_80mm_slip(net_printer):
    peer, url = net_printer
    with open_printer(url + "&width=58") as printer:
        printer.print_ticket(SLIP)
    job = expected_job(TicketSlip(**{**SLIP.__dict__, "paper_mm": 58}))
    assert peer.wait_job(len(job)) == job


def test_unreachable_printer_is_offline():
    with socket.create_server(("127.0.0.1", 0)) as s:
        port = s.getsockname()[1]
    health = probe_health(f"escpos-net://127.0.0.1:{port}?timeout=1")
    assert (health.state, health.reason) == ("offline", "printer_unavailable")
    with pytest.raises(PrinterUnavailable):
        open_printer(f"escpos-net://127.0.0.1:{port}?timeout=1")


def test_missing_serial_port_is_unavailable(tmp_path):
    with pytest.raises(PrinterUnavailable):
        open_printer(f"escpos-serial://{tmp_path}/ttyNOPE")


def test_file_transport_writes_the_job_and_cannot_read_status(tmp_path):
    target = tmp_path / "lp0"
    with open_printer(f"escpos-file://{target}") as printer:
        printer.print_ticket(SLIP)
        assert printer.status().state == PrinterState.UNKNOWN
    assert target.read_bytes() == expected_job()
    health = probe_health(f"escpos-file://{target}")
    assert (health.state, health.reason) == ("online", "status_unknown")


def test_usb_without_pyusb_or_with_bad_ids():
    with pytest.raises(UnsupportedDeviceURL):
        open_printer("escpos-usb://zz:5011")
    try:
        import usb  # noqa: F401
    except ImportError:
        health = probe_health("escpos-usb://0416:5011")
        assert (health.state, health.reason) == ("offline", "printer_unavailable")


@pytest.mark.parametrize("url", ["lp://x", "escpos-net://", "escpos-net://h:port", "virtual://?width=76",
                                 "virtual://?qr=svg", "virtual://?paper=low", "escpos-usb://0416"])
def test_bad_urls(url):
    from devices.base import DeviceError

    with pytest.raises(DeviceError):
        open_printer(url)
