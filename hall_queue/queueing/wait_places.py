"""Where a visitor of each queue waits: the areas and numbers of the open windows that serve it.

The kiosk's ticket screen, the slip and the phone page say "请到A区 1–6号窗口等候" (issue 21), taken from
the windows' configured areas; a queue's main (主办) windows are named, its helping windows only when
it has no main one.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hall_queue.domain.models import Window, WindowQueue


def wait_places(session: Session, hall_id: int) -> dict[int, list[dict[str, Any]]]:
    """Return, per queue id, ``[{"area": "A区" | None, "windows": [1, 2, …]}]`` in window order."""
    rows = session.execute(
        select(WindowQueue.queue_id, WindowQueue.role, Window.area, Window.number)
        .join(Window, Window.id == WindowQueue.window_id)
        .where(Window.hall_id == hall_id, Window.is_open.is_(True)).order_by(Window.number)).all()
    primary = {qid for qid, role, _, _ in rows if role == "primary"}
    out: dict[int, dict[str | None, list[int]]] = defaultdict(dict)
    for qid, role, area, number in rows:
        if qid in primary and role != "primary":
            continue
        out[qid].setdefault(area or None, []).append(number)
    return {qid: [{"area": a, "windows": ns} for a, ns in areas.items()] for qid, areas in out.items()}
