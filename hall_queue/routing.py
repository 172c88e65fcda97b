"""Item → queue routing (001 §5): general windows accept everything (无差别受理); high-volume
immediate items keep on-the-spot windows (即来即办) while one of those is open for them.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from .errors import InvalidRequest
from .models import Bundle, Queue, ServiceItem, Window, WindowQueue


def window_is_serving(w: Window) -> bool:
    """Tell whether a window is open with someone at it (its own clerk or a covering window)."""
    return w.is_open and (w.clerk_id is not None or w.covered_by_id is not None)


def _serving(session: Session, queue_ids: list[int]) -> tuple[dict[int, set[str]], dict[int, set[str]], dict[int, int]]:
    """For each queue: kinds of windows serving it as primary (configured / staffed), and staffed windows of any role."""
    configured: dict[int, set[str]] = {q: set() for q in queue_ids}
    staffed: dict[int, set[str]] = {q: set() for q in queue_ids}
    count: dict[int, int] = {q: 0 for q in queue_ids}
    if not queue_ids:
        return configured, staffed, count
    rows = session.execute(
        select(WindowQueue.queue_id, WindowQueue.role, Window.kind, Window.is_open, Window.clerk_id, Window.covered_by_id)
        .join(Window, Window.id == WindowQueue.window_id).where(WindowQueue.queue_id.in_(queue_ids))
    ).all()
    for queue_id, role, kind, is_open, clerk_id, covered_by in rows:
        serving = is_open and (clerk_id is not None or covered_by is not None)
        count[queue_id] += int(serving)
        if role == "primary":
            configured[queue_id].add(kind)
            if serving:
                staffed[queue_id].add(kind)
    return configured, staffed, count


def route_items(session: Session, items: list[ServiceItem]) -> tuple[Queue, str, int]:
    """Pick the queue for a ticket carrying ``items``; return it, the reason and its staffed windows.

    :raises InvalidRequest: when no single queue serves every item.
    """
    queue_sets = [{q.id: q for q in item.queues if q.active} for item in items]
    for item, qs in zip(items, queue_sets):
        if not qs:
            raise InvalidRequest(f"service item {item.code} is not served by any queue", code="item_not_served")
    common_ids = sorted(set.intersection(*(set(qs) for qs in queue_sets)))
    if not common_ids:
        raise InvalidRequest("these service items cannot share one ticket: no queue serves them all",
                             code="items_not_combinable")
    by_id = queue_sets[0]
    configured, staffed, count = _serving(session, common_ids)
    if len(items) == 1 and items[0].on_the_spot:
        for qid in common_ids:
            if "on_the_spot" in staffed[qid]:
                return by_id[qid], "on-the-spot window open for this item (001 §5)", count[qid]
    for qid in common_ids:
        if "general" in configured[qid]:
            return by_id[qid], "general window (一窗受理, 001 §5)", count[qid]
    # Items only some special window serves (e.g. cross-region); take its queue rather than refuse.
    for qid in common_ids:
        if configured[qid] - {"on_the_spot"}:
            return by_id[qid], "served only at " + "/".join(sorted(configured[qid])), count[qid]
    return by_id[common_ids[0]], "only queue for this item", count[common_ids[0]]


def route_bundle(session: Session, bundle: Bundle) -> tuple[Queue, str, int]:
    """Bundles (一件事) always go to their general queue: one window takes the whole matter (003 §3)."""
    return bundle.queue, "life-event bundle at a general window (003 §3.6)", _serving(session, [bundle.queue_id])[2][bundle.queue_id]
