"""A SAM_V module in a thread, on the master side of a pseudo-terminal.

The driver under test opens the pty's slave side with pyserial exactly as it would open
``/dev/ttyUSB0``, so everything from termios to framing is exercised for real. The simulator
answers GA 467 commands, holds whichever fictitious card is "on the reader" and can be told
to misbehave (:class:`Fault`). ``stop()`` is an unplug: the device node disappears and the
driver's port fails; ``start()`` plugs it in again behind the same ``link`` path.

Every identity in :data:`SAMPLE_CARDS` is made up: names, addresses and numbers belong to
nobody (the numbers carry valid GB 11643 check characters, except ``bad_check_digit``).
"""
from __future__ import annotations

import enum
import hashlib
import os
import select
import threading
import tty
from dataclasses import dataclass, replace

from devices.idcard import status as sw3
from devices.idcard.frames import (
    COMMAND_MIN_LENGTH, ChecksumError, Command, FrameParser, LengthError, Response,
    command_from_body, encode_response,
)
from devices.idcard.text import (
    IdentityCard, build_card_data, encode_address, id_check_char, id_number_ok,
)

try:
    import termios
except ImportError:  # pragma: no cover - the simulator needs a POSIX pty
    termios = None  # type: ignore[assignment]


def _fake_file(seed: str, size: int, magic: bytes = b"") -> bytes:
    """Deterministic filler standing in for a WLT photo or fingerprint template."""
    out = bytearray(magic)
    block = seed.encode()
    while len(out) < size:
        block = hashlib.sha256(block).digest()
        out.extend(block)
    return bytes(out[:size])


def _numbered(first17: str) -> str:
    return first17 + id_check_char(first17)


SAMPLE_CARDS: dict[str, IdentityCard] = {
    "resident": IdentityCard(
        card_type="resident", name="张晓三", sex_code="1", nation_code="01", birth="19900307",
        address="北京市东城区示例胡同1号", id_number=_numbered("11010119900307123"),
        authority="北京市公安局东城分局", valid_from="20150520", valid_to="20350520",
        photo_wlt=_fake_file("resident", 1024, b"WLf"), fingerprint=_fake_file("resident-fp", 1024)),
    "resident_long_term": IdentityCard(
        card_type="resident", name="欧阳明月", sex_code="2", nation_code="03", birth="19601115",
        address="宁夏回族自治区银川市兴庆区样例路88号", id_number=_numbered("64010419601115002"),
        authority="银川市公安局兴庆区分局", valid_from="20100601", valid_to="长期",
        photo_wlt=_fake_file("long-term", 1024, b"WLf")),
    "hk_macao_taiwan_permit": IdentityCard(
        card_type="hk_macao_taiwan_permit", name="陈港生", sex_code="1", birth="19880808",
        address="广东省深圳市福田区示例大道100号", id_number=_numbered("81000019880808123"),
        authority="深圳市公安局", valid_from="20190101", valid_to="20240101",
        pass_number="H12345678", issue_count="01",
        photo_wlt=_fake_file("permit", 1024, b"WLf"), fingerprint=_fake_file("permit-fp", 1024)),
    "foreign_permanent": IdentityCard(
        card_type="foreign_permanent", name="简杜", english_name="DOE JANE", sex_code="2",
        id_number="USA318501010010", country="USA", birth="19850101",
        valid_from="20170616", valid_to="20270615", authority="3100", card_version="01",
        photo_wlt=_fake_file("foreign", 1024, b"WLf")),
    "foreign_permanent_2023": IdentityCard(
        card_type="foreign_permanent_2023", name="马丁", sex_code="1", issue_count="01",
        english_name="WILLIAMSON-SMYTHE ALEXANDER MAXIMILIAN JONAS", birth="19800229",
        id_number=_numbered("93112419800229001"), country="CAN",
        valid_from="20231201", valid_to="20331130",
        photo_wlt=_fake_file("foreign-2023", 1024, b"WLf")),
}
# One card whose last character is wrong, so readers can show the mismatch (id_check_ok False).
_good = SAMPLE_CARDS["resident"].id_number or ""
SAMPLE_CARDS["bad_check_digit"] = replace(
    SAMPLE_CARDS["resident"], name="王错位", id_number=_good[:17] + ("0" if _good[17] != "0" else "1"))
# Each sample reads back as itself: fill in the check result a reader computes.
SAMPLE_CARDS = {
    key: replace(card, id_check_ok=None if card.card_type == "foreign_permanent" else id_number_ok(card.id_number))
    for key, card in SAMPLE_CARDS.items()
}


class Fault(enum.Enum):
    """Ways the simulated SAM can misbehave on its next matching command."""

    BAD_CHECKSUM = "bad_checksum"          # answer with the last byte flipped
    NO_ANSWER = "no_answer"                # stay silent
    STATUS = "status"                      # answer with the given SW3 (and data, if given)
    TRUNCATED = "truncated"                # send only the first part of the answer
    REMOVED_MID_READ = "removed_mid_read"  # a read fails with 41 and the card is gone
    NOISE = "noise"                        # line noise before an otherwise good answer


@dataclass
class _Armed:
    fault: Fault
    sw3: int | None
    data: bytes
    command: tuple[int, int] | None
    remaining: int | None  # None: until cleared


def _speed_constant(baudrate: int) -> int | None:
    return getattr(termios, f"B{baudrate}", None) if termios else None


class SamSimulator:
    """A SAM_V module answering on a pty; ``device`` is the path to open with pyserial."""

    def __init__(self, *, baudrate: int = 115200, link: str | None = None,
                 sam_id: bytes = bytes(range(1, 17)), start: bool = True) -> None:
        """Set the module up and, unless told otherwise, plug it in.

        :param baudrate: the only UART speed it answers at (a real SAM hears noise otherwise).
        :param link: a stable symlink to the pty slave, kept across stop/start (like a udev name).
        :param sam_id: the 16-byte management number returned by 12 FF.
        """
        self.baudrate = baudrate
        self.link = link
        self.sam_id = sam_id
        self.requests: list[Command] = []
        self._lock = threading.Lock()
        self._card: IdentityCard | None = None
        self._newest_address: str | None = None
        self._selected = False
        self._faults: list[_Armed] = []
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._master = self._slave = self._wake_r = self._wake_w = -1
        self.slave_path: str | None = None
        if start:
            self.start()

    # -- plugging ----------------------------------------------------------------------------

    @property
    def device(self) -> str:
        """The path a driver opens: the stable link if one was given, else the pty slave."""
        if self.link:
            return self.link
        if self.slave_path is None:
            raise RuntimeError("simulator is not started")
        return self.slave_path

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Plug in: open a new pty in raw mode and answer on it from a thread."""
        if self.running:
            return
        self._master, self._slave = os.openpty()
        # Raw mode: no echo, no CR/LF translation, no signals from 0x03 — bytes are bytes.
        tty.setraw(self._slave)
        tty.setraw(self._master)
        self._set_speed(self._slave, self.baudrate)
        os.set_blocking(self._master, False)
        self.slave_path = os.ttyname(self._slave)
        self._wake_r, self._wake_w = os.pipe()
        if self.link:
            tmp = f"{self.link}.{os.getpid()}.tmp"
            if os.path.lexists(tmp):
                os.unlink(tmp)
            os.symlink(self.slave_path, tmp)
            os.replace(tmp, self.link)
        self._stop.clear()
        self._thread = threading.Thread(target=self._serve, name="sam-simulator", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Unplug: stop answering, close the pty and remove the link."""
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stop.set()
            os.write(self._wake_w, b"x")
            thread.join(timeout=2.0)
        if self.link and os.path.lexists(self.link):
            os.unlink(self.link)
        for fd in (self._master, self._slave, self._wake_r, self._wake_w):
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._master = self._slave = self._wake_r = self._wake_w = -1
        with self._lock:
            self._selected = False

    close = stop

    def __enter__(self) -> "SamSimulator":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @staticmethod
    def _set_speed(fd: int, baudrate: int) -> None:
        speed = _speed_constant(baudrate)
        if speed is None:
            return
        attrs = termios.tcgetattr(fd)
        attrs[4] = attrs[5] = speed
        termios.tcsetattr(fd, termios.TCSANOW, attrs)

    # -- the card on the reader --------------------------------------------------------------------

    @property
    def card(self) -> IdentityCard | None:
        return self._card

    def present(self, card: IdentityCard | str, *, newest_address: str | None = None) -> None:
        """Put a card on the reader (an IdentityCard or a :data:`SAMPLE_CARDS` key).

        :param newest_address: an appended address for 30 03, or None for "no content".
        :raises KeyError: for an unknown sample name.
        """
        chosen = SAMPLE_CARDS[card] if isinstance(card, str) else card
        with self._lock:
            self._card, self._newest_address, self._selected = chosen, newest_address, False

    def remove(self) -> None:
        """Take the card off the reader."""
        with self._lock:
            self._card, self._newest_address, self._selected = None, None, False

    def inject(self, fault: Fault, *, sw3: int | None = None, command: tuple[int, int] | None = None,
               times: int | None = 1, data: bytes = b"") -> None:
        """Arm a fault for the next ``times`` matching commands (None: until :meth:`clear_faults`).

        :param fault: what goes wrong.
        :param sw3: the status to answer with, for :attr:`Fault.STATUS`.
        :param data: the payload sent with that status (default none).
        :param command: only (CMD, PARA) requests trigger it; None: any request.
        :raises ValueError: for STATUS without ``sw3``.
        """
        if fault is Fault.STATUS and sw3 is None:
            raise ValueError("Fault.STATUS needs an sw3 value")
        with self._lock:
            self._faults.append(_Armed(fault, sw3, bytes(data), command, times))

    def clear_faults(self) -> None:
        """Disarm every fault."""
        with self._lock:
            self._faults.clear()

    # -- serving ---------------------------------------------------------------------------------------

    def _serve(self) -> None:
        parser = FrameParser(min_length=COMMAND_MIN_LENGTH)
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([self._master, self._wake_r], [], [], 0.5)
            except (OSError, ValueError):
                return
            if self._wake_r in ready or self._stop.is_set():
                return
            try:
                data = os.read(self._master, 4096)
            except BlockingIOError:
                continue
            except OSError:
                return
            if not self._hears_right_speed():
                continue  # a real SAM decodes a wrong speed as noise and answers nothing
            self.receive(parser, data)

    def receive(self, parser: FrameParser, data: bytes) -> None:
        """Answer (through ``_send``) every complete command in ``data``; a partial one waits in ``parser``.

        The pty loop calls it with what the line brought; a test may call it directly with another
        ``_send`` to drive the same SAM in-process.
        """
        parser.feed(data)
        while True:
            try:
                body = parser.next_frame()
            except ChecksumError:
                self._send(encode_response(Response(0, 0, sw3.CHECKSUM_RECEIVED)))
                continue
            except LengthError:
                self._send(encode_response(Response(0, 0, sw3.LENGTH_RECEIVED)))
                continue
            if body is None:
                break
            self._handle(command_from_body(body))
        if parser.discarded > 4096:
            parser.discarded = 0  # keep the counter bounded on a noisy line

    def _hears_right_speed(self) -> bool:
        speed = _speed_constant(self.baudrate)
        if speed is None:
            return True
        try:
            return termios.tcgetattr(self._master)[5] == speed
        except termios.error:
            return True

    def _send(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                _, writable, _ = select.select([], [self._master], [], 1.0)
            except (OSError, ValueError):
                return
            if not writable:
                return  # nobody reads the slave side: drop the answer rather than hang
            try:
                view = view[os.write(self._master, view):]
            except BlockingIOError:
                continue
            except OSError:
                return

    def _take_fault(self, command: Command) -> _Armed | None:
        with self._lock:
            for armed in self._faults:
                if armed.command is None or armed.command == (command.cmd, command.para):
                    if armed.fault is Fault.REMOVED_MID_READ and command.cmd != 0x30:
                        continue
                    if armed.remaining is not None:
                        armed.remaining -= 1
                        if armed.remaining <= 0:
                            self._faults.remove(armed)
                    return armed
        return None

    def _handle(self, command: Command) -> None:
        self.requests.append(command)
        armed = self._take_fault(command)
        if armed is not None and armed.fault is Fault.NO_ANSWER:
            return
        if armed is not None and armed.fault is Fault.STATUS:
            answer = Response(0, 0, armed.sw3 or 0, armed.data)
        elif armed is not None and armed.fault is Fault.REMOVED_MID_READ:
            self.remove()
            answer = Response(0, 0, sw3.READ_FAILED)
        else:
            answer = self._answer(command)
        frame = encode_response(answer)
        if armed is not None:
            if armed.fault is Fault.BAD_CHECKSUM:
                frame = frame[:-1] + bytes([frame[-1] ^ 0xFF])
            elif armed.fault is Fault.TRUNCATED:
                frame = frame[:max(9, len(frame) // 2)]
            elif armed.fault is Fault.NOISE:
                frame = b"\x00\xFF\x13\xAA\x96" + frame
        self._send(frame)

    def _answer(self, command: Command) -> Response:
        key = (command.cmd, command.para)
        with self._lock:
            card, selected = self._card, self._selected
            if key == (0x10, 0xFF):
                self._selected = False
                return Response(0, 0, sw3.OK)
            if key == (0x11, 0xFF):
                return Response(0, 0, sw3.OK)
            if key == (0x12, 0xFF):
                return Response(0, 0, sw3.OK, self.sam_id)
            if key == (0x20, 0x01):
                self._selected = False
                if card is None:
                    return Response(0, 0, sw3.FIND_FAILED)
                return Response(0, 0, sw3.CARD_FOUND, b"\x00\x00\x00\x00")
            if key == (0x20, 0x02):
                if card is None:
                    return Response(0, 0, sw3.SELECT_FAILED)
                self._selected = True
                serial = hashlib.sha256((card.id_number or "").encode()).digest()[:8]
                return Response(0, 0, sw3.OK, serial)
            if key in ((0x30, 0x01), (0x30, 0x10)):
                if card is None or not selected:
                    return Response(0, 0, sw3.READ_FAILED)
                return Response(0, 0, sw3.OK, build_card_data(card, with_fingerprint=key[1] == 0x10))
            if key == (0x30, 0x03):
                if card is None or not selected:
                    return Response(0, 0, sw3.READ_FAILED)
                if self._newest_address is None:
                    return Response(0, 0, sw3.NO_CONTENT)
                return Response(0, 0, sw3.OK, encode_address(self._newest_address))
        return Response(0, 0, sw3.UNKNOWN_COMMAND)
