"""ESC/POS command bytes we emit ourselves, GB18030 text in Chinese mode, and column arithmetic.

python-escpos 3.1 (``MagicEncode.write``) sends GB18030 only when a string contains a CJK
ideograph and never sends FS & (select Kanji/Chinese character mode), so on a Chinese printer
full-width punctuation such as "（）：，" comes out as "?". We therefore encode every non-ASCII
string as GB18030 inside FS & … FS . ourselves.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from devices.printer.errors import UnsupportedPaper

ESC = b"\x1b"
GS = b"\x1d"
FS = b"\x1c"
DLE = b"\x10"
EOT = b"\x04"
LF = b"\n"

INIT = ESC + b"@"  # ESC @: clear the buffer and reset modes
CHINESE_ON = FS + b"&"  # FS &: select Chinese (double-byte) character mode
CHINESE_OFF = FS + b"."  # FS .: cancel Chinese character mode
STATUS_QUERIES = (1, 2, 3, 4)  # DLE EOT n: printer, offline cause, error cause, roll paper sensor

Align = Literal["left", "center", "right"]
_ALIGN_CODE = {"left": 0, "center": 1, "right": 2}

# C0/C1 controls and DEL inside slip text would be taken as commands by the printer (a stray
# GS V cuts the slip in half), so they print as spaces.
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class Paper:
    """A roll width: text columns in font A (12 x 24 dots) and printable dots at 203 dpi."""

    mm: int
    columns: int
    dots: int


PAPERS = {80: Paper(80, 48, 576), 58: Paper(58, 32, 384)}


def paper_for(mm: int) -> Paper:
    """Return the paper geometry for a roll width.

    :param mm: 80 or 58.
    :raises UnsupportedPaper: for any other width.
    """
    try:
        return PAPERS[mm]
    except KeyError as e:
        raise UnsupportedPaper(f"no layout for {mm} mm paper (have {sorted(PAPERS)})") from e


def align(where: Align) -> bytes:
    """Build ESC a n (justification; takes effect at the start of a line)."""
    return ESC + b"a" + bytes([_ALIGN_CODE[where]])


def bold(on: bool) -> bytes:
    """Build ESC E n (emphasized mode)."""
    return ESC + b"E" + (b"\x01" if on else b"\x00")


def size(width: int = 1, height: int = 1) -> bytes:
    """Build GS ! n with width and height multipliers 1-8.

    :raises ValueError: when a multiplier is outside 1-8.
    """
    if not (1 <= width <= 8 and 1 <= height <= 8):
        raise ValueError(f"character size {width}x{height} outside 1-8")
    return GS + b"!" + bytes([(width - 1) << 4 | (height - 1)])


def feed_lines(n: int) -> bytes:
    """Build ESC d n (print and feed n lines)."""
    return ESC + b"d" + bytes([max(0, min(255, n))])


def status_query(n: int) -> bytes:
    """Build DLE EOT n (real-time status transmission).

    :raises ValueError: when n is not 1-4.
    """
    if n not in STATUS_QUERIES:
        raise ValueError(f"DLE EOT {n} is not a status query")
    return DLE + EOT + bytes([n])


def clean_text(text: str) -> str:
    """Replace control characters with spaces so slip text cannot carry commands."""
    return _CONTROLS.sub(" ", text)


def text_bytes(text: str) -> bytes:
    """Encode one piece of slip text: ASCII as is, anything else as GB18030 inside FS & … FS .

    GB18030 is a superset of ASCII, so a mixed string is sent as one Chinese-mode chunk; leaving
    Chinese mode afterwards keeps the printer's single-byte state as every caller expects it.
    """
    clean = clean_text(text)
    if clean.isascii():
        return clean.encode("ascii")
    # errors="replace" only matters for lone surrogates, which no printer can show anyway.
    return CHINESE_ON + clean.encode("gb18030", errors="replace") + CHINESE_OFF


def char_columns(ch: str) -> int:
    """Return the columns a character takes: 1 for ASCII, 2 for anything sent double-byte.

    In Chinese mode every multi-byte GB18030 character prints as a 24-dot full-width glyph,
    including Latin-1 signs such as "×" or "·" that Unicode calls ambiguous-width.
    """
    return 1 if ord(ch) < 0x80 else 2


def display_width(text: str) -> int:
    """Return the printed width of text in font-A columns."""
    return sum(char_columns(ch) for ch in text)


# Closing punctuation that must not start a line (Chinese line-breaking rules, 避头点).
_NO_LINE_START = set("，。、；：？！）》」』】〕”’%．,.;:?!)]}·…")
_TOKEN = re.compile(r"[!-~]+|\s+|.", re.S)  # ASCII words, runs of space, single other chars


def wrap(text: str, columns: int) -> list[str]:
    """Break text into lines of at most ``columns`` display columns.

    ASCII words (numbers, URLs) stay whole when they fit a line; CJK breaks between any two
    characters, except that closing punctuation never starts a line.

    :raises ValueError: when columns < 2 (a CJK character could never fit).
    """
    if columns < 2:
        raise ValueError("need at least 2 columns to print a CJK character")
    lines: list[str] = []
    cur = ""
    for token in _TOKEN.findall(clean_text(text)):
        pieces = [token] if display_width(token) <= columns else list(token)
        for piece in pieces:
            if display_width(cur) + display_width(piece) <= columns:
                cur += piece
                continue
            if piece.isspace():
                lines.append(cur.rstrip())
                cur = ""
                continue
            if (piece[0] in _NO_LINE_START and len(cur) > 1
                    and display_width(cur[-1] + piece) <= columns):
                # Carry the last character down with the punctuation rather than leave it dangling.
                lines.append(cur[:-1].rstrip())
                cur = cur[-1] + piece
            else:
                lines.append(cur.rstrip())
                cur = piece
    if cur.strip() or not lines:
        lines.append(cur.rstrip())
    return [line for line in lines if line] or [""]


def pad_between(left: str, right: str, columns: int) -> str | None:
    """Return left and right on one line of exactly ``columns`` columns, or None if they do not fit."""
    gap = columns - display_width(left) - display_width(right)
    if gap < 1:
        return None
    return left + " " * gap + right
