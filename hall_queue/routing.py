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


def _serving_kinds(session: Session, queue_ids: list[int], *, staffed_only: bool) -> dict[int, set[str]]:
    """Map each queue to the kinds of windows that serve it as a primary queue."""
    if not queue_ids:
        return {}
    rows = session.execute(
        select(WindowQueue.queue_id, Window).join(Window, Window.id == WindowQueue.window_id)
        .where(WindowQueue.queue_id.in_(queue_ids), WindowQueue.role == "primary")
    ).all()
    kinds: dict[int, set[str]] = {q: set() for q in queue_ids}
    for queue_id, window in rows:
        if not staffed_only or window_is_serving(window):
            kinds[queue_id].add(window.kind)
    return kinds


def route_items(session: Session, items: list[ServiceItem]) -> tuple[Queue, str]:
    """Pick the queue for a ticket carrying ``items``; return it with the reason.

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
    configured = _serving_kinds(session, common_ids, staffed_only=False)
    staffed = _serving_kinds(session, common_ids, staffed_only=True)
    if len(items) == 1 and items[0].on_the_spot:
        for qid in common_ids:
            if "on_the_spot" in staffed[qid]:
                return by_id[qid], "on-the-spot window open for this item (001 §5)"
    for qid in common_ids:
        if "general" in configured[qid] and configured[qid] != {"on_the_spot"}:
            return by_id[qid], "general window (一窗受理, 001 §5)"
    # Items only some special window serves (e.g. cross-region); take its queue rather than refuse.
    for qid in common_ids:
        if configured[qid] - {"on_the_spot"}:
            return by_id[qid], "served only at " + "/".join(sorted(configured[qid]))
    return by_id[common_ids[0]], "only queue for this item"


def route_bundle(bundle: Bundle) -> tuple[Queue, str]:
    """Bundles (一件事) always go to their general queue: one window takes the whole matter (003 §3)."""
    return bundle.queue, "life-event bundle at a general window (003 §3.6)"
