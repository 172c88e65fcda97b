"""Finding an item at the kiosk: pinyin initials of its name (企业设立登记 → qysldj)."""
from __future__ import annotations

from pypinyin import Style, lazy_pinyin


def pinyin_initials(name: str) -> str:
    """Return the pinyin initials a kiosk search matches (企业设立登记 → qysldj)."""
    return "".join(p[0] for p in lazy_pinyin(name, style=Style.FIRST_LETTER, errors="ignore") if p).lower()
