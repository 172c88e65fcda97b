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


def superseded_figures_dropped(events: list[DomainEvent]) -> list[DomainEvent]:
    """Drop a queue's figures still to be read (``estimates.queue_stats_due``) when a later event of the
    same batch reads them again: screens only need the latest, and eight clerks calling at once would
    otherwise read the same queue's figures eight times."""
    last: dict[tuple, int] = {}
    for i, e in enumerate(events):
        ids = e.payload.get("queue_ids") if e.name == "queue_stats" else None
        if ids is not None:
            last[(e.hall_id, tuple(ids))] = i
    if len(last) == sum(1 for e in events if e.name == "queue_stats" and "queue_ids" in e.payload):
        return events
    # A dropped one that came from a call asked for the near-turn look: the kept read does it instead.
    for e in events:
        if e.name == "queue_stats" and e.payload.get("near_turn") and "queue_ids" in e.payload:
            events[last[(e.hall_id, tuple(e.payload["queue_ids"]))]].payload["near_turn"] = True
    return [e for i, e in enumerate(events)
            if not (e.name == "queue_stats" and "queue_ids" in e.payload
                    and last[(e.hall_id, tuple(e.payload["queue_ids"]))] != i)]


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
    _outbox: "queue.SimpleQueue[list[DomainEvent]] | None" = None

    @property
    def notifier(self) -> Any:
        """The SMS notifier (infrastructure.sms), built once."""
        if self._notifier is None and self.notifier_factory is not None:
            self._notifier = self.notifier_factory()
        return self._notifier

    def publish(self, events: Iterable[DomainEvent]) -> None:
        """Run the events' side effects, then send them to their rooms; a failure never undoes the change.

        With the publisher thread (``onevisit run``) both happen there, after the request has answered:
        the side effects (queue figures, near-turn SMS) cost the clerk no latency.
        """
        events = list(events)
        if self._outbox is not None:
            if events:
                self._outbox.put(events)
            return
        self._handle(events)
        if self.emit is not None and events:
            self._emit_all(events)

    def _handle(self, events: list[DomainEvent], checked: set | None = None) -> None:
        """Run each event's handlers; with ``checked`` (the publisher's batch), a handler that reads only the
        database's present state (``batch_key``) runs once per key and batch."""
        for event in events:
            for handler in self.handlers.get(type(event), ()):
                key_of = getattr(handler, "batch_key", None) if checked is not None else None
                key = key_of(event) if key_of is not None else None
                if key is not None:
                    if key in checked:
                        continue
                    checked.add(key)
                try:
                    handler(event, self)
                except Exception:  # noqa: BLE001 - a side effect must not break the request
                    log.exception("handler %s failed for %s", getattr(handler, "__name__", handler), event.name)
            for listener in self.listeners:
                try:
                    listener(event)
                except Exception:  # noqa: BLE001 - a listener must not break the request
                    log.exception("event listener failed for %s", event.name)

    def _emit_all(self, events: list[DomainEvent]) -> None:
        for event in events:
            for room in event.rooms():
                try:
                    self.emit(event.name, event.payload, room)
                except Exception:  # noqa: BLE001
                    log.exception("publishing %s to %s failed", event.name, room)

    def publish_batch(self, batch: list[DomainEvent]) -> None:
        """Run the side effects of events that queued up together, then send each to its rooms (the publisher's pass)."""
        batch = superseded_figures_dropped(batch)
        # Every event of the batch was committed before it was queued, so a check of the present state (the
        # near-turn SMS of a queue) made for the batch's first event of that queue already sees what the later
        # ones did: eight clerks calling at once cost one check, not eight (issue 19).
        checked: set = set()
        for event in batch:  # each event's side effects, then its rooms: a call is not held up by
            try:             # the queue figures that follow it
                self._handle([event], checked)
                if self.emit is not None:
                    self._emit_all([event])
            except Exception:  # noqa: BLE001 - the publisher outlives one bad event
                log.exception("publishing %s failed", event.name)

    def start_publisher(self, spawn: Callable[[Callable[[], None]], Any] | None = None) -> None:
        """Publish from a background thread from now on (``onevisit run``)."""
        if self._outbox is not None:
            return
        # SimpleQueue: a put from each request thread is one C call instead of ``queue.Queue``'s Python lock and
        # condition (issue 19; the difference did not show through this machine's noise in CPU per 下一位).
        self._outbox = queue.SimpleQueue()

        def loop() -> None:
            while True:
                batch = self._outbox.get()
                # Not waiting a few milliseconds for more events to join the pass: tried (5 ms), the in-process
                # 下一位 with eight clerks cost 20–30 % more CPU although the passes read less.
                while len(batch) < 2000:  # whatever queued up meanwhile goes out in the same pass
                    try:
                        batch += self._outbox.get_nowait()
                    except queue.Empty:
                        break
                self.publish_batch(batch)

        if spawn is not None:
            spawn(loop)
        else:
            threading.Thread(target=loop, name="onevisit-publisher", daemon=True).start()
