"""Agent → page events (card laid, card removed, device state): a short numbered log read over SSE."""
from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class AgentEvent:
    seq: int
    name: str
    data: dict[str, Any]

    def sse(self) -> str:
        """Return the event as one Server-Sent Events message."""
        return f"id: {self.seq}\nevent: {self.name}\ndata: {json.dumps(self.data, ensure_ascii=False)}\n\n"


class EventBus:
    """Keep the last ``keep`` events; readers wait for anything newer than the sequence they saw."""

    def __init__(self, keep: int = 200) -> None:
        self._events: deque[AgentEvent] = deque(maxlen=keep)
        self._seq = 0
        self._cond = threading.Condition()

    @property
    def last_seq(self) -> int:
        with self._cond:
            return self._seq

    def publish(self, name: str, data: dict[str, Any]) -> AgentEvent:
        """Append an event and wake every reader."""
        with self._cond:
            self._seq += 1
            event = AgentEvent(self._seq, name, data)
            self._events.append(event)
            self._cond.notify_all()
            return event

    def since(self, seq: int, timeout: float = 0.0) -> list[AgentEvent]:
        """Return events after ``seq``, waiting up to ``timeout`` seconds for the first one."""
        with self._cond:
            if self._seq <= seq and timeout > 0:
                self._cond.wait_for(lambda: self._seq > seq, timeout=timeout)
            return [e for e in self._events if e.seq > seq]
