"""The port owner: sends GA 467 commands to a SAM_V module over pyserial and reads its answers.

Framing lives in :mod:`frames`, the text block in :mod:`text`; this module only moves bytes
between them and the port, with a deadline on every answer so nothing here can hang.
"""
from __future__ import annotations

import threading
import time
from typing import Any, Iterable

import serial

from devices.idcard import status as sw3
from devices.idcard.frames import (
    CardAbsent, ChecksumError, Command, DeviceTimeout, FrameParser, FramingError, IdCardError,
    LengthError, PortError, Response, encode_command, response_from_body, status_error,
)
from devices.idcard.text import ADDRESS_SIZE, IdentityCard, parse_address, parse_card_data

try:  # termios calls (flush, speed) raise termios.error, which is no OSError
    import termios

    _PORT_ERRORS: tuple[type[BaseException], ...] = (serial.SerialException, OSError, termios.error)
except ImportError:  # pragma: no cover - Windows
    _PORT_ERRORS = (serial.SerialException, OSError)

# GA 467 SAM_V UART: 8N1, 115200 by default, settable to these lower rates.
DEFAULT_BAUDRATE = 115200
BAUDRATES = (115200, 57600, 38400, 19200, 9600)
# How long one port.read() may block; the answer deadline is enforced around it.
READ_SLICE = 0.02

RESET = Command(0x10, 0xFF)
SAM_STATUS = Command(0x11, 0xFF)
SAM_ID = Command(0x12, 0xFF)
FIND_CARD = Command(0x20, 0x01)
SELECT_CARD = Command(0x20, 0x02)
READ_TEXT_PHOTO = Command(0x30, 0x01)
READ_NEWEST_ADDRESS = Command(0x30, 0x03)
READ_TEXT_PHOTO_FINGERPRINT = Command(0x30, 0x10)

# Payload sizes of each command's success answer (GA 467 SAM_V): an answer of another size is
# the answer to another command (e.g. a select's 8-byte serial arriving for a find).
NO_DATA = (0,)
CARD_IIN_SIZE = (4,)       # 20 01 → 9F + the card's IIN (00 00 00 00 on resident cards)
CARD_SERIAL_SIZE = (8,)    # 20 02 → 90 + 8 bytes
SAM_ID_SIZE = (16,)        # 12 FF → 90 + the SAM's 16-byte management number


class SerialIdCardReader:
    """A SAM_V ID-card reader on a serial port opened with ``serial.serial_for_url``."""

    def __init__(self, port_url: str, *, baudrate: int = DEFAULT_BAUDRATE, timeout: float = 1.0,
                 open_port: bool = True) -> None:
        """Remember the port settings and, unless told otherwise, open the port.

        :param port_url: a device path or any pyserial URL (``/dev/ttyUSB0``, ``loop://``).
        :param baudrate: the SAM's UART speed.
        :param timeout: seconds to wait for each answer.
        :raises PortError: when the port cannot be opened.
        """
        self.port_url = port_url
        self.baudrate = baudrate
        self.timeout = timeout
        self.simulator: Any = None  # set by open_reader("sim://")
        self._port: serial.SerialBase | None = None
        self._lock = threading.RLock()
        self._attached: list[Any] = []
        if open_port:
            self.open()

    # -- port ownership ---------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        return self._port is not None and self._port.is_open

    def open(self) -> None:
        """Open the port (8N1) if it is not open.

        :raises PortError: when the device is missing or busy.
        """
        with self._lock:
            if self.is_open:
                return
            try:
                self._port = serial.serial_for_url(
                    self.port_url, baudrate=self.baudrate, bytesize=serial.EIGHTBITS,
                    parity=serial.PARITY_NONE, stopbits=serial.STOPBITS_ONE,
                    timeout=READ_SLICE, write_timeout=self.timeout)
            except (*_PORT_ERRORS, ValueError) as e:
                self._port = None
                raise PortError(f"cannot open {self.port_url}: {e}") from e

    def close_port(self) -> None:
        """Close the port only (recovery reopens it later)."""
        with self._lock:
            port, self._port = self._port, None
            if port is not None:
                try:
                    port.close()
                except _PORT_ERRORS:
                    pass  # the device is already gone; closing is best effort

    def reopen(self) -> None:
        """Close and open the port again, e.g. after the reader was unplugged.

        :raises PortError: when it cannot be opened yet.
        """
        with self._lock:
            self.close_port()
            self.open()

    def attach(self, resource: Any) -> None:
        """Close ``resource`` (anything with ``close()``) when this reader is closed."""
        self._attached.append(resource)

    def close(self) -> None:
        """Close the port and whatever was attached to the reader."""
        self.close_port()
        while self._attached:
            self._attached.pop().close()

    def __enter__(self) -> "SerialIdCardReader":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- one request, one answer --------------------------------------------------------------

    def transact(self, command: Command, *, timeout: float | None = None) -> Response:
        """Send one command and return the SAM's answer, whatever its SW3.

        :param command: the request.
        :param timeout: seconds to wait for the answer (default: the reader's).
        :raises PortError: when the port is closed or fails (it is then closed).
        :raises DeviceTimeout: when nothing arrives in time.
        :raises FramingError, LengthError, ChecksumError: on a malformed answer.
        """
        wait = self.timeout if timeout is None else timeout
        with self._lock:
            port = self._port
            if port is None or not port.is_open:
                raise PortError(f"{self.port_url} is not open")
            try:
                # Drop a late answer to an earlier, timed-out command so it cannot pose as ours.
                port.reset_input_buffer()
                port.write(encode_command(command))
                return self._read_response(port, wait)
            except IdCardError:
                raise  # DeviceTimeout is a TimeoutError, hence an OSError: not a port failure
            except _PORT_ERRORS as e:
                self.close_port()
                raise PortError(f"{self.port_url} failed: {e}") from e

    @staticmethod
    def _read_response(port: serial.SerialBase, wait: float) -> Response:
        parser = FrameParser()
        deadline = time.monotonic() + wait
        while True:
            body = parser.next_frame()
            if body is not None:
                return response_from_body(body)
            if time.monotonic() >= deadline:
                raise parser.incomplete_error() or DeviceTimeout(f"SAM did not answer within {wait:.2f} s")
            chunk = port.read(max(1, port.in_waiting))
            if chunk:
                parser.feed(chunk)

    # -- GA 467 commands -------------------------------------------------------------------------

    def reset(self) -> None:
        """Reset the SAM (10 FF).

        :raises StatusError: when the SAM reports a failure.
        :raises ProtocolError: when the answer does not fit the command.
        """
        self.transact(RESET).check(sizes=NO_DATA)

    def sam_status(self) -> bool:
        """Check the SAM is alive and working (11 FF); True when it answers 90.

        :raises StatusError: when the SAM reports a fault (e.g. 60 self-check failed).
        :raises ProtocolError: when the answer does not fit the command.
        """
        self.transact(SAM_STATUS).check(sizes=NO_DATA)
        return True

    def sam_id(self) -> bytes:
        """Read the SAM's management number (12 FF), raw as the module returns it.

        :raises StatusError: when the SAM reports a failure.
        :raises ProtocolError: when the answer does not fit the command.
        """
        return self.transact(SAM_ID).check(sizes=SAM_ID_SIZE).data

    def find_card(self) -> bool:
        """Look for a card in the field (20 01): True on 9F, False on 80.

        :raises StatusError: for another failure SW3.
        :raises ProtocolError: for another command's success code (90), an undefined SW3 or
            a payload that is not the 4-byte IIN.
        """
        answer = self.transact(FIND_CARD)
        if answer.sw3 == sw3.FIND_FAILED:
            return False
        answer.check(sw3.CARD_FOUND, sizes=CARD_IIN_SIZE)
        return True

    def select_card(self) -> bytes:
        """Select the found card (20 02) and return the serial data the SAM answers with.

        :raises CardAbsent: on 81 (the card left or does not answer).
        :raises StatusError: for any other failure.
        :raises ProtocolError: when the answer does not fit the command.
        """
        return self.transact(SELECT_CARD).check(sizes=CARD_SERIAL_SIZE).data

    def read_selected(self, *, fingerprint: bool = False) -> IdentityCard:
        """Read the selected card: text + photo (30 01) or text + photo + fingerprint (30 10).

        :raises StatusError: e.g. 41 when the card moved during the read.
        :raises ProtocolError: for another command's success code (9F) or an undefined SW3.
        :raises LengthError, CardFormatError: when the answer's blocks do not parse.
        """
        command = READ_TEXT_PHOTO_FINGERPRINT if fingerprint else READ_TEXT_PHOTO
        return parse_card_data(self.transact(command).check().data, with_fingerprint=fingerprint)

    def read_card(self, *, fingerprint: bool = False) -> IdentityCard:
        """Find, select and read the card now in the field.

        :raises CardAbsent: when there is no card (status_80) or it left (status_81).
        :raises StatusError, LengthError, CardFormatError: as the steps do.
        """
        if not self.find_card():
            raise status_error(sw3.FIND_FAILED)
        self.select_card()
        return self.read_selected(fingerprint=fingerprint)

    def read_newest_address(self) -> str | None:
        """Read the newest appended address (30 03) of the selected card; None when there is none (91).

        :raises StatusError: for any other failure.
        :raises ProtocolError: when the answer does not fit the command.
        """
        answer = self.transact(READ_NEWEST_ADDRESS)
        if answer.sw3 == sw3.NO_CONTENT:
            return None
        return parse_address(answer.check(sizes=(ADDRESS_SIZE,)).data)

    def wait_for_card(self, timeout: float, *, poll: float = 0.1, fingerprint: bool = False) -> IdentityCard:
        """Poll until a card is presented, then read it.

        :param timeout: seconds to wait for a card.
        :param poll: seconds between find-card attempts.
        :raises CardAbsent: (status_80) when no card came in time.
        :raises StatusError, DeviceTimeout, PortError, ...: when the reader fails.
        """
        deadline = time.monotonic() + timeout
        while True:
            if self.find_card():
                try:
                    self.select_card()
                except CardAbsent:
                    pass  # the card was pulled between find and select: keep waiting
                else:
                    return self.read_selected(fingerprint=fingerprint)
            if time.monotonic() + poll > deadline:
                raise status_error(sw3.FIND_FAILED, f"no card presented within {timeout:g} s")
            time.sleep(poll)

    def probe_baud(self, baudrates: Iterable[int] = BAUDRATES, *, timeout: float = 0.3) -> int:
        """Find the SAM's UART speed by asking for its status at each rate; keep the one that answers.

        Any well-formed answer counts, whatever its SW3: the speed is right even if the SAM is faulty.

        :param baudrates: rates to try, in order.
        :param timeout: seconds to wait at each rate.
        :raises DeviceTimeout: when no rate gets an answer.
        :raises PortError: when the port fails.
        """
        tried = []
        for rate in baudrates:
            tried.append(rate)
            with self._lock:
                port = self._port
                if port is None:
                    raise PortError(f"{self.port_url} is not open")
                try:
                    port.baudrate = rate
                except _PORT_ERRORS as e:
                    self.close_port()
                    raise PortError(f"{self.port_url} failed: {e}") from e
            try:
                self.transact(SAM_STATUS, timeout=timeout)
            except (DeviceTimeout, FramingError, LengthError, ChecksumError):
                continue  # noise or silence: wrong speed
            self.baudrate = rate
            return rate
        with self._lock:
            if self._port is not None:
                try:
                    self._port.baudrate = self.baudrate  # leave the port as configured
                except _PORT_ERRORS:
                    self.close_port()
        raise DeviceTimeout(f"no SAM answered at {', '.join(map(str, tried))} baud")
