"""Ticket printer (热敏小票打印机): ESC/POS over USB, serial, network or a device file, plus a virtual printer.

Open one with ``open_printer(url)``:

- ``escpos-usb://0416:5011`` (hex VID:PID; ``?in_ep=0x82&out_ep=0x01``)
- ``escpos-serial:///dev/ttyS0?baud=9600`` (``parity``, ``stopbits``, ``xonxoff``, ``dsrdtr``)
- ``escpos-net://10.0.0.5:9100``
- ``escpos-file:///dev/usb/lp0`` (write only: no status)
- ``virtual://?dir=/path/for/pngs&width=80`` (``paper=out|near_end`` or ``fault=…`` for drills)

Common parameters: ``width=80|58`` (roll loaded), ``check=0`` (skip the status query before a
job), ``qr=native|raster``, ``status_timeout`` and ``timeout`` in seconds.
"""
from __future__ import annotations

from pathlib import Path

from devices.base import DeviceError, DeviceHealth, DeviceURL, UnsupportedDeviceURL
from devices.printer.errors import (
    CoverOpen,
    MalformedJob,
    PaperOut,
    PrinterError,
    PrinterHardwareError,
    PrinterIOError,
    PrinterNotResponding,
    PrinterOffline,
    PrinterUnavailable,
    UnsupportedPaper,
)
from devices.printer.escpos_bytes import paper_for
from devices.printer.slips import CheckinSlip, NoticeSlip, ReceiptSlip, SlipMaterial, TicketSlip
from devices.printer.status import PrinterState, PrinterStatus, decode_status
from devices.printer.ticket_printer import TicketPrinter, VirtualTicketPrinter
from devices.printer.transports import open_transport
from devices.printer.virtual import FAULTS, VirtualPrinter

__all__ = [
    "CheckinSlip", "ReceiptSlip", "CoverOpen", "FAULTS", "MalformedJob", "NoticeSlip", "PaperOut", "PrinterError",
    "PrinterHardwareError", "PrinterIOError", "PrinterNotResponding", "PrinterOffline",
    "PrinterState", "PrinterStatus", "PrinterUnavailable", "SlipMaterial", "TicketPrinter",
    "TicketSlip", "UnsupportedPaper", "VirtualTicketPrinter", "decode_status", "open_printer",
    "probe_health",
]

_PAPER_PARAM = {"out": "paper_out", "near_end": "paper_near_end", "ok": None}


def _virtual(url: DeviceURL, width: int | None) -> VirtualPrinter:
    fault = url.query.get("fault") or None
    if "paper" in url.query:
        if url.query["paper"] not in _PAPER_PARAM:
            raise UnsupportedDeviceURL(f"paper={url.query['paper']!r}: expected out, near_end or ok")
        fault = _PAPER_PARAM[url.query["paper"]] or fault
    if fault is not None and fault not in FAULTS:
        raise UnsupportedDeviceURL(f"fault={fault!r}: expected one of {FAULTS}")
    out_dir = Path(url.query["dir"]) if url.query.get("dir") else VirtualPrinter.default_dir()
    return VirtualPrinter(out_dir, paper_for(width or 80), fault)


def open_printer(url: str) -> TicketPrinter:
    """Open the ticket printer a device URL names.

    :param url: see the module docstring for schemes and parameters.
    :raises UnsupportedDeviceURL: for an unknown scheme or a malformed parameter.
    :raises UnsupportedPaper: for a ``width`` other than 80 or 58.
    :raises PrinterUnavailable: when the device cannot be opened.
    """
    parsed = DeviceURL.parse(url)
    width = parsed.int_param("width", 0) or None
    if width is not None:
        paper_for(width)
    qr_mode = parsed.query.get("qr") or "native"
    if qr_mode not in ("native", "raster"):
        raise UnsupportedDeviceURL(f"qr={qr_mode!r}: expected native or raster")
    options = {"paper_mm": width, "check_status": parsed.query.get("check", "1") != "0",
               "qr_mode": qr_mode}
    if parsed.scheme == "virtual":
        return VirtualTicketPrinter(parsed, _virtual(parsed, width), **options)
    return TicketPrinter(parsed, open_transport(parsed), **options)


def probe_health(url: str) -> DeviceHealth:
    """Open the printer, ask its status and close it; a printer that cannot be opened is offline.

    :param url: the printer's device URL.
    """
    try:
        printer = open_printer(url)
    except DeviceError as e:
        return DeviceHealth(kind="printer", url=url, state="offline", reason=e.code,
                            detail={"message": str(e)})
    try:
        return printer.health()
    finally:
        printer.close()
