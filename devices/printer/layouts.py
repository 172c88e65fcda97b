"""Slip layouts, written against python-escpos's abstract printer (STYLE rule 9).

Each ``layout_*`` function sends one complete job to any ``escpos.escpos.Escpos``: a real
transport, ``escpos.printer.Dummy`` in tests, or a buffer the ``TicketPrinter`` flushes in one
write. Text goes through ``escpos_bytes.text_bytes`` (GB18030 in Chinese mode); the QR code and
the cut use python-escpos's own ``qr``/``cut``.
"""
from __future__ import annotations

import re
from typing import Literal

import qrcode
from escpos.constants import QR_ECLEVEL_M
from escpos.escpos import Escpos
from escpos.image import EscposImage

from devices.printer import escpos_bytes as eb
from devices.printer.escpos_bytes import Align, Paper
from devices.printer.slips import CheckinSlip, NoticeSlip, ReceiptSlip, SlipMaterial, TicketSlip

QrMode = Literal["native", "raster"]

# An unmasked mainland ID number (18 digits, last may be X; or the old 15 digits) must never
# reach paper even if a caller forgets to mask it: keep the first 6 and last 4 like the hall does.
_FULL_ID = re.compile(r"(?<![0-9Xx*])(\d{6})(\d{7}[\dXx]|\d{5})(\d{3}[\dXx])(?![0-9Xx])")


def mask_full_ids(text: str) -> str:
    """Mask any full ID number left in text (first 6 and last 4 digits stay)."""
    return _FULL_ID.sub(lambda m: m.group(1) + "*" * len(m.group(2)) + m.group(3), text)


def wait_text(minutes: int) -> str:
    """Say an estimated wait the way the hall screen does."""
    if minutes <= 0:
        return "即将叫号"
    if minutes < 60:
        return f"约 {minutes} 分钟"
    hours, rest = divmod(minutes, 60)
    return f"约 {hours} 小时 {rest} 分钟" if rest else f"约 {hours} 小时"


def material_tag(material: SlipMaterial) -> str:
    """Say whether a material is an original or a copy, and how many."""
    return f"{'原件' if material.original else '复印件'} {material.count}份"


class SlipWriter:
    """Lay out wrapped, styled lines on a paper width; every line leaves the style reset."""

    def __init__(self, printer: Escpos, paper: Paper) -> None:
        """Write to ``printer`` for ``paper``."""
        self.printer = printer
        self.paper = paper

    def raw(self, data: bytes) -> None:
        """Send bytes through the abstract printer's one output primitive."""
        self.printer._raw(data)  # the documented extension point every Escpos method is built on

    def start(self) -> None:
        """Reset the printer so a previous job's sizes or Chinese mode cannot leak in."""
        self.raw(eb.INIT + eb.CHINESE_OFF)

    def text(self, text: str, *, where: Align = "left", strong: bool = False,
             width: int = 1, height: int = 1) -> None:
        """Print text wrapped to the paper at the given size."""
        columns = max(2, self.paper.columns // width)
        body = b"".join(eb.text_bytes(line) + eb.LF for line in eb.wrap(text, columns))
        self._styled(body, where, strong, width, height)

    def pair(self, left: str, right: str, *, strong: bool = False) -> None:
        """Print left text and right text flush right, wrapping left when both do not fit."""
        one = eb.pad_between(left, right, self.paper.columns)
        if one is not None:
            self._styled(eb.text_bytes(one) + eb.LF, "left", strong, 1, 1)
            return
        lines = eb.wrap(left, self.paper.columns)
        last = eb.pad_between(lines[-1], right, self.paper.columns)
        if last is None:
            lines.append(" " * (self.paper.columns - eb.display_width(right)) + right)
        else:
            lines[-1] = last
        self._styled(b"".join(eb.text_bytes(line) + eb.LF for line in lines), "left", strong, 1, 1)

    def rule(self, char: str = "-") -> None:
        """Print a full-width separator line."""
        self._styled(eb.text_bytes(char * (self.paper.columns // eb.display_width(char))) + eb.LF,
                     "left", False, 1, 1)

    def blank(self, lines: int = 1) -> None:
        """Feed blank lines."""
        self.raw(eb.LF * lines)

    def qr(self, url: str, mode: QrMode = "native") -> None:
        """Print a centred QR code of url, natively (GS ( k) or as a raster image (GS v 0)."""
        module = 6 if self.paper.dots >= 576 else 5
        self.raw(eb.align("center"))
        if mode == "native":
            # ESC a centres native QR codes on the printer; escpos refuses center=True here.
            self.printer.qr(url, ec=QR_ECLEVEL_M, size=module, native=True)
            self.raw(eb.LF)
        else:
            code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M,
                                 box_size=module, border=1)
            code.add_data(url)
            code.make(fit=True)
            image = EscposImage(code.make_image().get_image())
            # GS v 0 m xL xH yL yH d1…dk; built here because Escpos.image() print()s a warning to
            # stdout for the default profile, which would corrupt the JSON of the CLI.
            header = (eb.GS + b"v0\x00" + image.width_bytes.to_bytes(2, "little")
                      + image.height.to_bytes(2, "little"))
            self.raw(header + image.to_raster_format() + eb.LF)
        self.raw(eb.align("left"))

    def cut(self) -> None:
        """Feed past the cutter and cut (python-escpos: ESC d 6, GS V 0)."""
        self.printer.cut()

    def _styled(self, body: bytes, where: Align, strong: bool, width: int, height: int) -> None:
        plain = where == "left" and not strong and width == height == 1
        if plain:
            self.raw(body)
            return
        self.raw(eb.align(where) + eb.bold(strong) + eb.size(width, height) + body
                 + eb.size(1, 1) + eb.bold(False) + eb.align("left"))


def _big_number(w: SlipWriter, number: str) -> None:
    # As large as GS ! allows while the number still fits one line; 6x makes 144-dot digits.
    magnify = max(1, min(6, w.paper.columns // max(1, eb.display_width(number))))
    w.text(number, where="center", strong=True, width=magnify, height=magnify)


def _materials(w: SlipWriter, title: str, materials: list[SlipMaterial]) -> None:
    w.text(title, strong=True)
    for i, material in enumerate(materials, start=1):
        w.pair(f"{i}. {material.name}", material_tag(material))


def layout_ticket(printer: Escpos, slip: TicketSlip, *, qr_mode: QrMode = "native") -> None:
    """Lay out a queue ticket: hall, large number, queue, matter, wait, materials, identity, QR, cut.

    :param printer: any python-escpos printer (transport, buffer or ``Dummy``).
    :param slip: what the ticket says.
    :param qr_mode: ``native`` (GS ( k) or ``raster`` (GS v 0) for printers without QR firmware.
    :raises UnsupportedPaper: when ``slip.paper_mm`` is neither 80 nor 58.
    """
    w = SlipWriter(printer, eb.paper_for(slip.paper_mm))
    w.start()
    w.text(slip.hall_name, where="center", strong=True, width=2, height=2)
    w.text("排队取号凭条", where="center")
    w.blank()
    _big_number(w, slip.number)
    if slip.priority_label:
        w.text(f"【{slip.priority_label}】", where="center", strong=True)
    if slip.wait_place:
        w.text(slip.wait_place, where="center", strong=True)
    w.rule()
    w.text(f"队列：{slip.queue_name}")
    w.text(f"事项：{slip.matter}", strong=True)
    w.text(f"前面等候：{slip.people_ahead} 人")
    if slip.wait_text:
        w.text(f"预计等待：{slip.wait_text}")
    elif slip.estimated_wait_minutes is not None:
        w.text(f"预计等待：{wait_text(slip.estimated_wait_minutes)}")
    w.text(f"取号时间：{slip.issued_at}")
    if slip.masked_identity:
        w.text(f"办事人：{mask_full_ids(slip.masked_identity)}")
    if slip.materials:
        w.rule()
        _materials(w, f"一次性告知：请备齐以下 {len(slip.materials)} 项材料", slip.materials)
    w.rule()
    if slip.follow_url:
        w.qr(slip.follow_url, qr_mode)
        w.text("扫码查看排队进度", where="center")
    w.text("请留意大厅屏幕和语音叫号，过号请重新取号。", where="center")
    w.cut()


def layout_notice(printer: Escpos, slip: NoticeSlip) -> None:
    """Lay out the one-time notice (一次性告知书) listing missing materials, deadline, window and clerk.

    :param printer: any python-escpos printer.
    :param slip: what the notice says.
    :raises UnsupportedPaper: when ``slip.paper_mm`` is neither 80 nor 58.
    """
    w = SlipWriter(printer, eb.paper_for(slip.paper_mm))
    w.start()
    w.text(slip.hall_name, where="center", strong=True)
    w.text("一次性告知书", where="center", strong=True, width=2, height=2)
    w.rule()
    w.text(f"办理事项：{slip.matter}", strong=True)
    if slip.ticket_number:
        w.text(f"排队号：{slip.ticket_number}")
    if slip.masked_identity:
        w.text(f"申请人：{mask_full_ids(slip.masked_identity)}")
    w.rule()
    _materials(w, f"尚需补齐的材料（共 {len(slip.missing)} 项）：", slip.missing)
    w.rule()
    w.text(slip.deadline_text, strong=True)
    if slip.remarks:
        w.text(f"说明：{slip.remarks}")
    w.text(f"受理窗口：{slip.window}")
    w.text(f"窗口人员工号：{slip.clerk_number}")
    w.text(f"告知日期：{slip.issued_on}")
    w.blank()
    label = "申请人签收："
    w.text(label + "_" * (w.paper.columns - eb.display_width(label)))
    w.blank()
    w.text("本告知书一次性告知所需全部材料，材料补齐后无需再次询问。", where="center")
    w.cut()


def layout_checkin(printer: Escpos, slip: CheckinSlip, *, qr_mode: QrMode = "native") -> None:
    """Lay out the appointment check-in slip: hall, large number, slot, check-in time, QR, cut.

    :param printer: any python-escpos printer.
    :param slip: what the slip says.
    :param qr_mode: ``native`` (GS ( k) or ``raster`` (GS v 0).
    :raises UnsupportedPaper: when ``slip.paper_mm`` is neither 80 nor 58.
    """
    w = SlipWriter(printer, eb.paper_for(slip.paper_mm))
    w.start()
    w.text(slip.hall_name, where="center", strong=True, width=2, height=2)
    w.text("预约签到凭条", where="center")
    w.blank()
    _big_number(w, slip.number)
    w.rule()
    w.text(f"队列：{slip.queue_name}")
    w.text(f"事项：{slip.matter}", strong=True)
    w.text(f"预约时段：{slip.appointment_slot}")
    w.text(f"签到时间：{slip.checked_in_at}")
    w.text(f"预约号：{slip.booking_reference}")
    if slip.people_ahead is not None:
        w.text(f"前面等候：{slip.people_ahead} 人")
    if slip.window_hint:
        w.text(f"办理窗口：{slip.window_hint}")
    if slip.masked_identity:
        w.text(f"办事人：{mask_full_ids(slip.masked_identity)}")
    w.rule()
    if slip.follow_url:
        w.qr(slip.follow_url, qr_mode)
        w.text("扫码查看排队进度", where="center")
    w.text("预约号优先叫号，请在等候区留意叫号。", where="center")
    w.cut()


def layout_receipt(printer: Escpos, slip: ReceiptSlip, *, qr_mode: QrMode = "native") -> None:
    """Lay out the acceptance receipt (受理单): hall, title, number, the fields, QR to the progress page, cut.

    :param printer: any python-escpos printer.
    :param slip: what the receipt says.
    :param qr_mode: ``native`` (GS ( k) or ``raster`` (GS v 0).
    :raises UnsupportedPaper: when ``slip.paper_mm`` is neither 80 nor 58.
    """
    w = SlipWriter(printer, eb.paper_for(slip.paper_mm))
    w.start()
    w.text(slip.hall_name, where="center", strong=True)
    w.text(slip.title, where="center", strong=True, width=2, height=2)
    w.text(f"编号：{slip.number}", where="center")
    w.rule()
    for label, value in slip.lines:
        w.text(mask_full_ids(f"{label}：{value}"), strong=label == "受理号")
    w.rule()
    if slip.progress_url:
        w.qr(slip.progress_url, qr_mode)
        w.text("扫码查询办理进度", where="center")
    w.text(slip.footer, where="center")
    w.cut()
