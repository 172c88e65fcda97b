"""People ahead and estimated waits."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from .models import Queue, Ticket, Window, WindowQueue
from .routing import window_is_serving

ROLLING_WINDOW = 20


def rolling_service_s(session: Session, queue: Queue, default_s: int) -> float:
    """Return the mean service time of the queue's last 20 finished tickets (or the default)."""
    rows = session.execute(
        select(Ticket.started_at, Ticket.finished_at)
        .where(Ticket.queue_id == queue.id, Ticket.status == "done", Ticket.started_at.is_not(None),
               Ticket.finished_at.is_not(None))
        .order_by(Ticket.finished_at.desc(), Ticket.id.desc()).limit(ROLLING_WINDOW)
    ).all()
    durations = [(f - s).total_seconds() for s, f in rows if f >= s]
    return sum(durations) / len(durations) if durations else float(default_s)


def serving_windows(session: Session, queue_id: int) -> int:
    """Count the open, staffed windows that serve the queue (any role)."""
    windows = session.scalars(
        select(Window).join(WindowQueue, WindowQueue.window_id == Window.id).where(WindowQueue.queue_id == queue_id)
    ).all()
    return sum(1 for w in windows if window_is_serving(w))


def people_ahead(session: Session, ticket: Ticket) -> int:
    """Count waiting tickets of the same queue that come before this one in calling order."""
    if ticket.status != "waiting":
        return 0
    return session.scalar(
        select(func.count()).select_from(Ticket).where(
            Ticket.queue_id == ticket.queue_id, Ticket.status == "waiting",
            or_(Ticket.queue_key < ticket.queue_key, and_(Ticket.queue_key == ticket.queue_key, Ticket.id < ticket.id)))
    ) or 0


def estimated_wait_s(session: Session, queue: Queue, ahead: int, default_s: int) -> int:
    """Rolling mean service time × people ahead ÷ open windows serving the queue."""
    windows = max(serving_windows(session, queue.id), 1)
    return int(round(rolling_service_s(session, queue, default_s) * ahead / windows))


def waiting_count(session: Session, queue_id: int) -> int:
    return session.scalar(select(func.count()).select_from(Ticket)
                          .where(Ticket.queue_id == queue_id, Ticket.status == "waiting")) or 0


@dataclass(frozen=True)
class QueueLoad:
    """What a wait estimate needs: who waits, how long a service takes, how many windows serve."""

    waiting: int
    mean_service_s: float
    windows: int

    def wait_for(self, ahead: int) -> int:
        """Rolling mean service time × people ahead ÷ open windows serving the queue."""
        return int(round(self.mean_service_s * ahead / max(self.windows, 1)))


def queue_load(session: Session, queue: Queue, default_s: int, *, windows: int | None = None) -> QueueLoad:
    return QueueLoad(waiting=waiting_count(session, queue.id), mean_service_s=rolling_service_s(session, queue, default_s),
                     windows=serving_windows(session, queue.id) if windows is None else windows)
