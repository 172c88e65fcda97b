"""Plain-dict views of rows for API answers and event payloads. Identity only ever masked."""
from __future__ import annotations

from typing import Any

from hall_queue.catalog.materials import merged_materials
from hall_queue.domain.clock import iso
from hall_queue.domain.models import Queue, Ticket, Window

__all__ = ["iso", "ticket_view", "window_view", "window_status", "queue_view"]


def ticket_view(t: Ticket) -> dict[str, Any]:
    """Return what screens, consoles and kiosks may see of a ticket."""
    return {
        "id": t.id,
        "number": t.number,
        "queue_id": t.queue_id,
        "queue_prefix": t.queue.prefix if t.queue is not None else None,
        "status": t.status,
        "priority_class": t.priority_class,
        "green_reason": t.green_reason,
        "source": t.source,
        "item_ids": [i.id for i in t.items],
        "items": [i.name for i in t.items],
        "bundle_id": t.bundle_id,
        "bundle": t.bundle.name if t.bundle is not None else None,
        "masked_name": t.masked_name,
        "masked_id": t.masked_id,
        "issued_at": iso(t.issued_at),
        "called_at": iso(t.called_at),
        "started_at": iso(t.started_at),
        "finished_at": iso(t.finished_at),
        "window_id": t.window_id,
        "target_window_id": t.target_window_id,
        "recall_count": t.recall_count,
        "call_reason": t.call_reason,
        "outcome": t.outcome,
        "transferred_from_id": t.transferred_from_id,
        "origin_ticket_id": t.origin_ticket_id,
        "slot_start": iso(t.slot_start),
        "service_day": t.service_day.isoformat(),
        # The one merged materials list of the matter (003 §3.8), as the slip printed it.
        "materials": merged_materials(t.items),
    }


def window_status(w: Window) -> str:
    """Return closed / covered / empty / paused / idle / serving as screens show it."""
    if not w.is_open:
        return "closed"
    if w.covered_by_id is not None:
        return "covered"
    if w.clerk_id is None:
        return "empty"
    if w.paused_at is not None:
        return "paused"
    return "idle"


def window_view(w: Window, *, in_hand: Ticket | None = None, covering: list[Window] | None = None,
                covered_by: Window | None = None) -> dict[str, Any]:
    status = window_status(w)
    if status == "idle" and in_hand is not None:
        status = "serving"
    return {
        "id": w.id,
        "number": w.number,
        "name": w.name,
        "kind": w.kind,
        "area": w.area,
        "is_open": w.is_open,
        "status": status,
        "clerk_id": w.clerk_id,
        "clerk_name": w.clerk.display_name if w.clerk is not None else None,
        "clerk_post": w.clerk_post,
        "a_clerk_id": w.a_clerk_id,
        "b_clerk_id": w.b_clerk_id,
        "pause_reason": w.pause_reason,
        "paused_at": iso(w.paused_at),
        "covered_by_id": w.covered_by_id,
        "covered_by_number": covered_by.number if covered_by is not None else None,
        "covering": [{"id": c.id, "number": c.number} for c in (covering or [])],
        "queues": [{"id": s.queue_id, "prefix": s.queue.prefix, "rank": s.rank, "role": s.role} for s in w.served],
        "call_rules": w.call_rules,
        "break_plan": w.break_plan or [],
        "ticket": ticket_view(in_hand) if in_hand is not None else None,
    }


def queue_view(q: Queue) -> dict[str, Any]:
    return {"id": q.id, "prefix": q.prefix, "name": q.name, "daily_cap": q.daily_cap,
            "item_ids": [i.id for i in q.items]}
