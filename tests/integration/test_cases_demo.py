"""The demo hall's cases: made by the hall's own services, in every state a case can rest in."""
from __future__ import annotations

from sqlalchemy import select

from hall_queue.domain.models import Case, Hall, Ticket
from hall_queue.domain.vocabulary import CASE_STATES
from hall_queue.entrypoints.demo.cases import load_demo_cases


def test_demo_cases_cover_every_resting_state_and_leave_today_alone(db, hall_id, clock, vault):
    made = db.run_write(lambda s: load_demo_cases(s, s.get(Hall, hall_id), now=clock.now(), vault=vault))
    assert made >= 15
    assert db.run_write(lambda s: load_demo_cases(s, s.get(Hall, hall_id), now=clock.now(), vault=vault)) == 0
    with db.read() as s:
        states = set(s.scalars(select(Case.state)))
        today = set(s.scalars(select(Ticket.id).where(Ticket.service_day == clock.now().date())))
    # "accepted" is momentary in the demo: every item there has its department, so it is dispatched at once.
    assert states == set(CASE_STATES) - {"accepted"}
    assert today == set()
