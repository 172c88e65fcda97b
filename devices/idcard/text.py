"""The card's 256-byte text block (GA/T 490 "机读文字信息") → :class:`IdentityCard`, and back.

Every field is UCS-2 little-endian, padded with spaces. The card type character at byte 248
picks the layout:

* blank — resident identity card (居民身份证, GA/T 490);
* ``J`` — Hong Kong/Macao/Taiwan residents' residence permit (港澳台居民居住证);
* ``I`` — foreigner's permanent residence ID card, 2017 edition (外国人永久居留身份证);
* ``Y`` — foreigner's permanent residence ID card, 2023 edition (新版永居证).

The layouts below are the published machine-readable data tables for each card; offsets are
in bytes, two bytes per character.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

from devices.idcard.codes import nation_name, sex_name
from devices.idcard.frames import CardFormatError, LengthError

CardType = Literal["resident", "hk_macao_taiwan_permit", "foreign_permanent", "foreign_permanent_2023"]

TEXT_SIZE = 256
PHOTO_SIZE = 1024
FINGERPRINT_SIZE = 1024
ADDRESS_SIZE = 70  # one appended address (GA/T 490 "机读追加住址")
TYPE_OFFSET = 248

LONG_TERM = "长期"  # validity end of a card issued to someone aged 46 or over (GA/T 2000.16)

# (field, byte offset, byte size)
Layout = tuple[tuple[str, int, int], ...]

RESIDENT_LAYOUT: Layout = (
    ("name", 0, 30), ("sex_code", 30, 2), ("nation_code", 32, 4), ("birth", 36, 16),
    ("address", 52, 70), ("id_number", 122, 36), ("authority", 158, 30),
    ("valid_from", 188, 16), ("valid_to", 204, 16),
)
# Same frame as the resident card; the nation slot is reserved, pass number and issue count
# follow the validity dates (港澳台居民居住证机读信息规范).
PERMIT_LAYOUT: Layout = (
    ("name", 0, 30), ("sex_code", 30, 2), ("birth", 36, 16),
    ("address", 52, 70), ("id_number", 122, 36), ("authority", 158, 30),
    ("valid_from", 188, 16), ("valid_to", 204, 16),
    ("pass_number", 220, 18), ("issue_count", 238, 4),
)
# 2017 foreigner card: English name first, 15-character number, GB/T 2659 country code,
# then the acceptance authority's code instead of a name (外国人永久居留身份证机读数据项).
FOREIGN_LAYOUT: Layout = (
    ("english_name", 0, 120), ("sex_code", 120, 2), ("id_number", 122, 30), ("country", 152, 6),
    ("name", 158, 30), ("valid_from", 188, 16), ("valid_to", 204, 16), ("birth", 220, 16),
    ("card_version", 236, 4), ("authority", 240, 8),
)
# 2023 foreigner card: the resident-card frame reused; the English name takes the address
# slot (characters 1-35) plus 22 bytes after the dates (characters 36-46), the nation slot
# holds the renewal count and the 18-digit number follows GB 11643 (first digit 9).
FOREIGN_2023_LAYOUT: Layout = (
    ("name", 0, 30), ("sex_code", 30, 2), ("issue_count", 32, 4), ("birth", 36, 16),
    ("english_name", 52, 70), ("id_number", 122, 36), ("authority", 158, 30),
    ("valid_from", 188, 16), ("valid_to", 204, 16), ("english_name_more", 220, 22),
    ("country", 242, 6),
)

TYPE_CHARS: dict[str, CardType] = {" ": "resident", "\x00": "resident", "J": "hk_macao_taiwan_permit",
                                   "I": "foreign_permanent", "Y": "foreign_permanent_2023"}
TYPE_CHAR_OF: dict[CardType, str] = {"resident": " ", "hk_macao_taiwan_permit": "J",
                                     "foreign_permanent": "I", "foreign_permanent_2023": "Y"}
LAYOUTS: dict[CardType, Layout] = {"resident": RESIDENT_LAYOUT, "hk_macao_taiwan_permit": PERMIT_LAYOUT,
                                   "foreign_permanent": FOREIGN_LAYOUT,
                                   "foreign_permanent_2023": FOREIGN_2023_LAYOUT}

# GB 11643-1999 check digit: ISO 7064 MOD 11-2 over the first 17 digits.
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"


def id_check_char(first17: str) -> str:
    """Compute the GB 11643 check character of an 18-character citizen number.

    :param first17: the 17 leading digits.
    :raises ValueError: when ``first17`` is not 17 ASCII digits.
    """
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise ValueError(f"need 17 digits, got {first17!r}")
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS))
    return _CHECK_CHARS[total % 11]


def id_number_ok(number: str | None) -> bool:
    """Tell whether an 18-character number carries the right GB 11643 check character."""
    if not number or len(number) != 18:
        return False
    try:
        return id_check_char(number[:17]) == number[17].upper()
    except ValueError:
        return False


def mask_name(name: str | None) -> str | None:
    """Mask a Chinese name: ``张三`` → ``张*``, ``张晓三`` → ``张*三``."""
    if not name:
        return name
    if len(name) == 1:
        return "*"
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_english_name(name: str | None) -> str | None:
    """Keep the first letter of each word: ``DOE JANE`` → ``D** J***``."""
    if not name:
        return name
    return " ".join(w[:1] + "*" * (len(w) - 1) for w in name.split(" "))


def mask_number(number: str | None) -> str | None:
    """Mask a document number: first 6 and last 4 of an ID number, first 1 and last 2 of a short one."""
    if not number:
        return number
    if len(number) >= 15:
        return number[:6] + "*" * (len(number) - 10) + number[-4:]
    if len(number) > 4:
        return number[:1] + "*" * (len(number) - 3) + number[-2:]
    return "*" * len(number)


@dataclass(frozen=True)
class IdentityCard:
    """Everything one card's text, photo and fingerprint files say, as plain values."""

    card_type: CardType
    name: str | None = None
    english_name: str | None = None
    sex_code: str | None = None
    nation_code: str | None = None
    birth: str | None = None          # YYYYMMDD
    address: str | None = None
    id_number: str | None = None
    authority: str | None = None
    valid_from: str | None = None     # YYYYMMDD
    valid_to: str | None = None       # YYYYMMDD or 长期
    pass_number: str | None = None
    issue_count: str | None = None
    country: str | None = None        # GB/T 2659 alpha-3
    id_check_ok: bool | None = None   # None where the number has no GB 11643 check character
    photo_wlt: bytes = b""
    fingerprint: bytes | None = None
    card_version: str | None = None   # 2017 foreigner card only

    @property
    def sex(self) -> str | None:
        return sex_name(self.sex_code)

    @property
    def nation(self) -> str | None:
        return nation_name(self.nation_code)

    def masked(self) -> "IdentityCard":
        """Return a copy whose name, English name, ID number and pass number are masked."""
        return dataclasses.replace(
            self, name=mask_name(self.name), english_name=mask_english_name(self.english_name),
            id_number=mask_number(self.id_number), pass_number=mask_number(self.pass_number))

    def as_dict(self) -> dict:
        """Return the JSON-ready text fields (photo and fingerprint left out)."""
        return {k: getattr(self, k) for k in JSON_KEYS}


JSON_KEYS = ("card_type", "name", "english_name", "sex_code", "nation_code", "birth", "address",
             "id_number", "authority", "valid_from", "valid_to", "pass_number", "issue_count",
             "country", "id_check_ok")


def _field(text: bytes, offset: int, size: int) -> str:
    return text[offset:offset + size].decode("utf-16-le", errors="replace")


def _clean(value: str) -> str | None:
    value = value.strip(" \x00\u3000")
    return value or None


def card_type_of(text: bytes) -> CardType:
    """Read the card type character at byte 248.

    :raises CardFormatError: for a type we have no layout for.
    """
    char = _field(text, TYPE_OFFSET, 2)
    try:
        return TYPE_CHARS[char]
    except KeyError:
        raise CardFormatError(f"unknown card type character {char!r} at byte {TYPE_OFFSET}") from None


def parse_text(text: bytes, photo: bytes = b"", fingerprint: bytes | None = None) -> IdentityCard:
    """Parse a 256-byte text block into an :class:`IdentityCard`.

    :param text: the text file exactly as the SAM returned it.
    :param photo: the WLT photo, kept raw.
    :param fingerprint: the fingerprint file, or None.
    :raises LengthError: when ``text`` is not 256 bytes.
    :raises CardFormatError: for an unknown card type.
    """
    if len(text) != TEXT_SIZE:
        raise LengthError(f"text block is {len(text)} bytes, GA/T 490 defines {TEXT_SIZE}")
    card_type = card_type_of(text)
    raw = {name: _field(text, offset, size) for name, offset, size in LAYOUTS[card_type]}
    if "english_name_more" in raw:
        # Join before stripping: a space at character 35 belongs to the name.
        raw["english_name"] = raw["english_name"] + raw.pop("english_name_more")
    values = {name: _clean(value) for name, value in raw.items()}
    if card_type == "foreign_permanent":
        check = None  # the 2017 number (3 letters + 12 digits) has no GB 11643 check character
    else:
        check = id_number_ok(values.get("id_number"))
    return IdentityCard(card_type=card_type, id_check_ok=check, photo_wlt=bytes(photo),
                        fingerprint=bytes(fingerprint) if fingerprint else None, **values)


def _encode_value(value: str | None, size: int, field: str) -> bytes:
    data = (value or "").encode("utf-16-le")
    if len(data) > size:
        raise ValueError(f"{field} {value!r} needs {len(data)} bytes, the layout has {size}")
    return data + " ".encode("utf-16-le") * ((size - len(data)) // 2)


def encode_text(card: IdentityCard) -> bytes:
    """Build the 256-byte text block a card of this type carries (the simulator's card chip).

    :raises ValueError: when a value does not fit its field.
    """
    block = bytearray(" ".encode("utf-16-le") * (TEXT_SIZE // 2))
    values = {f.name: getattr(card, f.name) for f in dataclasses.fields(card)}
    if card.card_type == "foreign_permanent_2023":
        english = card.english_name or ""
        values["english_name"], values["english_name_more"] = english[:35], english[35:]
    for name, offset, size in LAYOUTS[card.card_type]:
        block[offset:offset + size] = _encode_value(values.get(name), size, name)
    block[TYPE_OFFSET:TYPE_OFFSET + 2] = TYPE_CHAR_OF[card.card_type].encode("utf-16-le")
    return bytes(block)


def parse_card_data(data: bytes, *, with_fingerprint: bool) -> IdentityCard:
    """Parse the data of a 30 01 (text+photo) or 30 10 (text+photo+fingerprint) answer.

    The data starts with big-endian lengths — text, photo and, for 30 10, fingerprint —
    followed by the blocks in that order.

    :raises LengthError: when the declared lengths disagree with the data.
    :raises CardFormatError: for an unknown card type.
    """
    n = 3 if with_fingerprint else 2
    if len(data) < 2 * n:
        raise LengthError(f"card data of {len(data)} bytes lacks its {n} length fields")
    sizes = [int.from_bytes(data[2 * i:2 * i + 2], "big") for i in range(n)]
    if 2 * n + sum(sizes) != len(data):
        raise LengthError(f"card data declares {sizes} bytes but carries {len(data) - 2 * n}")
    blocks, pos = [], 2 * n
    for size in sizes:
        blocks.append(data[pos:pos + size])
        pos += size
    return parse_text(blocks[0], blocks[1], blocks[2] if with_fingerprint else None)


def build_card_data(card: IdentityCard, *, with_fingerprint: bool) -> bytes:
    """Build the data of a 30 01 / 30 10 answer for ``card`` (the simulator's side)."""
    blocks = [encode_text(card), card.photo_wlt]
    if with_fingerprint:
        blocks.append(card.fingerprint or b"")
    return b"".join(len(b).to_bytes(2, "big") for b in blocks) + b"".join(blocks)


def parse_address(data: bytes) -> str | None:
    """Decode one 70-byte appended address (30 03 answer).

    :raises LengthError: when the block is not 70 bytes.
    """
    if len(data) != ADDRESS_SIZE:
        raise LengthError(f"appended address is {len(data)} bytes, GA/T 490 defines {ADDRESS_SIZE}")
    return _clean(data.decode("utf-16-le", errors="replace"))


def encode_address(address: str) -> bytes:
    """Encode one appended address as its 70-byte block."""
    return _encode_value(address, ADDRESS_SIZE, "address")
