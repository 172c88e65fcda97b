"""No-show blocking: repeated missed bookings block online booking for a while (002 §7.2.2 预约次数)."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from hall_queue.domain.models import Appointment, AppointmentSettings, Hall

# ---------------------------------------------------------------- no-show blocking

def block_until(no_show_times: Iterable[datetime], *, limit: int, window_days: int,
                block_days: int) -> datetime | None:
    """Return when the latest block ends: each ``limit``-th no-show within ``window_days`` blocks for ``block_days``."""
    if limit <= 0 or block_days <= 0:
        return None
    times = sorted(no_show_times)
    until = None
    for i in range(limit - 1, len(times)):
        if times[i] - times[i - limit + 1] <= timedelta(days=window_days):
            end = times[i] + timedelta(days=block_days)
            until = end if until is None or end > until else until
    return until


def blocked_until(session: Session, hall: Hall, st: AppointmentSettings, id_hash: str,
                  now: datetime) -> datetime | None:
    """Return the end of this person's booking block, if one is running at ``now``."""
    if st.no_show_limit <= 0 or st.no_show_block_days <= 0:
        return None
    since = now - timedelta(days=st.no_show_window_days + st.no_show_block_days)
    times = session.scalars(select(Appointment.slot_end).where(
        Appointment.hall_id == hall.id, Appointment.id_hash == id_hash, Appointment.status == "no_show",
        Appointment.slot_end >= since)).all()
    until = block_until(times, limit=st.no_show_limit, window_days=st.no_show_window_days,
                        block_days=st.no_show_block_days)
    return until if until is not None and until > now else None
