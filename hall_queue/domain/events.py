"""Domain events, named in the past tense; published to Socket.IO rooms only after commit.

Each event knows its wire name, its payload (never a full name or ID number) and its rooms:
``hall:<id>`` for hall screens and the floor dashboard, ``window:<id>`` for a window's screen,
console and rating pad.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# The two Socket.IO names that are not domain events: a client asks to ``join`` a room and gets a ``snapshot``
# (the whole picture) before any event. Pages read these and the event names from ``/ov/vocabulary.js``.
JOIN = "join"
SNAPSHOT = "snapshot"


@dataclass(frozen=True)
class DomainEvent:
    hall_id: int
    payload: dict[str, Any] = field(default_factory=dict)
    window_ids: tuple[int, ...] = ()

    name = "event"

    def rooms(self) -> list[str]:
        return [f"hall:{self.hall_id}"] + [f"window:{w}" for w in self.window_ids]


@dataclass(frozen=True)
class TicketIssued(DomainEvent):
    name = "ticket_issued"


@dataclass(frozen=True)
class TicketCalled(DomainEvent):
    name = "ticket_called"


@dataclass(frozen=True)
class TicketRecalled(DomainEvent):
    name = "ticket_recalled"


@dataclass(frozen=True)
class TicketStarted(DomainEvent):
    name = "ticket_started"


@dataclass(frozen=True)
class TicketFinished(DomainEvent):
    """A ticket left the hall's flow: done, no-show or cancelled (``payload.status`` says which)."""

    name = "ticket_finished"


@dataclass(frozen=True)
class TicketRequeued(DomainEvent):
    name = "ticket_requeued"


@dataclass(frozen=True)
class TicketTransferred(DomainEvent):
    name = "ticket_transferred"


@dataclass(frozen=True)
class WindowStatusChanged(DomainEvent):
    name = "window_status"


@dataclass(frozen=True)
class PostCovered(DomainEvent):
    """A window's post is served by another window's clerk (顶岗)."""

    name = "post_covered"


@dataclass(frozen=True)
class PostUncovered(DomainEvent):
    """An open window has neither its A nor its B clerk: an empty post (空岗, 002 §6.9)."""

    name = "post_uncovered"


@dataclass(frozen=True)
class PostRestored(DomainEvent):
    """A window's own clerk is back: its cover or empty post has ended."""

    name = "post_restored"


@dataclass(frozen=True)
class QueueStatsChanged(DomainEvent):
    name = "queue_stats"


@dataclass(frozen=True)
class AlertRaised(DomainEvent):
    name = "alert"


@dataclass(frozen=True)
class AlertCleared(DomainEvent):
    """An alert no longer holds (a long wait over, a device back, a post staffed); dashboards drop it."""

    name = "alert_cleared"


@dataclass(frozen=True)
class TicketGreenRevoked(DomainEvent):
    """A clerk or manager took a ticket out of the green channel (绿色通道) for misuse."""

    name = "ticket_green_revoked"


@dataclass(frozen=True)
class CaseChanged(DomainEvent):
    """A case (办件) moved to another state (``payload.case`` is its masked view, ``payload.action`` the step)."""

    name = "case_changed"


@dataclass(frozen=True)
class CaseResultReady(DomainEvent):
    """A case's result waits at the handover window: the applicant gets an SMS (after commit)."""

    name = "case_result_ready"


def event_names() -> list[str]:
    """The wire names of every domain event (defined in the classes above and in the contexts' modules)."""
    import importlib

    # Contexts that declare their own events; imported so that their classes are known here.
    for module in ("hall_queue.floor.notices", "hall_queue.feedback.ratings", "hall_queue.appointments.settings"):
        importlib.import_module(module)
    names: list[str] = []
    todo = list(DomainEvent.__subclasses__())
    while todo:
        cls = todo.pop(0)
        todo.extend(cls.__subclasses__())
        if cls.name not in names:
            names.append(cls.name)
    return sorted(names)
