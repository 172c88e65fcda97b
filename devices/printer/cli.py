"""``onevisit devices print-test``: print a sample ticket with fictitious data."""
from __future__ import annotations

from datetime import datetime

from devices.base import DeviceError
from devices.printer import VirtualTicketPrinter, open_printer
from devices.printer.slips import SlipMaterial, TicketSlip


def sample_ticket(issued_at: str) -> TicketSlip:
    """Return a ticket with fictitious data that exercises every part of the layout."""
    return TicketSlip(
        hall_name="示例政务服务中心",
        number="A023",
        queue_name="综合受理（A）",
        matter="企业设立登记",
        people_ahead=5,
        estimated_wait_minutes=18,
        issued_at=issued_at,
        materials=[
            SlipMaterial("公司登记（备案）申请书", original=True, count=1),
            SlipMaterial("公司章程（有限责任公司由全体股东签署）", original=True, count=1),
            SlipMaterial("法定代表人、股东身份证件", original=False, count=2),
            SlipMaterial("住所使用证明", original=False, count=1),
        ],
        masked_identity="张*三 220102********1234",
        follow_url="https://hall.example.cn/t/A023?h=demo",
        priority_label=None,
    )


def print_test(url: str) -> tuple[dict, int]:
    """Print the sample ticket on the printer at url; return the JSON report and the exit code.

    :param url: the printer's device URL.
    """
    slip = sample_ticket(datetime.now().strftime("%Y-%m-%d %H:%M"))
    try:
        with open_printer(url) as printer:
            png = printer.print_ticket(slip)
            report: dict = {"printed": True, "url": url, "number": slip.number}
            if isinstance(printer, VirtualTicketPrinter):
                report["png"] = png
                printout = printer.last_printout
                if printout is not None:
                    report["lines"] = len(printout.lines)
                    report["warnings"] = list(printout.warnings)
            return report, 0
    except DeviceError as e:
        return {"error": {"code": e.code, "message": str(e)}}, 1
