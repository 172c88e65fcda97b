"""The per-app runtime: database, identity vault, clock and event publisher, wired once in the factory."""
from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from flask import Flask, current_app

from .clock import Clock
from .db import Database
from .events import DomainEvent
from .identity import IdentityVault

log = logging.getLogger("onevisit")


@dataclass
class Runtime:
    db: Database
    vault: IdentityVault
    clock: Clock
    emit: Callable[[str, dict, str], Any] | None = None
    listeners: list[Callable[[DomainEvent], None]] = field(default_factory=list)
    # When set, a publisher thread sends events so the clerk's request returns before 300 screens
    # have been written to; events keep their order (one thread, one FIFO).
    _outbox: "queue.Queue[list[DomainEvent]] | None" = None

    def publish(self, events: Iterable[DomainEvent]) -> None:
        """Send committed events to their rooms; a failure is logged and never undoes the change."""
        events = list(events)
        for event in events:
            for listener in self.listeners:
                try:
                    listener(event)
                except Exception:  # noqa: BLE001 - a listener must not break the request
                    log.exception("event listener failed for %s", event.name)
        if self.emit is None or not events:
            return
        if self._outbox is not None:
            self._outbox.put(events)
        else:
            self._emit_all(events)

    def _emit_all(self, events: list[DomainEvent]) -> None:
        for event in events:
            for room in event.rooms():
                try:
                    self.emit(event.name, event.payload, room)
                except Exception:  # noqa: BLE001
                    log.exception("publishing %s to %s failed", event.name, room)

    def start_publisher(self, spawn: Callable[[Callable[[], None]], Any] | None = None) -> None:
        """Publish from a background thread from now on (``onevisit run``)."""
        if self._outbox is not None:
            return
        self._outbox = queue.Queue()

        def loop() -> None:
            while True:
                batch = self._outbox.get()
                self._emit_all(batch)

        if spawn is not None:
            spawn(loop)
        else:
            threading.Thread(target=loop, name="onevisit-publisher", daemon=True).start()


def runtime(app: Flask | None = None) -> Runtime:
    return (app or current_app).extensions["onevisit"]
