"""ID-card reader (身份证阅读器): a SAM_V module over UART speaking GA 467, plus its simulator.

``open_reader(url)`` is the entry point:

* ``serial:///dev/ttyUSB0`` — 115200 8N1 (GA 467 default); ``?baud=57600`` to set the speed,
  ``?probe=1`` to find it, ``?timeout=1.5`` seconds per answer;
* ``sim://`` — an in-process :class:`~devices.idcard.simulator.SamSimulator` on a pty, driven by
  the real :class:`~devices.idcard.driver.SerialIdCardReader` (``reader.simulator`` lets a demo
  kiosk present cards); ``sim://?card=resident`` starts with that sample card on the reader.
"""
from __future__ import annotations

from devices.base import DeviceError, DeviceHealth, DeviceURL, UnsupportedDeviceURL
from devices.idcard.driver import BAUDRATES, DEFAULT_BAUDRATE, SerialIdCardReader
from devices.idcard.frames import (
    CardAbsent, CardAuthError, CardFormatError, CardReadError, ChecksumError, DeviceTimeout,
    FramingError, IdCardError, LengthError, NoContent, PortError, ProtocolError, RequestRejected,
    SamFault, StatusError, UnexpectedAnswer, UnexpectedStatus,
)
from devices.idcard.photo import PhotoDecodeError, PhotoDecoder, decode_photo
from devices.idcard.poller import (
    CardPoller, CardPresented, CardRemoved, ReaderOffline, ReaderOnline, ReadFailed,
)
from devices.idcard.text import IdentityCard

__all__ = [
    "open_reader", "probe_health", "SerialIdCardReader", "IdentityCard", "CardPoller",
    "CardPresented", "CardRemoved", "ReadFailed", "ReaderOffline", "ReaderOnline",
    "PhotoDecoder", "PhotoDecodeError", "decode_photo", "IdCardError", "FramingError",
    "ChecksumError", "LengthError", "DeviceTimeout", "PortError", "CardFormatError", "StatusError",
    "CardAbsent", "CardAuthError", "CardReadError", "NoContent", "RequestRejected", "SamFault",
    "ProtocolError", "UnexpectedStatus", "UnexpectedAnswer",
]


def _timeout_of(url: DeviceURL, default: float) -> float:
    value = url.query.get("timeout")
    if value in (None, ""):
        return default
    try:
        seconds = float(value)
    except ValueError as e:
        raise UnsupportedDeviceURL(f"timeout={value!r} is not a number in {url.raw!r}") from e
    if seconds <= 0:
        raise UnsupportedDeviceURL(f"timeout must be positive in {url.raw!r}")
    return seconds


def open_reader(url: str, *, timeout: float = 1.0) -> SerialIdCardReader:
    """Open the ID-card reader a device URL names.

    :param url: ``serial:///dev/ttyUSB0[?baud=N][&probe=1][&timeout=S]`` or ``sim://[?card=NAME]``.
    :param timeout: seconds to wait for each SAM answer unless the URL says ``timeout=``.
    :raises UnsupportedDeviceURL: for another scheme or a bad parameter.
    :raises PortError: when the serial port cannot be opened.
    :raises DeviceTimeout: when ``probe=1`` finds no speed the SAM answers at.
    """
    parsed = DeviceURL.parse(url)
    wait = _timeout_of(parsed, timeout)
    if parsed.scheme == "serial":
        device = parsed.netloc + parsed.path
        if not device:
            raise UnsupportedDeviceURL(f"serial URL names no device: {url!r}")
        baud = parsed.int_param("baud", DEFAULT_BAUDRATE)
        if baud not in BAUDRATES:
            raise UnsupportedDeviceURL(f"baud={baud} is not a SAM_V speed {BAUDRATES} in {url!r}")
        reader = SerialIdCardReader(device, baudrate=baud, timeout=wait)
        if parsed.query.get("probe") in ("1", "true", "yes"):
            try:
                reader.probe_baud()
            except DeviceError:
                reader.close()
                raise
        return reader
    if parsed.scheme == "sim":
        from devices.idcard.simulator import SAMPLE_CARDS, SamSimulator

        card = parsed.query.get("card") or None
        if card is not None and card not in SAMPLE_CARDS:
            raise UnsupportedDeviceURL(f"card={card!r} is not one of {sorted(SAMPLE_CARDS)} in {url!r}")
        simulator = SamSimulator()
        try:
            reader = SerialIdCardReader(simulator.device, timeout=wait)
        except DeviceError:
            simulator.stop()
            raise
        reader.simulator = simulator
        reader.attach(simulator)
        if card is not None:
            simulator.present(card)
        return reader
    raise UnsupportedDeviceURL(f"the ID-card reader does not speak {parsed.scheme!r}: {url!r}")


def probe_health(url: str) -> DeviceHealth:
    """Report whether the reader at ``url`` works: online only after the SAM answers a status check.

    offline: the port cannot be opened; fault: the SAM is silent, garbled or reports an error.
    """
    try:
        reader = open_reader(url)
        try:
            reader.sam_status()
            sam_id = reader.sam_id()
        finally:
            reader.close()
    except PortError as e:
        return DeviceHealth("idcard", url, "offline", str(e))
    except DeviceError as e:
        return DeviceHealth("idcard", url, "fault", str(e), {"code": e.code})
    return DeviceHealth("idcard", url, "online", None, {"baud": reader.baudrate, "sam_id": sam_id.hex()})
