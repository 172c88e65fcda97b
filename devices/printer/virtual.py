"""The virtual printer: interprets the ESC/POS stream we send and renders the slip as a PNG.

It reads bytes the way a Chinese 80/58 mm thermal printer does (font A 12 x 24 dots, CJK
24 x 24 dots in Chinese mode, 203 dpi), so a layout bug shows in the picture and in the decoded
lines a test reads. Faults can be set for drills; status answers are real DLE EOT bytes and go
through the same decoder as a real printer's.
"""
from __future__ import annotations

import functools
import logging
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Union

import qrcode
import qrcode.exceptions
from PIL import Image, ImageDraw, ImageFont

from devices.printer.errors import MalformedJob, PrinterUnavailable
from devices.printer.escpos_bytes import Paper
from devices.printer.status import error_for, query_status

log = logging.getLogger(__name__)

CELL_W, CELL_H = 12, 24  # font A
DEFAULT_LINE_SPACING = 30  # ESC 2 on most 203-dpi printers
MAX_PAGE_DOTS = 40_000  # about 5 m of paper: more means a runaway job, not a slip
MARGIN = 24

_CJK_FONTS = (
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 1),  # index 1: WenQuanYi Zen Hei Mono, 1:2 cells
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 1),
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),  # index 2: Simplified Chinese
    ("/usr/share/fonts/opentype/noto/NotoSansCJKsc-Regular.otf", 0),
    ("/usr/share/fonts/truetype/noto/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/truetype/arphic/uming.ttc", 0),
)
_CODEPAGES = {0: "cp437", 2: "cp850", 3: "cp860", 16: "cp1252", 17: "cp866", 19: "cp858"}
_INVERT = bytes(255 - b for b in range(256))
_ALIGNS = {0: "left", 48: "left", 1: "center", 49: "center", 2: "right", 50: "right"}
_QR_EC = {48: qrcode.constants.ERROR_CORRECT_L, 49: qrcode.constants.ERROR_CORRECT_M,
          50: qrcode.constants.ERROR_CORRECT_Q, 51: qrcode.constants.ERROR_CORRECT_H}
# Commands we accept and skip: the byte after ESC / GS / FS -> number of parameter bytes.
_ESC_SKIP = {ord(c): n for c, n in (("-", 1), ("M", 1), ("V", 1), ("{", 1), ("R", 1), ("r", 1),
                                     ("U", 1), ("T", 1), ("%", 1), ("=", 1), (" ", 1), ("K", 1),
                                     ("e", 1), ("$", 2), ("\\", 2), ("p", 3), ("c", 2), ("L", 0),
                                     ("S", 0), ("<", 0))}
_GS_SKIP = {ord(c): n for c, n in (("B", 1), ("H", 1), ("h", 1), ("w", 1), ("f", 1), ("a", 1),
                                    ("b", 1), ("I", 1), ("r", 1), ("/", 1), ("L", 2), ("W", 2),
                                    ("P", 2), ("$", 2), ("\\", 2))}
_FS_SKIP = {ord(c): n for c, n in (("!", 1), ("-", 1), ("C", 1), ("W", 1), ("S", 2))}


@dataclass(frozen=True)
class TextRun:
    """Characters printed with the same size, emphasis and character mode."""

    text: str
    width: int
    height: int
    bold: bool
    chinese: bool  # received in Chinese mode: every non-ASCII character is 24 dots wide

    def cells(self) -> list[int]:
        """Return each character's width in font-A cells."""
        return [1 if not self.chinese or ord(ch) < 0x80 else 2 for ch in self.text]


@dataclass(frozen=True)
class PrintedLine:
    """One printed line of text runs, as the printer justified it."""

    runs: tuple[TextRun, ...]
    align: str
    spacing: int

    @property
    def text(self) -> str:
        """Return the line's characters."""
        return "".join(r.text for r in self.runs)

    @property
    def width(self) -> int:
        """Return the largest width multiplier on the line."""
        return max((r.width for r in self.runs), default=1)

    @property
    def height(self) -> int:
        """Return the largest height multiplier on the line."""
        return max((r.height for r in self.runs), default=1)

    @property
    def bold(self) -> bool:
        """Tell whether any run is emphasized."""
        return any(r.bold for r in self.runs)

    @property
    def dots(self) -> int:
        """Return the paper this line advances, in dots."""
        return max(self.spacing, CELL_H * self.height + 6)


@dataclass(frozen=True)
class PrintedImage:
    """A raster image (GS v 0) or a QR code (GS ( k) as printed; black is 0."""

    image: Image.Image
    align: str
    qr_data: str | None = None

    @property
    def dots(self) -> int:
        """Return the paper this image takes, in dots."""
        return self.image.height


@dataclass(frozen=True)
class Feed:
    """Blank paper fed (LF on an empty line, ESC d, ESC J)."""

    dots: int


@dataclass(frozen=True)
class Cut:
    """A cut (GS V, ESC i, ESC m)."""

    partial: bool
    dots: int = 40


Block = Union[PrintedLine, PrintedImage, Feed, Cut]


@dataclass
class Printout:
    """Everything one job put on paper, in order, and what the interpreter could not render."""

    blocks: list[Block] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def lines(self) -> list[PrintedLine]:
        """Return the printed text lines."""
        return [b for b in self.blocks if isinstance(b, PrintedLine)]

    @property
    def text_lines(self) -> list[str]:
        """Return the text of every printed line."""
        return [line.text for line in self.lines]

    @property
    def qr_codes(self) -> list[str]:
        """Return the payload of every QR code printed."""
        return [b.qr_data for b in self.blocks if isinstance(b, PrintedImage) and b.qr_data is not None]

    @property
    def cuts(self) -> list[Cut]:
        """Return the cuts, in order."""
        return [b for b in self.blocks if isinstance(b, Cut)]

    @property
    def dots(self) -> int:
        """Return the paper length used, in dots."""
        return sum(b.dots for b in self.blocks)


class _Interpreter:
    """A byte-at-a-time ESC/POS reader for the standard (line) mode of a thermal printer."""

    def __init__(self, data: bytes, paper_dots: int) -> None:
        self.data = data
        self.i = 0
        self.paper_dots = paper_dots
        self.out = Printout()
        self.used_dots = 0
        self._reset()

    def _reset(self) -> None:
        self.width = self.height = 1
        self.bold = False
        self.align = "left"
        self.chinese = False
        self.codepage = "cp437"
        self.spacing = DEFAULT_LINE_SPACING
        self.qr_size, self.qr_ec, self.qr_store = 3, 48, b""
        self.runs: list[TextRun] = []
        self.line_align = "left"
        self.line_dots = 0

    # -- reading -----------------------------------------------------------------------
    def _take(self, k: int, what: str) -> bytes:
        if self.i + k > len(self.data):
            raise MalformedJob(f"truncated {what} at byte {self.i} (need {k}, have {len(self.data) - self.i})")
        chunk = self.data[self.i:self.i + k]
        self.i += k
        return chunk

    def _byte(self, what: str) -> int:
        return self._take(1, what)[0]

    def _skip(self, prefix: str, cmd: int, lengths: dict[int, int]) -> None:
        """Pass over a command that does not change the page (its parameter bytes too); warn on an unknown one."""
        if cmd in lengths:
            self._take(lengths[cmd], f"{prefix} {chr(cmd)}")
        else:
            self._warn(f"unknown command {prefix} 0x{cmd:02x}")

    def _warn(self, message: str) -> None:
        if len(self.out.warnings) < 100:  # a garbage stream must not grow an endless list
            self.out.warnings.append(f"byte {self.i}: {message}")

    def _add(self, block: Block) -> None:
        self.used_dots += block.dots
        if self.used_dots > MAX_PAGE_DOTS:
            raise MalformedJob(f"job feeds more than {MAX_PAGE_DOTS} dots of paper")
        self.out.blocks.append(block)

    # -- text --------------------------------------------------------------------------
    def _put(self, ch: str, cells: int) -> None:
        dots = cells * CELL_W * self.width
        if self.runs and self.line_dots + dots > self.paper_dots:
            # The printer wraps on its own; a layout that relies on that is a layout bug.
            self._warn("line longer than the paper was wrapped by the printer")
            self._end_line()
        if not self.runs:
            self.line_align = self.align  # ESC a only counts at the start of a line
        last = self.runs[-1] if self.runs else None
        if last and (last.width, last.height, last.bold, last.chinese) == (
                self.width, self.height, self.bold, self.chinese):
            self.runs[-1] = TextRun(last.text + ch, last.width, last.height, last.bold, last.chinese)
        else:
            self.runs.append(TextRun(ch, self.width, self.height, self.bold, self.chinese))
        self.line_dots += dots

    def _end_line(self) -> None:
        if self.runs:
            self._add(PrintedLine(tuple(self.runs), self.line_align, self.spacing))
        else:
            self._add(Feed(max(self.spacing, CELL_H * self.height + 6)))
        self.runs, self.line_dots = [], 0

    def _flush_line(self) -> None:
        if self.runs:
            self._end_line()

    def _multibyte(self) -> None:
        # GB18030: lead 81-FE, then a trail 40-7E/80-FE (2 bytes) or 30-39, 81-FE, 30-39 (4 bytes).
        rest = self.data[self.i:self.i + 4]
        if len(rest) >= 2 and (0x40 <= rest[1] <= 0x7E or 0x80 <= rest[1] <= 0xFE):
            seq = rest[:2]
        elif (len(rest) == 4 and 0x30 <= rest[1] <= 0x39 and 0x81 <= rest[2] <= 0xFE
              and 0x30 <= rest[3] <= 0x39):
            seq = rest
        else:
            self._warn(f"invalid GB18030 lead byte 0x{rest[0]:02x}")
            self.i += 1
            self._put("\ufffd", 2)
            return
        self.i += len(seq)
        try:
            ch = seq.decode("gb18030")
        except UnicodeDecodeError:
            ch = "\ufffd"
        for c in ch:
            self._put(c, 2)

    # -- commands ----------------------------------------------------------------------
    def _esc(self) -> None:
        cmd = self._byte("ESC command")
        if cmd == ord("@"):
            self.runs, self.line_dots = [], 0  # ESC @ discards the unprinted line
            self._reset()
        elif cmd == ord("!"):
            n = self._byte("ESC !")
            self.bold = bool(n & 0x08)
            self.width, self.height = (2 if n & 0x20 else 1), (2 if n & 0x10 else 1)
        elif cmd in (ord("E"), ord("G")):
            self.bold = bool(self._byte("ESC E") & 1)
        elif cmd == ord("a"):
            n = self._byte("ESC a")
            if n in _ALIGNS:
                self.align = _ALIGNS[n]
            else:
                self._warn(f"ESC a {n} is not a justification")
        elif cmd == ord("d"):
            n = self._byte("ESC d")
            self._flush_line()
            if n:
                self._add(Feed(n * self.spacing))
        elif cmd == ord("J"):
            n = self._byte("ESC J")
            self._flush_line()
            if n:
                self._add(Feed(n))
        elif cmd == ord("2"):
            self.spacing = DEFAULT_LINE_SPACING
        elif cmd == ord("3"):
            self.spacing = self._byte("ESC 3")
        elif cmd == ord("t"):
            n = self._byte("ESC t")
            self.codepage = _CODEPAGES.get(n, "cp437")
            if n not in _CODEPAGES:
                self._warn(f"code page {n} shown as cp437")
        elif cmd in (ord("i"), ord("m")):
            self._flush_line()
            self._add(Cut(partial=True))
        elif cmd == ord("*"):
            m = self._byte("ESC * m")
            count = int.from_bytes(self._take(2, "ESC * n"), "little")
            self._take(count * (3 if m in (32, 33) else 1), "ESC * data")
            self._warn("ESC * column bit image not rendered")
        elif cmd == ord("D"):
            for _ in range(33):  # up to 32 tab stops, NUL-terminated
                if self._byte("ESC D") == 0:
                    break
        else:
            self._skip("ESC", cmd, _ESC_SKIP)

    def _gs(self) -> None:
        cmd = self._byte("GS command")
        if cmd == ord("!"):
            n = self._byte("GS !")
            if n & 0x88:
                self._warn(f"GS ! 0x{n:02x} is out of range")
            else:
                self.width, self.height = (n >> 4) + 1, (n & 0x07) + 1
        elif cmd == ord("V"):
            m = self._byte("GS V")
            if m in (65, 66, 97, 98, 103, 104):
                feed = self._byte("GS V n")
                self._flush_line()
                if feed:
                    self._add(Feed(feed))
            elif m not in (0, 1, 48, 49):
                self._warn(f"GS V {m} is not a cut")
                return
            self._flush_line()
            self._add(Cut(partial=m in (1, 49, 66, 98, 104)))
        elif cmd == ord("v"):
            if self._byte("GS v") != ord("0"):
                self._warn("GS v other than GS v 0")
                return
            self._raster()
        elif cmd == ord("("):
            fn = self._byte("GS ( function")
            length = int.from_bytes(self._take(2, "GS ( length"), "little")
            payload = self._take(length, "GS ( parameters")
            if fn == ord("k"):
                self._two_d(payload)
            else:
                self._warn(f"GS ( {chr(fn) if 32 < fn < 127 else hex(fn)} not rendered")
        elif cmd == ord("k"):
            m = self._byte("GS k")
            if m <= 6:
                for _ in range(256):
                    if self._byte("GS k data") == 0:
                        break
            else:
                self._take(self._byte("GS k n"), "GS k data")
            self._warn("barcode not rendered")
        elif cmd == ord("*"):
            x, y = self._take(2, "GS *")
            self._take(x * y * 8, "GS * data")
            self._warn("downloaded bit image not rendered")
        else:
            self._skip("GS", cmd, _GS_SKIP)

    def _fs(self) -> None:
        cmd = self._byte("FS command")
        if cmd == ord("&"):
            self.chinese = True
        elif cmd == ord("."):
            self.chinese = False
        elif cmd == ord("2"):
            self._take(2 + 72, "FS 2")  # c1 c2 and a 24 x 24 dot user-defined character
            self._warn("user-defined Chinese character not rendered")
        elif cmd == ord("p"):
            self._take(2, "FS p")
            self._warn("NV bit image not rendered")
        else:
            self._skip("FS", cmd, _FS_SKIP)

    def _dle(self) -> None:
        nxt = self.data[self.i:self.i + 1]
        if nxt in (b"\x04", b"\x05"):  # DLE EOT n / DLE ENQ n: answered by the transport, not printed
            self._take(2, "DLE EOT")
        elif nxt == b"\x14":  # DLE DC4 fn a b
            self._take(4, "DLE DC4")

    def _raster(self) -> None:
        m = self._byte("GS v 0 m")
        header = self._take(4, "GS v 0 size")
        xbytes = int.from_bytes(header[:2], "little")
        rows = int.from_bytes(header[2:], "little")
        data = self._take(xbytes * rows, "GS v 0 data")
        if m not in (0, 1, 2, 3, 48, 49, 50, 51):
            self._warn(f"GS v 0 mode {m} is not a density")
        if not xbytes or not rows:
            return
        # ESC/POS sets a bit for a black dot; Pillow's mode "1" sets it for white.
        image = Image.frombytes("1", (xbytes * 8, rows), data.translate(_INVERT))
        image = image.crop((0, 0, min(image.width, self.paper_dots), rows))
        if m & 1 or m & 2:
            image = image.resize((image.width * (2 if m & 1 else 1), rows * (2 if m & 2 else 1)))
            image = image.crop((0, 0, min(image.width, self.paper_dots), image.height))
        self._flush_line()
        self._add(PrintedImage(image, self.align))

    def _two_d(self, payload: bytes) -> None:
        if len(payload) < 2 or payload[0] != 49:  # cn 49: QR Code; PDF417 etc. are not ours
            self._warn("GS ( k for a symbol other than QR not rendered")
            return
        fn, args = payload[1], payload[2:]
        if fn == 67 and args:
            if 1 <= args[0] <= 16:
                self.qr_size = args[0]
            else:
                self._warn(f"QR module size {args[0]} out of range")
        elif fn == 69 and args:
            if args[0] in _QR_EC:
                self.qr_ec = args[0]
            else:
                self._warn(f"QR error correction {args[0]} out of range")
        elif fn == 80 and args:
            self.qr_store = args[1:]  # args[0] is m = 48
        elif fn == 81:
            self._print_qr()

    def _print_qr(self) -> None:
        if not self.qr_store:
            self._warn("QR print with no stored data")
            return
        code = qrcode.QRCode(error_correction=_QR_EC[self.qr_ec], box_size=self.qr_size, border=0)
        code.add_data(self.qr_store)
        try:
            code.make(fit=True)
        except (qrcode.exceptions.DataOverflowError, ValueError) as e:
            raise MalformedJob(f"QR data of {len(self.qr_store)} bytes cannot be encoded") from e
        image = code.make_image().get_image().convert("1")
        if image.width > self.paper_dots:
            self._warn("QR code wider than the paper was not printed")
            return
        self._flush_line()
        self._add(PrintedImage(image, self.align, self.qr_store.decode("utf-8", errors="replace")))

    def run(self) -> Printout:
        data = self.data
        while self.i < len(data):
            b = data[self.i]
            if b in (0x1B, 0x1D, 0x1C):
                self.i += 1
                {0x1B: self._esc, 0x1D: self._gs, 0x1C: self._fs}[b]()
            elif b == 0x10:
                self.i += 1
                self._dle()
            elif b == 0x0A:
                self.i += 1
                self._end_line()
            elif b == 0x09:
                self.i += 1
                for _ in range(8 - (self.line_dots // CELL_W) % 8):
                    self._put(" ", 1)
            elif b < 0x20 or b == 0x7F:
                self.i += 1  # CR, NUL and other controls print nothing in standard mode
            elif b >= 0x80 and self.chinese and b != 0x80 and b != 0xFF:
                self._multibyte()
            elif b >= 0x80:
                self.i += 1
                self._put(bytes([b]).decode(self.codepage, errors="replace"), 1)
            else:
                self.i += 1
                self._put(chr(b), 1)
        self._flush_line()  # real printers hold a partial line; we show it so nothing is hidden
        return self.out


def interpret(data: bytes, *, paper_dots: int = 576) -> Printout:
    """Interpret an ESC/POS job the way a thermal printer would.

    :param data: the job's bytes.
    :param paper_dots: printable width (576 for 80 mm, 384 for 58 mm).
    :raises MalformedJob: when a command is truncated, a QR code cannot be encoded, or the job
        would feed more than ``MAX_PAGE_DOTS`` of paper.
    """
    return _Interpreter(bytes(data), paper_dots).run()


@functools.lru_cache(maxsize=1)
def find_cjk_font() -> tuple[str, int] | None:
    """Return the (path, face index) of an installed CJK font, or None."""
    for path, index in _CJK_FONTS:
        if Path(path).is_file():
            return path, index
    return None


@functools.lru_cache(maxsize=32)
def _font(px: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    found = find_cjk_font()
    if found is not None:
        try:
            return ImageFont.truetype(found[0], px, index=found[1])
        except OSError:
            log.warning("cannot load CJK font %s", found[0])
    return ImageFont.load_default(size=px)


def _render_run(run: TextRun) -> Image.Image:
    cells = run.cells()
    unit = run.height  # draw at the height multiplier, then stretch to the width multiplier
    image = Image.new("L", (max(1, sum(cells) * CELL_W * unit), CELL_H * unit), 255)
    draw = ImageDraw.Draw(image)
    font = _font(CELL_H * unit)
    x = 0
    for ch, c in zip(run.text, cells):
        cell = c * CELL_W * unit
        draw.text((x + cell / 2, CELL_H * unit * 0.86), ch, font=font, fill=0, anchor="ms",
                  stroke_width=max(1, unit // 2) if run.bold else 0, stroke_fill=0)
        x += cell
    if run.width != run.height:
        image = image.resize((sum(cells) * CELL_W * run.width, CELL_H * run.height), Image.LANCZOS)
    return image


def _x(align: str, width: int, paper_dots: int) -> int:
    if align == "center":
        return max(0, (paper_dots - width) // 2)
    if align == "right":
        return max(0, paper_dots - width)
    return 0


def render(printout: Printout, *, paper_dots: int = 576) -> Image.Image:
    """Render a printout as a greyscale picture of the paper (white margin around the print area).

    :param printout: what ``interpret`` returned.
    :param paper_dots: printable width in dots.
    """
    if find_cjk_font() is None and not any("CJK font" in w for w in printout.warnings):
        printout.warnings.append("no CJK font found (install fonts-wqy-zenhei); Chinese drawn with the default font")
        log.warning(printout.warnings[-1])
    page = Image.new("L", (paper_dots + 2 * MARGIN, printout.dots + 2 * MARGIN), 255)
    draw = ImageDraw.Draw(page)
    y = MARGIN
    for block in printout.blocks:
        if isinstance(block, PrintedLine):
            pieces = [_render_run(run) for run in block.runs]
            width = sum(p.width for p in pieces)
            x = MARGIN + _x(block.align, width, paper_dots)
            base = y + CELL_H * block.height  # runs share a bottom line, like the printer's
            for piece in pieces:
                page.paste(piece, (x, base - piece.height))
                x += piece.width
        elif isinstance(block, PrintedImage):
            page.paste(block.image.convert("L"), (MARGIN + _x(block.align, block.image.width, paper_dots), y))
        elif isinstance(block, Cut):
            mid = y + block.dots // 2
            for x in range(0, page.width, 16):
                draw.line((x, mid, x + 8, mid), fill=128, width=2)
        y += block.dots
    return page


FAULTS = ("paper_out", "paper_near_end", "cover_open", "offline", "no_answer")

# DLE EOT 1-4 answers a printer gives in each simulated condition (ESC/POS bit meanings).
_ANSWERS: dict[str | None, tuple[int | None, int | None, int | None, int | None]] = {
    None: (0x12, 0x12, 0x12, 0x12),
    "paper_near_end": (0x12, 0x12, 0x12, 0x1E),  # n=4 bits 2-3: near-end sensor
    "paper_out": (0x1A, 0x32, 0x12, 0x7E),  # offline; n=2 bit 5 paper-end stop; n=4 bits 5-6
    "cover_open": (0x1A, 0x16, 0x12, 0x12),  # offline; n=2 bit 2 cover open
    "offline": (0x1A, 0x12, 0x12, 0x12),  # offline with no cause named
    "no_answer": (None, None, None, None),
}


class VirtualPrinter:
    """A printer in memory: answers DLE EOT for its simulated fault and saves each job as a PNG."""

    can_read_status = True

    def __init__(self, out_dir: Path, paper: Paper, fault: str | None = None) -> None:
        """Save printouts under ``out_dir`` on ``paper``, starting in ``fault`` (None = healthy).

        :raises ValueError: for an unknown fault name.
        """
        self.out_dir = Path(out_dir)
        self.paper = paper
        self.where = f"virtual:{self.out_dir}"
        self.fault: str | None = None
        self.set_fault(fault)
        self.last_printout: Printout | None = None
        self.last_png: str | None = None

    @staticmethod
    def default_dir() -> Path:
        """Return where printouts go when the URL names no ``dir``."""
        return Path(tempfile.gettempdir()) / "onevisit-printouts"

    def set_fault(self, fault: str | None) -> None:
        """Simulate a condition for drills: paper_out, paper_near_end, cover_open, offline, no_answer or None.

        :raises ValueError: for an unknown fault name.
        """
        if fault is not None and fault not in FAULTS:
            raise ValueError(f"unknown printer fault {fault!r}; expected one of {FAULTS} or None")
        self.fault = fault

    def ask_status(self, n: int) -> bytes | None:
        """Answer DLE EOT n as a printer in the simulated condition would."""
        answer = _ANSWERS[self.fault][n - 1]
        return None if answer is None else bytes([answer])

    def send(self, job: bytes, kind: str) -> str:
        """Print a job: refuse it in a fault, else interpret, render and save the PNG; return its path.

        :raises PaperOut: (and the other status errors) while the matching fault is simulated.
        :raises MalformedJob: when the stream cannot be interpreted.
        :raises PrinterUnavailable: when the PNG cannot be written.
        """
        error = error_for(query_status(self.ask_status))
        if error is not None:
            raise error
        printout = interpret(job, paper_dots=self.paper.dots)
        image = render(printout, paper_dots=self.paper.dots)
        path = self.out_dir / f"{kind}-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:8]}.png"
        try:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            image.save(path)
        except OSError as e:
            raise PrinterUnavailable(f"cannot save printout to {self.out_dir}: {e}") from e
        self.last_printout, self.last_png = printout, str(path)
        return str(path)

    def close(self) -> None:
        """Nothing to release: the virtual printer holds no connection."""
