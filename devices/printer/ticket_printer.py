"""The ticket printer the kiosk uses: lay a slip out, check the printer can take it, send one job."""
from __future__ import annotations

import dataclasses
from typing import Callable, TypeVar

from escpos.escpos import Escpos
from escpos.exceptions import Error as EscposError
from escpos.printer import Dummy

from devices.base import DeviceHealth, DeviceURL
from devices.printer.errors import PrinterError
from devices.printer.layouts import QrMode, layout_checkin, layout_notice, layout_receipt, layout_ticket
from devices.printer.slips import CheckinSlip, NoticeSlip, ReceiptSlip, TicketSlip
from devices.printer.status import PrinterState, PrinterStatus, error_for, query_status
from devices.printer.transports import Transport
from devices.printer.virtual import Printout, VirtualPrinter

Slip = TypeVar("Slip", TicketSlip, NoticeSlip, CheckinSlip, ReceiptSlip)

_HEALTH = {
    PrinterState.ONLINE: ("online", None),
    PrinterState.PAPER_NEAR_END: ("online", "paper_near_end"),
    PrinterState.UNKNOWN: ("online", "status_unknown"),
    PrinterState.PAPER_OUT: ("fault", "paper_out"),
    PrinterState.COVER_OPEN: ("fault", "cover_open"),
    PrinterState.ERROR: ("fault", "printer_error"),
    PrinterState.OFFLINE: ("offline", "offline"),
    PrinterState.NO_ANSWER: ("offline", "no_answer"),
}


class TicketPrinter:
    """A slip printer behind one transport; prints whole jobs and refuses them in a fault."""

    def __init__(self, url: DeviceURL, transport: Transport, *, paper_mm: int | None = None,
                 check_status: bool = True, qr_mode: QrMode = "native") -> None:
        """Print through ``transport``.

        :param url: the device URL the printer was opened from.
        :param transport: where jobs go.
        :param paper_mm: the roll loaded (from ``?width=``); when set it overrides a slip's width.
        :param check_status: query DLE EOT before every job (``?check=0`` turns it off).
        :param qr_mode: ``native`` (GS ( k) or ``raster`` (GS v 0).
        """
        self.device_url = url
        self.transport = transport
        self.paper_mm = paper_mm
        self.check_status = check_status
        self.qr_mode = qr_mode

    @property
    def url(self) -> str:
        """Return the device URL."""
        return self.device_url.raw

    def status(self) -> PrinterStatus:
        """Ask the printer its real-time status; silence is ``no_answer``, never online."""
        if not self.transport.can_read_status:
            return PrinterStatus(PrinterState.UNKNOWN, ("no_readback",))
        return query_status(self.transport.ask_status)

    def health(self) -> DeviceHealth:
        """Report health as the kiosk and the floor dashboard show it."""
        status = self.status()
        state, reason = _HEALTH[status.state]
        return DeviceHealth(kind="printer", url=self.url, state=state, reason=reason,
                            detail=status.as_dict())

    def print_ticket(self, slip: TicketSlip) -> str | None:
        """Print a queue ticket; return the PNG path on the virtual printer, else None.

        :raises PaperOut: when the roll is empty (also CoverOpen, PrinterOffline,
            PrinterNotResponding, PrinterHardwareError for the other conditions).
        :raises PrinterIOError: when the job cannot be written.
        :raises UnsupportedPaper: for a paper width without a layout.
        """
        return self._print("ticket", slip, lambda p, s: layout_ticket(p, s, qr_mode=self.qr_mode))

    def print_notice(self, slip: NoticeSlip) -> str | None:
        """Print a one-time notice (一次性告知书); return the PNG path on the virtual printer.

        :raises PrinterError: as for ``print_ticket``.
        """
        return self._print("notice", slip, layout_notice)

    def print_checkin(self, slip: CheckinSlip) -> str | None:
        """Print an appointment check-in slip; return the PNG path on the virtual printer.

        :raises PrinterError: as for ``print_ticket``.
        """
        return self._print("checkin", slip, lambda p, s: layout_checkin(p, s, qr_mode=self.qr_mode))

    def print_receipt(self, slip: ReceiptSlip) -> str | None:
        """Print a case's acceptance receipt (受理单); return the PNG path on the virtual printer.

        :raises PrinterError: as for ``print_ticket``.
        """
        return self._print("receipt", slip, lambda p, s: layout_receipt(p, s, qr_mode=self.qr_mode))

    def _print(self, kind: str, slip: Slip, layout: Callable[[Escpos, Slip], None]) -> str | None:
        if self.paper_mm is not None and slip.paper_mm != self.paper_mm:
            # The roll in the printer decides what fits: 48 columns on a 58 mm roll would wrap.
            slip = dataclasses.replace(slip, paper_mm=self.paper_mm)
        buffer = Dummy()
        try:
            layout(buffer, slip)
        except EscposError as e:
            raise PrinterError(f"cannot lay out the {kind}: {e}") from e
        # Whole job first, one write after: a layout error never leaves half a slip on paper.
        if self.check_status:
            error = error_for(self.status())
            if error is not None:
                raise error
        return self.transport.send(buffer.output, kind)

    def close(self) -> None:
        """Release the transport."""
        self.transport.close()

    def __enter__(self) -> "TicketPrinter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class VirtualTicketPrinter(TicketPrinter):
    """The ticket printer on ``virtual://``, with the fault switch and the last printout for drills."""

    transport: VirtualPrinter

    def set_fault(self, fault: str | None) -> None:
        """Simulate paper_out, paper_near_end, cover_open, offline or no_answer; None clears it.

        :raises ValueError: for an unknown fault name.
        """
        self.transport.set_fault(fault)

    @property
    def fault(self) -> str | None:
        """Return the simulated fault."""
        return self.transport.fault

    @property
    def last_printout(self) -> Printout | None:
        """Return what the last job put on paper (text lines, QR payloads, cuts)."""
        return self.transport.last_printout

    @property
    def out_dir(self) -> str:
        """Return the directory printouts are saved in."""
        return str(self.transport.out_dir)
