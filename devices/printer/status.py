"""Real-time printer status from DLE EOT answers (ESC/POS "DLE EOT n", n = 1…4).

python-escpos 3.1 gets this wrong twice: ``is_online()`` tests bit 3 of any byte it reads, and
``paper_status()`` returns 2 ("paper adequate") when the printer says nothing. Here silence is
never good news: a query that gets no (or a malformed) answer makes the status ``no_answer``
unless an answer that did come already names a fault.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Callable, Mapping

from devices.printer.errors import (
    CoverOpen,
    PaperOut,
    PrinterError,
    PrinterHardwareError,
    PrinterNotResponding,
    PrinterOffline,
)

# Every DLE EOT answer byte has bits 1 and 4 set and bits 0 and 7 clear (ESC/POS reference).
_FIXED_MASK = 0b1001_0011
_FIXED_BITS = 0b0001_0010

# n = 1, printer status
_OFFLINE = 0x08
# n = 2, offline cause
_COVER_OPEN = 0x04
_PAPER_END_STOP = 0x20
_ERROR_OCCURRED = 0x40
# n = 3, error cause
_CUTTER_ERROR = 0x08
_UNRECOVERABLE = 0x20
_AUTO_RECOVERABLE = 0x40  # e.g. print head too hot
# n = 4, roll paper sensor (each condition is reported on two bits)
_NEAR_END = 0x0C
_PAPER_ABSENT = 0x60
# (query n, bit, condition) in the order conditions are listed; paper out may be said twice, listed once.
_CONDITION_BITS = (
    (2, _COVER_OPEN, "cover_open"),
    (2, _PAPER_END_STOP, "paper_out"),
    (2, _ERROR_OCCURRED, "error"),
    (4, _PAPER_ABSENT, "paper_out"),
    (4, _NEAR_END, "paper_near_end"),
    (3, _CUTTER_ERROR, "cutter_error"),
    (3, _UNRECOVERABLE, "unrecoverable_error"),
    (3, _AUTO_RECOVERABLE, "auto_recoverable_error"),
    (1, _OFFLINE, "offline"),
)


class PrinterState(StrEnum):
    """What the kiosk and the dashboard need to know about a printer, worst condition first."""

    ONLINE = "online"
    PAPER_NEAR_END = "paper_near_end"
    PAPER_OUT = "paper_out"
    COVER_OPEN = "cover_open"
    ERROR = "error"  # cutter jam, overheated head, unrecoverable error
    OFFLINE = "offline"  # the printer says offline without naming a cause we know
    NO_ANSWER = "no_answer"
    UNKNOWN = "unknown"  # the transport cannot read back (escpos-file)


@dataclass(frozen=True)
class PrinterStatus:
    """A decoded status: the state to act on, every condition seen, and the raw answer bytes."""

    state: PrinterState
    conditions: tuple[str, ...] = ()
    answers: Mapping[int, int | None] = field(default_factory=dict)

    @property
    def ready(self) -> bool:
        """Tell whether a slip can be printed (near end still prints)."""
        return self.state in (PrinterState.ONLINE, PrinterState.PAPER_NEAR_END, PrinterState.UNKNOWN)

    def as_dict(self) -> dict:
        """Describe the status as JSON-friendly data."""
        return {"state": str(self.state), "conditions": list(self.conditions),
                "answers": {str(n): (None if b is None else f"0x{b:02x}") for n, b in self.answers.items()}}


def _valid(answer: bytes | None) -> int | None:
    if not answer:
        return None
    byte = answer[0]
    return byte if byte & _FIXED_MASK == _FIXED_BITS else None


def decode_status(answers: Mapping[int, bytes | None]) -> PrinterStatus:
    """Decode DLE EOT answers (n -> first bytes received, None for silence) into a status.

    :param answers: the answers to queries 1-4; a missing key counts as silence.
    """
    raw = {n: _valid(answers.get(n)) for n in (1, 2, 3, 4)}
    seen: list[str] = []
    for n, bit, condition in _CONDITION_BITS:
        byte = raw[n]
        if byte is not None and byte & bit and condition not in seen:
            seen.append(condition)
    silent = [n for n, b in raw.items() if b is None]
    seen.extend(f"no_answer_{n}" for n in silent)

    if "cover_open" in seen:
        state = PrinterState.COVER_OPEN
    elif "paper_out" in seen:
        state = PrinterState.PAPER_OUT
    elif any(c in seen for c in ("error", "cutter_error", "unrecoverable_error", "auto_recoverable_error")):
        state = PrinterState.ERROR
    elif "offline" in seen:
        state = PrinterState.OFFLINE
    elif silent:
        # A near-end answer with other queries silent is still not a printer we can trust.
        state = PrinterState.NO_ANSWER
    elif "paper_near_end" in seen:
        state = PrinterState.PAPER_NEAR_END
    else:
        state = PrinterState.ONLINE
    return PrinterStatus(state=state, conditions=tuple(seen), answers=raw)


def query_status(ask: Callable[[int], bytes | None]) -> PrinterStatus:
    """Ask DLE EOT 1-4 through ``ask`` and decode; stop after a silent n=1 to spare three timeouts.

    :param ask: sends DLE EOT n and returns the answer, or None after its timeout.
    """
    answers: dict[int, bytes | None] = {}
    for n in (1, 2, 3, 4):
        answers[n] = ask(n)
        if n == 1 and _valid(answers[1]) is None:
            break
    return decode_status(answers)


_ERRORS: dict[PrinterState, type[PrinterError]] = {
    PrinterState.PAPER_OUT: PaperOut,
    PrinterState.COVER_OPEN: CoverOpen,
    PrinterState.ERROR: PrinterHardwareError,
    PrinterState.OFFLINE: PrinterOffline,
    PrinterState.NO_ANSWER: PrinterNotResponding,
}

_MESSAGES = {
    PrinterState.PAPER_OUT: "printer is out of paper",
    PrinterState.COVER_OPEN: "printer cover is open",
    PrinterState.ERROR: "printer reports a mechanical error",
    PrinterState.OFFLINE: "printer is offline",
    PrinterState.NO_ANSWER: "printer does not answer status queries",
}


def error_for(status: PrinterStatus) -> PrinterError | None:
    """Return the typed error that stops printing in this status, or None when it can print."""
    cls = _ERRORS.get(status.state)
    if cls is None:
        return None
    return cls(f"{_MESSAGES[status.state]} ({', '.join(status.conditions)})")
