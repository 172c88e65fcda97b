"""Typed printer errors: what the kiosk tells a visitor and the dashboard shows a manager."""
from __future__ import annotations

from devices.base import DeviceError


class PrinterError(DeviceError):
    """Base of every ticket-printer error."""

    code = "printer"


class PrinterUnavailable(PrinterError):
    """The printer cannot be opened: not plugged in, wrong address, missing driver library."""

    code = "printer_unavailable"


class PrinterIOError(PrinterError):
    """Writing to or reading from an opened printer failed."""

    code = "printer_io"


class PrinterNotResponding(PrinterError):
    """The printer did not answer a real-time status query (DLE EOT) in time."""

    code = "printer_no_answer"


class PrinterOffline(PrinterError):
    """The printer answered that it is offline for a reason it did not name."""

    code = "printer_offline"


class PaperOut(PrinterError):
    """The paper roll is empty."""

    code = "paper_out"


class CoverOpen(PrinterError):
    """The paper cover is open."""

    code = "cover_open"


class PrinterHardwareError(PrinterError):
    """The printer reports a cutter, head or other mechanical error."""

    code = "printer_error"


class UnsupportedPaper(PrinterError):
    """A slip asks for a paper width we have no layout for."""

    code = "bad_paper"


class MalformedJob(PrinterError):
    """The virtual printer received an ESC/POS stream it cannot interpret."""

    code = "malformed_escpos"
