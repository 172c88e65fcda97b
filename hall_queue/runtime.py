"""The per-app runtime: database, identity vault, clock and event publisher, wired once in the factory."""
from __future__ import annotations

import logging
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

    def publish(self, events: Iterable[DomainEvent]) -> None:
        """Send committed events to their rooms; a failure is logged and never undoes the change."""
        for event in events:
            for listener in self.listeners:
                try:
                    listener(event)
                except Exception:  # noqa: BLE001 - a listener must not break the request
                    log.exception("event listener failed for %s", event.name)
            if self.emit is None:
                continue
            for room in event.rooms():
                try:
                    self.emit(event.name, event.payload, room)
                except Exception:  # noqa: BLE001
                    log.exception("publishing %s to %s failed", event.name, room)


def runtime(app: Flask | None = None) -> Runtime:
    return (app or current_app).extensions["onevisit"]
