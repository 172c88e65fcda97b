"""SAM_V frames (GA 467 serial protocol): encoding, decoding and a stream parser, plus their errors.

Host → SAM:  ``AA AA AA 96 69 | LEN1 LEN2 | CMD PARA | data | CHK``
SAM → host:  ``AA AA AA 96 69 | LEN1 LEN2 | SW1 SW2 SW3 | data | CHK``

LEN is big-endian and counts every byte after it up to and including CHK; CHK is the XOR of
every byte from LEN1 to the last data byte (preamble and CHK itself excluded).

:class:`FrameParser` plays the part of pyserial's ``serial.threaded.FramedPacket``: it is fed
bytes and hands back frame bodies, never touching a port (STYLE rule 8).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import reduce

from devices.base import DeviceError
from devices.idcard import status as sw3_status

# The first three bytes let the receiver synchronise, the last two mark the frame start
# (GA 467 SAM_V protocol, "Preamble").
PREAMBLE = b"\xAA\xAA\xAA\x96\x69"
HEADER_SIZE = len(PREAMBLE) + 2
COMMAND_MIN_LENGTH = 3   # CMD PARA CHK
RESPONSE_MIN_LENGTH = 4  # SW1 SW2 SW3 CHK
# The longest answer GA 467 defines is 30 10 (text + photo + fingerprint): LEN = 2314.
# Anything much longer is a corrupted LEN; bounding it bounds how long we wait for it.
MAX_LENGTH = 4096


class IdCardError(DeviceError):
    """Base of every ID-card reader error."""

    code = "idcard"


class FramingError(IdCardError):
    """Bytes arrived that are not a frame (no preamble where one was due)."""

    code = "framing"


class ChecksumError(IdCardError):
    """A frame's XOR checksum does not match its contents."""

    code = "checksum"


class LengthError(IdCardError):
    """A frame's declared length is impossible, or the frame/payload was cut short."""

    code = "length"


class DeviceTimeout(IdCardError, TimeoutError):
    """The SAM did not answer in time."""

    code = "timeout"


class PortError(IdCardError):
    """The serial port could not be opened or vanished (reader unplugged)."""

    code = "offline"


class CardFormatError(IdCardError):
    """The card's text block has a layout we do not know."""

    code = "card_format"


class StatusError(IdCardError):
    """The SAM answered with an SW3 that is not success; ``code`` is ``status_XX`` (hex SW3)."""

    def __init__(self, sw3: int, message: str | None = None, *, sw1: int = 0, sw2: int = 0) -> None:
        self.sw3 = sw3
        self.sw1 = sw1
        self.sw2 = sw2
        self.status = sw3_status.describe(sw3)
        super().__init__(message or f"SAM status 0x{sw3:02X}: {self.status.meaning}",
                         code=f"status_{sw3:02X}")


class CardAbsent(StatusError):
    """No card in the field, or it left before it could be selected (SW3 80, 81)."""


class RequestRejected(StatusError):
    """The SAM refused our frame (SW3 10, 11, 21, 23): a bug or line noise on our side."""


class CardAuthError(StatusError):
    """Mutual authentication between SAM and card failed (SW3 31, 32, 33)."""


class CardReadError(StatusError):
    """Reading the card failed, typically because it moved (SW3 40, 41, 47)."""


class NoContent(StatusError):
    """The card holds no such item (SW3 91)."""


class SamFault(StatusError):
    """The SAM module itself is unusable (SW3 24, 60, 66 or unknown)."""


class ProtocolError(IdCardError):
    """A well-formed answer that does not fit the command it answers (GA 467 SAM_V).

    A success code of another command (9F "card found" to a read), a status the protocol does
    not define, or a payload of the wrong size for this command (the answer to another command).
    Nothing was read; the caller may simply try again.
    """

    code = "protocol"


class UnexpectedStatus(ProtocolError):
    """The SAM answered with an SW3 this command never returns (another command's success
    code or a code GA 467 does not define); ``sw3`` holds it."""

    code = "unexpected_status"

    def __init__(self, sw3: int, message: str | None = None, *, sw1: int = 0, sw2: int = 0) -> None:
        self.sw3 = sw3
        self.sw1 = sw1
        self.sw2 = sw2
        self.status = sw3_status.describe(sw3)
        super().__init__(message or f"unexpected SAM status 0x{sw3:02X} ({self.status.meaning})")


class UnexpectedAnswer(ProtocolError):
    """The status fits the command but the payload does not (its size belongs to another answer)."""

    code = "unexpected_answer"


_STATUS_CLASSES: dict[str, type[StatusError]] = {
    "no_card": CardAbsent,
    "rejected": RequestRejected,
    "auth": CardAuthError,
    "read": CardReadError,
    "no_content": NoContent,
    "sam_fault": SamFault,
}


def status_error(sw3: int, message: str | None = None, *, sw1: int = 0,
                 sw2: int = 0) -> StatusError | UnexpectedStatus:
    """Build the typed exception for an SW3 that is not the one a command expects.

    A failure code of the GA 467 table gives its :class:`StatusError` subclass; a success code
    (90, 9F: what *another* command would answer) or a code the table lacks gives
    :class:`UnexpectedStatus`. Never raises: every byte value maps to an error of ours.

    :param sw3: the SAM status byte.
    :param message: overrides the table's meaning.
    """
    kind = sw3_status.describe(sw3).kind
    if kind in ("ok", "unknown"):
        return UnexpectedStatus(sw3, message, sw1=sw1, sw2=sw2)
    return _STATUS_CLASSES[kind](sw3, message, sw1=sw1, sw2=sw2)


@dataclass(frozen=True)
class Command:
    """A host → SAM request."""

    cmd: int
    para: int
    data: bytes = b""


@dataclass(frozen=True)
class Response:
    """A SAM → host answer."""

    sw1: int
    sw2: int
    sw3: int
    data: bytes = b""

    def check(self, *expected: int, sizes: tuple[int, ...] | None = None) -> "Response":
        """Return self when SW3 is one of ``expected`` (default 90) and the payload fits.

        :param sizes: the payload sizes the command's answer may have; None: any.
        :raises StatusError: the typed subclass for a failure SW3.
        :raises UnexpectedStatus: for another command's success code or an undefined SW3.
        :raises UnexpectedAnswer: when the payload size is not one of ``sizes``.
        """
        if self.sw3 not in (expected or (sw3_status.OK,)):
            raise status_error(self.sw3, sw1=self.sw1, sw2=self.sw2)
        if sizes is not None and len(self.data) not in sizes:
            raise UnexpectedAnswer(f"SAM answered 0x{self.sw3:02X} with {len(self.data)} data bytes; "
                                   f"this command's answer carries {' or '.join(map(str, sizes))}")
        return self


def checksum(data: bytes) -> int:
    """XOR every byte (GA 467: LEN1 through the last data byte)."""
    return reduce(lambda a, b: a ^ b, data, 0)


def encode_frame(body: bytes) -> bytes:
    """Wrap a body (CMD PARA data, or SW1 SW2 SW3 data) in preamble, length and checksum.

    :raises LengthError: when the body is too long for the 16-bit length field.
    """
    length = len(body) + 1
    if length > 0xFFFF:
        raise LengthError(f"frame body of {len(body)} bytes does not fit a 16-bit length")
    head = length.to_bytes(2, "big")
    return PREAMBLE + head + body + bytes([checksum(head + body)])


def encode_command(command: Command) -> bytes:
    """Encode a host → SAM frame."""
    return encode_frame(bytes([command.cmd, command.para]) + command.data)


def encode_response(response: Response) -> bytes:
    """Encode a SAM → host frame (used by the simulator)."""
    return encode_frame(bytes([response.sw1, response.sw2, response.sw3]) + response.data)


def command_from_body(body: bytes) -> Command:
    """Split a request body into CMD, PARA and data.

    :raises LengthError: when the body is shorter than CMD PARA.
    """
    if len(body) < 2:
        raise LengthError(f"command body of {len(body)} bytes has no CMD/PARA")
    return Command(body[0], body[1], bytes(body[2:]))


def response_from_body(body: bytes) -> Response:
    """Split an answer body into SW1 SW2 SW3 and data.

    :raises LengthError: when the body is shorter than SW1 SW2 SW3.
    """
    if len(body) < 3:
        raise LengthError(f"response body of {len(body)} bytes has no SW1/SW2/SW3")
    return Response(body[0], body[1], body[2], bytes(body[3:]))


def decode_command(raw: bytes) -> Command:
    """Decode exactly one host → SAM frame.

    :raises FramingError, LengthError, ChecksumError: on a malformed frame.
    """
    return command_from_body(_one_frame(raw, COMMAND_MIN_LENGTH))


def decode_response(raw: bytes) -> Response:
    """Decode exactly one SAM → host frame.

    :raises FramingError, LengthError, ChecksumError: on a malformed frame.
    """
    return response_from_body(_one_frame(raw, RESPONSE_MIN_LENGTH))


def _one_frame(raw: bytes, min_length: int) -> bytes:
    """Return the body of the one frame ``raw`` holds.

    :raises FramingError: when ``raw`` holds no frame or more than one.
    """
    frames = decode_stream(raw, min_length=min_length)
    if len(frames) != 1:
        raise FramingError(f"expected one frame, found {len(frames)}")
    return frames[0]


def _preamble_prefix_at_end(buf: bytearray) -> int:
    """Length of the longest tail of ``buf`` that could be the start of a preamble."""
    for keep in range(min(len(PREAMBLE) - 1, len(buf)), 0, -1):
        if buf[-keep:] == PREAMBLE[:keep]:
            return keep
    return 0


class FrameParser:
    """Turn a byte stream into frame bodies, resynchronising on the preamble.

    Bytes before a preamble are skipped and counted in ``discarded`` (line noise at power-up
    must not cost a read); a corrupt frame raises its typed error once, after which the parser
    has already moved past it, so the next call carries on with the rest of the stream.
    Every call consumes input or returns, so the parser cannot loop forever.
    """

    def __init__(self, *, min_length: int = RESPONSE_MIN_LENGTH, max_length: int = MAX_LENGTH) -> None:
        self.min_length = min_length
        self.max_length = max_length
        self.buffer = bytearray()
        self.discarded = 0

    def feed(self, data: bytes) -> None:
        """Append received bytes."""
        self.buffer.extend(data)

    def next_frame(self) -> bytes | None:
        """Return the next complete frame's body, or None until more bytes arrive.

        :raises LengthError: on an impossible declared length.
        :raises ChecksumError: on a checksum mismatch.
        """
        buf = self.buffer
        start = buf.find(PREAMBLE)
        if start < 0:
            junk = len(buf) - _preamble_prefix_at_end(buf)
            self.discarded += junk
            del buf[:junk]
            return None
        if start:
            self.discarded += start
            del buf[:start]
        if len(buf) < HEADER_SIZE:
            return None
        length = int.from_bytes(buf[5:7], "big")
        if not self.min_length <= length <= self.max_length:
            # Drop one byte only: a real preamble may hide inside what we thought was a frame.
            del buf[:1]
            self.discarded += 1
            raise LengthError(f"declared frame length {length} outside {self.min_length}..{self.max_length}")
        total = HEADER_SIZE + length
        if len(buf) < total:
            return None
        frame = bytes(buf[:total])
        expected = checksum(frame[5:-1])
        if expected != frame[-1]:
            del buf[:1]
            self.discarded += 1
            raise ChecksumError(f"frame checksum 0x{frame[-1]:02X}, computed 0x{expected:02X}")
        del buf[:total]
        return frame[HEADER_SIZE:-1]

    def incomplete_error(self) -> IdCardError | None:
        """Describe what is left when no more bytes will come (end of stream or timeout)."""
        buf = self.buffer
        if buf.startswith(PREAMBLE) and len(buf) >= HEADER_SIZE:
            length = int.from_bytes(buf[5:7], "big")
            return LengthError(f"truncated frame: {len(buf) - HEADER_SIZE} of {length} declared bytes arrived")
        if buf:
            return LengthError(f"truncated frame header: {len(buf)} bytes")
        if self.discarded:
            return FramingError(f"{self.discarded} bytes arrived without a valid frame")
        return None


def decode_stream(data: bytes, *, min_length: int = RESPONSE_MIN_LENGTH,
                  max_length: int = MAX_LENGTH) -> list[bytes]:
    """Decode a complete, bounded byte string into frame bodies, strictly.

    :param data: every byte of the stream; nothing more will come.
    :raises FramingError: when any byte lies outside a frame.
    :raises LengthError: on an impossible length or a truncated frame.
    :raises ChecksumError: on a checksum mismatch.
    """
    parser = FrameParser(min_length=min_length, max_length=max_length)
    parser.feed(data)
    bodies = []
    while (body := parser.next_frame()) is not None:
        bodies.append(body)
    error = parser.incomplete_error()
    if error is not None:
        raise error
    return bodies
