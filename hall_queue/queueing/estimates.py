"""People ahead and estimated waits."""
from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, func, or_, select
from sqlalchemy.orm import Session

from hall_queue.domain.events import DomainEvent, QueueStatsChanged
from hall_queue.domain.vocabulary import ESTIMATE_MIN_SAMPLE, ESTIMATE_SAMPLE
from hall_queue.infrastructure.cache import MISSING, SharedRead, TtlCache
from hall_queue.infrastructure.db import Prebuilt, core, fixed_limit, one_of
from hall_queue.domain.models import Hall, Ticket, Window, WindowQueue
from hall_queue.queueing.near_turn import PHONES_AT_HEAD, notify_after_look

ROLLING_WINDOW = 20
# A queue's pace changes only when one of its tickets is finished: a finish in this process drops the
# entry when it commits (``pace_changed``); another process's finishes are seen within the time to live.
PACE_TTL_S = 30.0
_paces = TtlCache(PACE_TTL_S, set())

# Built once: these run on every ticket issued and every call (see routing.py on why).
_RECENT_SERVICES = (
    select(Ticket.started_at, Ticket.finished_at)
    .where(Ticket.queue_id == bindparam("queue_id"), Ticket.status == "done", Ticket.started_at.is_not(None),
           Ticket.finished_at.is_not(None))
    .order_by(Ticket.finished_at.desc(), Ticket.id.desc()).limit(max(ROLLING_WINDOW, ESTIMATE_SAMPLE))
)
_SERVING_WINDOWS = (
    select(func.count()).select_from(Window).join(WindowQueue, WindowQueue.window_id == Window.id)
    .where(WindowQueue.queue_id == bindparam("queue_id"), Window.is_open.is_(True),
           or_(Window.clerk_id.is_not(None), Window.covered_by_id.is_not(None)))
)
_AHEAD = select(func.count()).select_from(Ticket).where(
    Ticket.queue_id == bindparam("queue_id"), Ticket.status == "waiting",
    or_(Ticket.queue_key < bindparam("key"), and_(Ticket.queue_key == bindparam("key"), Ticket.id < bindparam("id"))))
_WAITING_AND_HEAD = select(
    select(func.count()).select_from(Ticket)
    .where(Ticket.queue_id == bindparam("queue_id"), one_of(Ticket.status, ["waiting"])).scalar_subquery(),
    # The head's issue time: the longest current wait. Status and limit in the SQL: see db.fixed_limit.
    select(Ticket.issued_at).where(Ticket.queue_id == bindparam("queue_id"), one_of(Ticket.status, ["waiting"]))
    .order_by(Ticket.queue_key, Ticket.id).limit(fixed_limit(1)).scalar_subquery(),
)

# The figures of one queue after a call, in one statement: who waits, since when, how many windows serve.
_FIGURES = select(*_WAITING_AND_HEAD.selected_columns, _SERVING_WINDOWS.scalar_subquery())
# ... and, after a call, whether someone near the head left a phone (the near-turn SMS's look, same read).
_FIGURES_AND_PHONES = select(*_FIGURES.selected_columns, PHONES_AT_HEAD)
# The issue path's reads, through the driver (db.Prebuilt, issue 19).
_FIGURES_RUN, _WAITING_AND_HEAD_RUN = Prebuilt(_FIGURES), Prebuilt(_WAITING_AND_HEAD)
_FIGURES_AND_PHONES_RUN = Prebuilt(_FIGURES_AND_PHONES)
_AFTER_CALL = SharedRead()  # a queue's figures after calls committed together: one read (fill_queue_stats)


def _queue_id(queue) -> int:
    return queue if isinstance(queue, int) else queue.id


@dataclass(frozen=True)
class Pace:
    """How fast a queue is served: the screens' rolling mean, and the mean the wait range starts from."""

    rolling_s: float  # mean of the last ``ROLLING_WINDOW`` services (or the hall default)
    mean_s: float  # mean of the last ``ESTIMATE_SAMPLE`` (issue 17; the hall default below ESTIMATE_MIN_SAMPLE)
    samples: int  # how many services gave ``mean_s``
    durations: tuple[float, ...] = ()  # the recent services, newest first, that gave these figures
    default_s: int = 0

    @classmethod
    def of(cls, durations: tuple[float, ...], default_s: int) -> Pace:
        recent = durations[:ROLLING_WINDOW]
        rolling = sum(recent) / len(recent) if recent else float(default_s)
        sample = durations[:ESTIMATE_SAMPLE]
        mean = float(default_s) if len(sample) < ESTIMATE_MIN_SAMPLE else statistics.fmean(sample)
        return cls(rolling, mean, len(sample), durations[:max(ROLLING_WINDOW, ESTIMATE_SAMPLE)], default_s)

    def with_service(self, seconds: float) -> Pace:
        """The pace once one more service of ``seconds`` has ended (the newest)."""
        return Pace.of((seconds, *self.durations), self.default_s)


def queue_pace(session: Session, queue, default_s: int) -> Pace:
    """Return the queue's pace from one read of its recent services, cached per queue (``PACE_TTL_S``).

    Issuing and calling both need it; reading it on every request cost one or two statements held
    under the writer lock (issue 19). A finish here updates the cached pace when it commits
    (``pace_changed``), so the call that follows reads nothing either.
    """
    qid = _queue_id(queue)
    hit = _paces.get(session, qid)
    if hit is not MISSING and hit.default_s == default_s:
        return hit
    rows = core(session).execute(_RECENT_SERVICES, {"queue_id": qid}).all()
    pace = Pace.of(tuple((f - s).total_seconds() for s, f in rows if f >= s), default_s)
    _paces.put(session, qid, pace)
    return pace


def kept_pace(bind, queue, default_s: int) -> Pace | None:
    """``queue_pace`` if it is cached for the engine ``bind`` (no session needed), else ``None``."""
    hit = _paces.peek(bind, _queue_id(queue))
    return hit if hit is not MISSING and hit.default_s == default_s else None


def pace_changed(session: Session, queue_id: int, started_at: datetime, finished_at: datetime) -> None:
    """Note a service of the queue ended in this transaction: its cached pace takes it in once this commits."""
    if finished_at >= started_at:
        seconds = (finished_at - started_at).total_seconds()
        _paces.update_after_commit(session, queue_id, lambda pace: pace.with_service(seconds))


def rolling_service_s(session: Session, queue, default_s: int) -> float:
    """Return the mean service time of the queue's last 20 finished tickets (or the default)."""
    return queue_pace(session, queue, default_s).rolling_s


def serving_windows(session: Session, queue_id: int) -> int:
    """Count the open, staffed windows that serve the queue (any role); see routing.window_is_serving."""
    return core(session).execute(_SERVING_WINDOWS, {"queue_id": queue_id}).scalar() or 0


def people_ahead(session: Session, ticket: Ticket) -> int:
    """Count waiting tickets of the same queue that come before this one in calling order."""
    if ticket.status != "waiting":
        return 0
    return core(session).execute(_AHEAD, {"queue_id": ticket.queue_id, "key": ticket.queue_key,
                                          "id": ticket.id}).scalar() or 0


def estimated_wait_s(session: Session, queue, ahead: int, default_s: int) -> int:
    """Rolling mean service time × people ahead ÷ open windows serving the queue."""
    load = QueueLoad(waiting=0, mean_service_s=rolling_service_s(session, queue, default_s),
                     windows=serving_windows(session, _queue_id(queue)))
    return load.wait_for(ahead)


@dataclass(frozen=True)
class QueueLoad:
    """What a wait estimate needs: who waits, how long a service takes, how many windows serve."""

    waiting: int
    mean_service_s: float
    windows: int
    oldest_issued_at: datetime | None = None

    def wait_for(self, ahead: int) -> int:
        """Rolling mean service time × people ahead ÷ open windows serving the queue."""
        return int(round(self.mean_service_s * ahead / max(self.windows, 1)))


def queue_load(session: Session, queue, default_s: int, *, windows: int | None = None) -> QueueLoad:
    qid = _queue_id(queue)
    if windows is None:
        waiting, oldest, windows = _FIGURES_RUN.first(core(session), {"queue_id": qid})
    else:
        waiting, oldest = _WAITING_AND_HEAD_RUN.first(core(session), {"queue_id": qid})
    return QueueLoad(waiting=waiting or 0, mean_service_s=rolling_service_s(session, qid, default_s),
                     windows=windows or 0, oldest_issued_at=oldest)


def queue_stats(session: Session, hall: Hall, queue: Any, load: QueueLoad | None = None) -> dict:
    """Return a queue's waiting count, estimated wait for a newcomer and longest current wait."""
    load = load or queue_load(session, queue.id, hall.default_service_s)
    waiting = load.waiting
    oldest = load.oldest_issued_at
    return {"queue_id": queue.id, "prefix": queue.prefix, "name": queue.name, "waiting": waiting,
            "estimated_wait_s": load.wait_for(waiting), "serving_windows": load.windows,
            "oldest_issued_at": oldest.isoformat(timespec="seconds") + "Z" if oldest else None}


def queue_stats_due(hall_id: int, *queue_ids: int, near_turn: bool = False) -> QueueStatsChanged:
    """A ``QueueStatsChanged`` whose figures are read after commit by ``fill_queue_stats``.

    Calling is the hall's hottest write: its figures (three reads) need not hold the writer lock. With
    ``near_turn`` (a call moved the queue) the same read looks for a visitor to send the near-turn SMS.
    """
    return QueueStatsChanged(hall_id, {"queue_ids": list(queue_ids), **({"near_turn": True} if near_turn else {})})


def fill_queue_stats(event: DomainEvent, rt: Any) -> None:
    """Handler: read the figures of a ``queue_stats_due`` event, after commit, before it goes to screens.

    After a call (``near_turn``) the read also tells whether someone near the head left a phone; only then
    is the near-turn SMS checked under the writer lock (``near_turn.notify_after_look``): one read after a
    call instead of two (issue 19).
    """
    ids = event.payload.get("queue_ids")
    if ids is None:
        return
    from hall_queue.infrastructure.hall_store import hall_settings
    from hall_queue.queueing.claiming import queue_names

    near = event.payload.pop("near_turn", False)
    floor = rt.db.changes  # taken after this call's commit (a call moves ``changes``): see SharedRead
    queues, phoned = [], []
    try:
        with rt.db.read_core() as s:
            hall = hall_settings(s, event.hall_id)
            for qid in ids:
                names = queue_names(s, qid)
                if names is None or hall is None:
                    continue
                load = None
                if near:  # the calls of one group commit read their queue's figures once
                    waiting, oldest, windows, phones = _AFTER_CALL.get(
                        s, qid, floor, lambda q=qid: _FIGURES_AND_PHONES_RUN.first(core(s), {"queue_id": q}))
                    load = QueueLoad(waiting=waiting or 0, windows=windows or 0, oldest_issued_at=oldest,
                                     mean_service_s=rolling_service_s(s, qid, hall.default_service_s))
                    if phones:
                        phoned.append(qid)
                queues.append(queue_stats(s, hall, _QueueName(qid, *names), load))
    finally:  # screens always get the event's usual shape, empty if the database could not be read
        event.payload["queues"] = queues
        del event.payload["queue_ids"]
    for qid in phoned:
        notify_after_look(rt, qid)


@dataclass(frozen=True)
class _QueueName:
    id: int
    prefix: str
    name: str
