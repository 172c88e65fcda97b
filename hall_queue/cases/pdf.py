"""Case papers as A4 PDF through ReportLab, with a CJK font.

ReportLab rather than WeasyPrint: it is pure Python plus a small C extension with wheels everywhere,
needs no Pango/Cairo system libraries on a hall's server, embeds a TrueType/TTC font subset directly
(the papers are Chinese), and draws QR codes itself. The font is WenQuanYi Zen Hei (``fonts-wqy-zenhei``)
or the file named by ``ONEVISIT_CJK_FONT``; without one the paper is refused with a clear error rather
than printed as empty boxes.
"""
from __future__ import annotations

import io
import os
from functools import lru_cache
from typing import Any

from hall_queue.domain.errors import DomainError
from hall_queue.domain.models import Hall

FONT_CANDIDATES = ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", "/usr/share/fonts/wqy-zenhei/wqy-zenhei.ttc",
                   "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
FONT_NAME = "OneVisitCJK"


class FontMissing(DomainError, status=503, code="cjk_font_missing"):
    """The CJK font the case papers need is not installed on the server."""


@lru_cache(maxsize=1)
def _register_font() -> str:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    wanted = os.environ.get("ONEVISIT_CJK_FONT")
    for path in ((wanted,) if wanted else FONT_CANDIDATES):
        if path and os.path.exists(path):
            pdfmetrics.registerFont(TTFont(FONT_NAME, path, subfontIndex=0))
            return path
    raise FontMissing("no Chinese font for PDF papers: install fonts-wqy-zenhei or set ONEVISIT_CJK_FONT to a "
                      ".ttf/.ttc file")


def progress_url(hall: Hall, code: str) -> str:
    """The progress page a receipt's QR opens (``/c/<code>``), absolute when the hall's address is known."""
    return f"{(hall.public_base_url or '').rstrip('/')}/c/{code}"


def _wrap(text: str, width: float, size: float) -> list[str]:
    from reportlab.pdfbase.pdfmetrics import stringWidth

    lines, cur = [], ""
    for ch in text:
        if stringWidth(cur + ch, FONT_NAME, size) > width:
            lines.append(cur)
            cur = ch
        else:
            cur += ch
    return lines + [cur] if cur or not lines else lines


def render(content: dict[str, Any], *, qr_url: str | None = None) -> bytes:
    """Render one paper (``documents`` content) on A4; return the PDF bytes."""
    from reportlab.graphics import renderPDF
    from reportlab.graphics.barcode.qr import QrCodeWidget
    from reportlab.graphics.shapes import Drawing
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.pdfgen import canvas

    _register_font()
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4, invariant=1)
    c.setTitle(f"{content.get('title', '')} {content.get('number', '')}")
    width, height = A4
    left, right = 22 * mm, width - 22 * mm
    y = height - 28 * mm

    def need(h: float) -> None:
        nonlocal y
        if y - h < 25 * mm:
            c.showPage()
            y = height - 25 * mm

    c.setFont(FONT_NAME, 11)
    c.drawString(left, y + 8 * mm, content.get("hall", ""))
    c.setFont(FONT_NAME, 20)
    c.drawCentredString(width / 2, y, content.get("title", ""))
    y -= 9 * mm
    c.setFont(FONT_NAME, 10.5)
    c.drawRightString(right, y, f"编号：{content.get('number', '')}")
    y -= 8 * mm
    label_w = 38 * mm
    for label, value in content.get("lines", []):
        rows = _wrap(str(value), right - left - label_w - 4 * mm, 11)
        h = 6.5 * mm * len(rows) + 2.5 * mm
        need(h)
        c.setStrokeGray(0.6)
        c.rect(left, y - h + 4.5 * mm, right - left, h, stroke=1, fill=0)
        c.line(left + label_w, y - h + 4.5 * mm, left + label_w, y + 4.5 * mm)
        c.setFont(FONT_NAME, 11)
        c.drawString(left + 2 * mm, y - 1 * mm, str(label))
        for i, row in enumerate(rows):
            c.drawString(left + label_w + 2.5 * mm, y - 1 * mm - i * 6.5 * mm, row)
        y -= h
    y -= 5 * mm
    for para in content.get("paragraphs", []):
        for row in _wrap(para, right - left - 8 * mm, 11):
            need(7 * mm)
            c.drawString(left + 4 * mm, y, row)
            y -= 6.5 * mm
        y -= 2 * mm
    if qr_url:
        size = 32 * mm
        need(size + 8 * mm)
        widget = QrCodeWidget(qr_url)
        x0, y0, x1, y1 = widget.getBounds()
        d = Drawing(size, size, transform=[size / (x1 - x0), 0, 0, size / (y1 - y0), 0, 0])
        d.add(widget)
        renderPDF.draw(d, c, left, y - size)
        c.setFont(FONT_NAME, 9.5)
        c.drawString(left + size + 4 * mm, y - size / 2, "扫码查询办理进度")
        y -= size + 4 * mm
    need(18 * mm)
    c.setFont(FONT_NAME, 11)
    c.drawRightString(right, y - 6 * mm, f"{content.get('hall', '')}（盖章）")
    c.showPage()
    c.save()
    return buf.getvalue()
