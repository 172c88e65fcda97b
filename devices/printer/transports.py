"""Transports from device URLs: python-escpos drivers for output, our own DLE EOT exchange for status.

Each transport only opens, sends one job, asks one status byte and closes (the python-escpos
split of ``open``/``_raw``/``_read``/``close``). python-escpos's ``_read`` blocks for the
connection timeout (60 s on the network) and reads 16 bytes, so the status exchange is done
here on the underlying socket, serial port or USB endpoint with a short timeout.
"""
from __future__ import annotations

import logging
import socket
from abc import ABC, abstractmethod
from typing import Protocol
from urllib.parse import urlsplit

from escpos.escpos import Escpos
from escpos.exceptions import Error as EscposError
from escpos.printer import Network

from devices.base import DeviceURL, UnsupportedDeviceURL
from devices.printer.errors import PrinterIOError, PrinterUnavailable
from devices.printer.escpos_bytes import status_query

log = logging.getLogger(__name__)

DEFAULT_STATUS_TIMEOUT = 0.5  # seconds; printers answer DLE EOT within milliseconds
DEFAULT_IO_TIMEOUT = 5.0


class Transport(Protocol):
    """Where slips go: a real printer behind python-escpos, or the virtual printer."""

    where: str
    can_read_status: bool

    def send(self, job: bytes, kind: str) -> str | None:
        """Deliver one complete job; the virtual printer returns the PNG path."""

    def ask_status(self, n: int) -> bytes | None:
        """Send DLE EOT n and return the answer, or None when the printer stays silent."""

    def close(self) -> None:
        """Release the connection."""


class EscposTransport(ABC):
    """A python-escpos driver that owns the connection; subclasses add the status exchange."""

    can_read_status = True

    def __init__(self, driver: Escpos, where: str, status_timeout: float) -> None:
        """Open ``driver`` now so a wrong address fails at open time.

        :raises PrinterUnavailable: when python-escpos cannot open the device.
        """
        self.driver = driver
        self.where = where
        self.status_timeout = status_timeout
        try:
            driver.open()
        except (EscposError, OSError) as e:
            raise PrinterUnavailable(f"cannot open printer at {where}: {e}") from e

    def send(self, job: bytes, kind: str) -> str | None:
        """Write the job in one piece.

        :raises PrinterIOError: when the write fails or times out.
        """
        try:
            self.driver._raw(job)
        except (OSError, EscposError) as e:
            raise PrinterIOError(f"writing {kind} to {self.where} failed: {e}") from e
        return None

    def ask_status(self, n: int) -> bytes | None:
        """Exchange one DLE EOT query; an I/O failure counts as silence, never as a good answer."""
        try:
            return self._exchange(status_query(n))
        except OSError as e:
            log.warning("status query DLE EOT %d to %s failed: %s", n, self.where, e)
            return None

    @abstractmethod
    def _exchange(self, query: bytes) -> bytes | None:
        """Send one query and return the first answer byte(s), or None after the status timeout."""

    def close(self) -> None:
        """Close the driver; a failing close is logged, not raised (the job is already out)."""
        try:
            self.driver.close()
        except (OSError, EscposError) as e:
            log.warning("closing printer at %s failed: %s", self.where, e)


class _Network(Network):
    """python-escpos's Network driver, opened with ``socket.create_connection``.

    3.1's ``Network.open`` drops the socket unclosed when connect fails and only knows IPv4;
    ``create_connection`` closes on failure and resolves IPv6 too.
    """

    def open(self, raise_not_found: bool = True) -> None:
        """Connect to the printer.

        :raises OSError: when the connection fails, whatever ``raise_not_found`` says (a kiosk must know).
        """
        if self._device:
            self.close()
        self.device = socket.create_connection((self.host, self.port), timeout=self.timeout)


class NetTransport(EscposTransport):
    """``escpos-net://host:9100``: raw TCP (JetDirect port), answers on the same socket."""

    def _exchange(self, query: bytes) -> bytes | None:
        sock = self.driver._device
        old_timeout = sock.gettimeout()
        try:
            # Drop stale bytes first: a late answer to an earlier query must not pass as this one.
            sock.setblocking(False)
            try:
                while sock.recv(64):
                    pass
            except BlockingIOError:
                pass
            sock.settimeout(self.status_timeout)
            sock.sendall(query)
            try:
                return sock.recv(1) or None
            except TimeoutError:
                return None
        finally:
            sock.settimeout(old_timeout)


class SerialTransport(EscposTransport):
    """``escpos-serial:///dev/ttyS0?baud=9600``: RS-232 through pyserial."""

    def _exchange(self, query: bytes) -> bytes | None:
        port = self.driver._device
        port.reset_input_buffer()
        old_timeout = port.timeout
        port.timeout = self.status_timeout
        try:
            port.write(query)
            port.flush()
            return port.read(1) or None
        finally:
            port.timeout = old_timeout


class UsbTransport(EscposTransport):
    """``escpos-usb://0416:5011``: bulk endpoints through pyusb."""

    def _exchange(self, query: bytes) -> bytes | None:
        import usb.core  # only reached once python-escpos has opened the device with pyusb

        device = self.driver._device
        timeout_ms = max(1, int(self.status_timeout * 1000))
        for _ in range(16):  # drain stale answers, bounded in case the printer keeps talking
            try:
                device.read(self.driver.in_ep, 64, 10)
            except usb.core.USBTimeoutError:
                break
        device.write(self.driver.out_ep, query, timeout_ms)
        try:
            return bytes(device.read(self.driver.in_ep, 16, timeout_ms)) or None
        except usb.core.USBTimeoutError:
            return None


class FileTransport(EscposTransport):
    """``escpos-file:///dev/usb/lp0``: write-only device file, so no status read-back."""

    can_read_status = False

    def _exchange(self, query: bytes) -> bytes | None:
        return None


def _hex_id(text: str, url: DeviceURL) -> int:
    try:
        return int(text, 16)
    except ValueError as e:
        raise UnsupportedDeviceURL(f"USB id {text!r} is not hexadecimal in {url.raw!r}") from e


def open_transport(url: DeviceURL) -> EscposTransport:
    """Open the python-escpos transport a device URL names.

    :param url: ``escpos-usb``, ``escpos-serial``, ``escpos-net`` or ``escpos-file``.
    :raises UnsupportedDeviceURL: for another scheme or malformed parameters.
    :raises PrinterUnavailable: when the device cannot be opened.
    """
    status_timeout = url.float_param("status_timeout", DEFAULT_STATUS_TIMEOUT)
    io_timeout = url.float_param("timeout", DEFAULT_IO_TIMEOUT)
    if url.scheme == "escpos-net":
        parts = urlsplit(url.raw)
        try:
            host, port = parts.hostname, parts.port or 9100  # 9100: the raw-printing (JetDirect) port
        except ValueError as e:
            raise UnsupportedDeviceURL(f"bad port in {url.raw!r}") from e
        if not host:
            raise UnsupportedDeviceURL(f"no host in {url.raw!r}")
        return NetTransport(_Network(host=host, port=port, timeout=io_timeout),
                            f"{host}:{port}", status_timeout)
    if url.scheme == "escpos-serial":
        from escpos.printer import Serial

        devfile = url.path or url.netloc  # escpos-serial://COM3 on Windows
        if not devfile:
            raise UnsupportedDeviceURL(f"no serial device in {url.raw!r}")
        try:
            driver = Serial(devfile=devfile, baudrate=url.int_param("baud", 9600),
                            bytesize=url.int_param("bytesize", 8),
                            parity=url.query.get("parity", "N").upper() or "N",
                            stopbits=url.int_param("stopbits", 1),
                            timeout=io_timeout,
                            xonxoff=url.query.get("xonxoff") == "1",
                            dsrdtr=url.query.get("dsrdtr", "0") == "1")
        except RuntimeError as e:  # python-escpos raises this when pyserial is missing
            raise PrinterUnavailable(f"escpos-serial needs pyserial: {e}") from e
        return SerialTransport(driver, devfile, status_timeout)
    if url.scheme == "escpos-usb":
        from escpos.printer import Usb
        from escpos.printer.usb import is_usable

        vid, _, pid = url.netloc.partition(":")
        if not vid or not pid:
            raise UnsupportedDeviceURL(f"expected escpos-usb://VID:PID (hex) in {url.raw!r}")
        vendor, product = _hex_id(vid, url), _hex_id(pid, url)
        if not is_usable():
            # Checked before constructing: without pyusb even Usb.close() raises, from __del__.
            raise PrinterUnavailable("escpos-usb needs the pyusb package (and libusb)")
        driver = Usb(idVendor=vendor, idProduct=product,
                     timeout=int(io_timeout * 1000),
                     in_ep=url.int_param("in_ep", 0x82, base=0),
                     out_ep=url.int_param("out_ep", 0x01, base=0))
        return UsbTransport(driver, f"usb {vid}:{pid}", status_timeout)
    if url.scheme == "escpos-file":
        from escpos.printer import File

        if not url.path:
            raise UnsupportedDeviceURL(f"no device file in {url.raw!r}")
        return FileTransport(File(devfile=url.path), url.path, status_timeout)
    raise UnsupportedDeviceURL(f"not a printer URL: {url.raw!r}")
