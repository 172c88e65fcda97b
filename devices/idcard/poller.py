"""Watch the reader for cards: find → select → read in a thread, reporting what changed.

Events are reported once per change: one :class:`CardPresented` per card laid on the reader
(the SAM answers find-card with 9F for as long as it stays, so the card's select serial tells
"same card" from "new card"), one :class:`CardRemoved` when it leaves. A vanished port (USB
unplugged) or a silent SAM takes the poller offline; it then reopens the port with
exponential backoff and reports :class:`ReaderOnline` only after the SAM answers a status
check — silence never counts as online.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass
from typing import Callable, Union

from devices.base import DeviceError
from devices.idcard.driver import SerialIdCardReader
from devices.idcard.frames import CardAbsent, DeviceTimeout, PortError, ProtocolError, SamFault
from devices.idcard.text import IdentityCard

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CardPresented:
    """A card was laid on the reader and read."""

    card: IdentityCard


@dataclass(frozen=True)
class CardRemoved:
    """The card that was presented has left the reader."""


@dataclass(frozen=True)
class ReadFailed:
    """A card is on the reader but reading it failed; the poller keeps trying."""

    error: DeviceError


@dataclass(frozen=True)
class ReaderOffline:
    """The port or the SAM stopped working; the poller is trying to recover."""

    reason: str


@dataclass(frozen=True)
class ReaderOnline:
    """The SAM answered a status check (at start, or after recovering)."""


PollerEvent = Union[CardPresented, CardRemoved, ReadFailed, ReaderOffline, ReaderOnline]


class CardPoller:
    """Poll one reader from a thread and publish :data:`PollerEvent` values."""

    def __init__(self, reader: SerialIdCardReader, *, on_event: Callable[[PollerEvent], None] | None = None,
                 interval: float = 0.2, removal_polls: int = 2, backoff: tuple[float, float] = (0.1, 2.0),
                 fingerprint: bool = False) -> None:
        """Configure the poller; nothing runs until :meth:`start`.

        :param reader: the reader to poll; the poller reopens its port on failure.
        :param on_event: called from the poller thread for each event (exceptions are logged).
        :param interval: seconds between polls.
        :param removal_polls: consecutive "no card" answers before a card counts as removed,
            so one missed find during a slight move does not produce removed+presented.
        :param backoff: first and largest wait, in seconds, between reopen attempts.
        :param fingerprint: read fingerprints too (30 10 instead of 30 01).
        """
        self.reader = reader
        self.on_event = on_event
        self.interval = interval
        self.removal_polls = max(1, removal_polls)
        self.backoff = backoff
        self.fingerprint = fingerprint
        self.events: "queue.Queue[PollerEvent]" = queue.Queue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._serial: bytes | None = None   # select answer of the card we reported
        self._misses = 0
        self._failed_serial: bytes | None = None
        self._online: bool | None = None
        self._protocol_failing = False  # a ReadFailed for a misfitting find/select answer is out

    def start(self) -> None:
        """Start polling in a daemon thread."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="idcard-poller", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        """Stop polling and wait for the thread to end."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def __enter__(self) -> "CardPoller":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _emit(self, event: PollerEvent) -> None:
        self.events.put(event)
        if self.on_event is not None:
            try:
                self.on_event(event)
            except Exception:  # a faulty listener must not kill the poller
                log.exception("idcard poller listener failed on %r", event)

    def _run(self) -> None:
        delay = self.backoff[0]
        while not self._stop.is_set():
            if self._online is not True:
                if self._recover():
                    delay = self.backoff[0]
                else:
                    self._stop.wait(delay)
                    delay = min(delay * 2, self.backoff[1])
                continue
            try:
                self.poll_once()
                self._protocol_failing = False
            except (PortError, DeviceTimeout, SamFault) as e:
                self._go_offline(str(e))
                continue
            except ProtocolError as e:
                # An answer that fits no step of find → select (e.g. 90 to a find): nothing was
                # read; say so once, and keep polling (the next answer is usually right).
                log.warning("idcard poll got a misfitting answer: %s", e)
                if not self._protocol_failing:
                    self._protocol_failing = True
                    self._emit(ReadFailed(e))
            except DeviceError as e:
                # Garbled answer on a live line (checksum, framing…): the next poll retries.
                log.warning("idcard poll failed: %s", e)
            self._stop.wait(self.interval)

    def _recover(self) -> bool:
        try:
            if not self.reader.is_open or self._online is False:
                self.reader.reopen()
            self.reader.sam_status()
        except DeviceError as e:
            self.reader.close_port()
            self._go_offline(str(e))
            return False
        self._online = True
        self._emit(ReaderOnline())
        return True

    def _go_offline(self, reason: str) -> None:
        if self._serial is not None:
            # A card we cannot see any more must not stay "presented" on the kiosk.
            self._serial = None
            self._emit(CardRemoved())
        self._failed_serial = None
        self._misses = 0
        if self._online is not False:
            self._online = False
            self._emit(ReaderOffline(reason))

    def poll_once(self) -> None:
        """Run one find → select → read cycle and emit what changed.

        :raises PortError, DeviceTimeout, SamFault: when the reader itself fails.
        """
        card_serial = None
        if self.reader.find_card():
            try:
                card_serial = self.reader.select_card()
            except CardAbsent:
                card_serial = None
        if card_serial is None:
            self._misses += 1
            self._failed_serial = None
            if self._serial is not None and self._misses >= self.removal_polls:
                self._serial = None
                self._emit(CardRemoved())
            return
        self._misses = 0
        if card_serial == self._serial:
            return
        if self._serial is not None:
            # Swapped without a gap: the old card left.
            self._serial = None
            self._emit(CardRemoved())
        try:
            card = self.reader.read_selected(fingerprint=self.fingerprint)
        except (PortError, DeviceTimeout, SamFault):
            raise
        except DeviceError as e:
            if self._failed_serial != card_serial:
                self._failed_serial = card_serial
                self._emit(ReadFailed(e))
            return
        self._failed_serial = None
        self._serial = card_serial
        self._emit(CardPresented(card))


def wait_for_event(poller: CardPoller, kind: type, timeout: float) -> PollerEvent:
    """Take events off ``poller.events`` until one of type ``kind`` arrives.

    :raises TimeoutError: when none arrives in time.
    """
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"no {kind.__name__} within {timeout:g} s")
        try:
            event = poller.events.get(timeout=remaining)
        except queue.Empty:
            continue
        if isinstance(event, kind):
            return event
