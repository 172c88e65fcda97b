"""Service-level fixtures: a small hall on a real SQLite file (and PostgreSQL where required), a manual clock,
and ``KioskActions`` / ``ClerkActions`` that drive the queueing services directly — no HTTP, no demo hall."""
from __future__ import annotations

from dataclasses import dataclass
import pytest
from sqlalchemy import select

from hall_queue.access.audit import SYSTEM, Actor
from hall_queue.domain.models import Hall, ServiceItem, Staff, Ticket, Window
from hall_queue.entrypoints.demo.loader import load_simple_hall
from hall_queue.queueing import calling, posts
from hall_queue.queueing.ticketing import IssueRequest, issue_ticket

KIOSK = Actor(kind="kiosk", id=0)


@dataclass
class SmallHall:
    """A hall of ``windows`` general windows serving queues A (and more); window n's A clerk is c<n>, B c<n+1>."""

    id: int
    item_id: int
    window_ids: dict[int, int]
    clerk_ids: dict[int, int]


@pytest.fixture
def small_hall(db, clock) -> SmallHall:
    def build(s):
        hall = load_simple_hall(s, code="svc", now=clock.now(), windows=3)
        item_id = s.scalar(select(ServiceItem.id).where(ServiceItem.hall_id == hall.id))
        windows = {w.number: w.id for w in s.scalars(select(Window).where(Window.hall_id == hall.id))}
        clerks = {int(st.username.rsplit("c", 1)[1]): st.id
                  for st in s.scalars(select(Staff).where(Staff.hall_id == hall.id))}
        return SmallHall(hall.id, item_id, windows, clerks)
    return db.run_write(build)


class KioskActions:
    """Take tickets as a kiosk does, through ``issue_ticket``."""

    def __init__(self, db, clock, vault, hall: SmallHall) -> None:
        self.db, self.clock, self.vault, self.hall = db, clock, vault, hall

    def take(self, *, green: str | None = None) -> str:
        req = IssueRequest(item_ids=[self.hall.item_id], priority_class="green" if green else "ordinary",
                           green_reason=green)
        issued = self.db.run_write(lambda s: issue_ticket(s, s.get(Hall, self.hall.id), req, now=self.clock.now(),
                                                          vault=self.vault, actor=KIOSK)[0])
        self.clock.advance(seconds=1)
        return issued.number


class ClerkActions:
    """Act as clerk c<n> at window n through the queueing services; events are returned for inspection."""

    def __init__(self, db, clock, hall: SmallHall) -> None:
        self.db, self.clock, self.hall = db, clock, hall

    def actor(self, n: int) -> Actor:
        return Actor(kind="staff", id=self.hall.clerk_ids[n], role="clerk", hall_id=self.hall.id)

    def sign_in(self, clerk: int, window: int) -> list:
        return self.db.run_write(lambda s: posts.sign_in(s, s.get(Window, self.hall.window_ids[window]),
                                                         s.get(Staff, self.hall.clerk_ids[clerk]),
                                                         now=self.clock.now(), actor=self.actor(clerk)))

    def sign_out(self, clerk: int, window: int) -> list:
        return self.db.run_write(lambda s: posts.sign_out(s, s.get(Window, self.hall.window_ids[window]),
                                                          now=self.clock.now(), actor=self.actor(clerk)))

    def call(self, clerk: int, window: int) -> str | None:
        def do(s):
            ticket, _ = calling.call_next(s, s.get(Window, self.hall.window_ids[window]), now=self.clock.now(),
                                          actor=self.actor(clerk))
            return (ticket.number, ticket.id) if ticket else None
        got = self.db.run_write(do)
        return got[0] if got else None

    def finish_in_hand(self, clerk: int, window: int, outcome: str = "completed") -> None:
        def do(s):
            w = s.get(Window, self.hall.window_ids[window])
            t = calling.ticket_in_hand(s, w)
            return calling.finish(s, t, outcome=outcome, now=self.clock.now(), actor=self.actor(clerk))
        self.db.run_write(do)

    def check_posts(self) -> list:
        return self.db.run_write(lambda s: posts.check_posts(s, s.get(Hall, self.hall.id), now=self.clock.now()))

    def window(self, n: int) -> Window:
        with self.db.read() as s:
            w = s.get(Window, self.hall.window_ids[n])
            s.expunge(w)
            return w

    def ticket(self, number: str) -> Ticket:
        with self.db.read() as s:
            t = s.scalar(select(Ticket).where(Ticket.hall_id == self.hall.id, Ticket.number == number))
            s.expunge(t)
            return t


@pytest.fixture
def kiosk(db, clock, vault, small_hall) -> KioskActions:
    return KioskActions(db, clock, vault, small_hall)


@pytest.fixture
def clerks(db, clock, small_hall) -> ClerkActions:
    return ClerkActions(db, clock, small_hall)


__all__ = ["SYSTEM"]
