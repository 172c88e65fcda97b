"""The per-app runtime: database, identity vault, clock, notifier and event publisher, wired once in ``bootstrap``.

``publish`` runs after commit: first the side effects listed for the event in ``bootstrap.EVENT_HANDLERS``
(a failure is logged and never undoes the change), then observers, then the Socket.IO rooms.
"""
from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from hall_queue.domain.clock import Clock
from hall_queue.infrastructure.db import Database
from hall_queue.domain.events import DomainEvent

log = logging.getLogger("onevisit")


@dataclass
class Runtime:
    db: Database
    vault: Any  # access.identity.IdentityVault
    clock: Clock
    emit: Callable[[str, dict, str], Any] | None = None
    # Side effects per event type (bootstrap.EVENT_HANDLERS); each is called with (event, runtime).
    handlers: dict[type, list[Callable[[DomainEvent, "Runtime"], None]]] = field(default_factory=dict)
    # Observers of every published event (tests, tools).
    listeners: list[Callable[[DomainEvent], None]] = field(default_factory=list)
    # Builds the SMS notifier on first use (it needs the app's settings).
    notifier_factory: Callable[[], Any] | None = None
    _notifier: Any = None
    # When set, a publisher thread sends events so the clerk's request returns before 300 screens
    # have been written to; events keep their order (one thread, one FIFO).
    _outbox: "queue.Queue[list[DomainEvent]] | None" = None

    @property
    def notifier(self) -> Any:
        """The SMS notifier (infrastructure.sms), built once."""
        if self._notifier is None and self.notifier_factory is not None:
            self._notifier = self.notifier_factory()
        return self._notifier

    def publish(self, events: Iterable[DomainEvent]) -> None:
        """Send committed events to their rooms; a failure is logged and never undoes the change."""
        events = list(events)
        for event in events:
            for handler in self.handlers.get(type(event), ()):
                try:
                    handler(event, self)
                except Exception:  # noqa: BLE001 - a side effect must not break the request
                    log.exception("handler %s failed for %s", getattr(handler, "__name__", handler), event.name)
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
