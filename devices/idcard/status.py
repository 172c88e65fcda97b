"""The SAM's own status byte SW3 (GA 467 SAM_V serial protocol, "SW3" table).

Leaf module: a table and nothing else, so both the frame layer and the simulator can use it.
Meanings follow the SAM_V protocol sheets published by module vendors; "kind" groups the
codes by what the caller can do about them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

StatusKind = Literal["ok", "no_card", "rejected", "auth", "read", "no_content", "sam_fault", "unknown"]

OK = 0x90
CARD_FOUND = 0x9F
CHECKSUM_RECEIVED = 0x10
LENGTH_RECEIVED = 0x11
UNKNOWN_COMMAND = 0x21
NOT_PERMITTED = 0x23
UNRECOGNISED_ERROR = 0x24
CARD_AUTH_FAILED = 0x31
SAM_AUTH_FAILED = 0x32
VERIFY_FAILED = 0x33
WRONG_CARD = 0x40
READ_FAILED = 0x41
RANDOM_FAILED = 0x47
SELF_CHECK_FAILED = 0x60
NOT_AUTHORISED = 0x66
FIND_FAILED = 0x80
SELECT_FAILED = 0x81
NO_CONTENT = 0x91


@dataclass(frozen=True)
class Sw3:
    """One SW3 value: its name, what it means and what kind of outcome it is."""

    code: int
    name: str
    meaning: str
    kind: StatusKind

    @property
    def ok(self) -> bool:
        return self.kind == "ok"


SW3_TABLE: dict[int, Sw3] = {s.code: s for s in (
    Sw3(OK, "ok", "operation succeeded", "ok"),
    Sw3(CARD_FOUND, "card_found", "find card succeeded (data: card IIN)", "ok"),
    Sw3(CHECKSUM_RECEIVED, "checksum_received", "SAM received a frame with a bad checksum", "rejected"),
    Sw3(LENGTH_RECEIVED, "length_received", "SAM received a frame with a bad length", "rejected"),
    Sw3(UNKNOWN_COMMAND, "unknown_command",
        "SAM rejected the command (unknown command or bad parameter combination)", "rejected"),
    Sw3(NOT_PERMITTED, "not_permitted", "operation not permitted (越权操作)", "rejected"),
    Sw3(UNRECOGNISED_ERROR, "unrecognised_error", "SAM reports an error it cannot classify", "sam_fault"),
    Sw3(CARD_AUTH_FAILED, "card_auth_failed", "the card failed to authenticate the SAM", "auth"),
    Sw3(SAM_AUTH_FAILED, "sam_auth_failed", "the SAM failed to authenticate the card", "auth"),
    Sw3(VERIFY_FAILED, "verify_failed", "information verification failed", "auth"),
    Sw3(WRONG_CARD, "wrong_card", "card type not recognised (not an identity card)", "read"),
    Sw3(READ_FAILED, "read_failed", "reading the card failed", "read"),
    Sw3(RANDOM_FAILED, "random_failed", "getting the card's random number failed", "read"),
    Sw3(SELF_CHECK_FAILED, "self_check_failed", "SAM self-check failed; it accepts no command", "sam_fault"),
    Sw3(NOT_AUTHORISED, "not_authorised", "SAM is not authorised and cannot be used", "sam_fault"),
    Sw3(FIND_FAILED, "find_failed", "find card failed (no card in the field)", "no_card"),
    Sw3(SELECT_FAILED, "select_failed", "select card failed (card left or not answering)", "no_card"),
    Sw3(NO_CONTENT, "no_content", "the card holds no such item (e.g. no appended address)", "no_content"),
)}


def describe(sw3: int) -> Sw3:
    """Look up an SW3 value; values GA 467 does not define are of kind "unknown", never success."""
    found = SW3_TABLE.get(sw3)
    if found is not None:
        return found
    return Sw3(sw3, "unknown", f"unknown SAM status 0x{sw3:02X}", "unknown")
