"""Item → queue routing (001 §5): general windows accept everything (无差别受理); high-volume
immediate items keep on-the-spot windows (即来即办) while one of those is open for them.

Routing runs on every ticket issued, the hall's busiest write, so it reads plain rows through
statements built once at import (building a SQLAlchemy statement costs several times what SQLite
takes to run it; see ``bench/http_bench.py``) rather than loading ORM objects.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from sqlalchemy import bindparam, func, or_, select
from sqlalchemy.orm import Session

from hall_queue.infrastructure.cache import TtlCache
from hall_queue.infrastructure.db import Prebuilt, core, issuing_only
from hall_queue.domain.vocabulary import WAIT_READS_KEPT_S
from hall_queue.domain.errors import InvalidRequest
from hall_queue.domain.models import (
    Bundle,
    BundleItem,
    Queue,
    QueueItem,
    ServiceItem,
    Ticket,
    Window,
    WindowQueue,
)


@dataclass(frozen=True)
class QueueRef:
    """What issuing needs of a queue: its number series and daily cap."""

    id: int
    prefix: str
    name: str
    daily_cap: int | None


@dataclass
class ItemRoute:
    """A service item with the active queues that serve it."""

    id: int
    hall_id: int
    code: str
    name: str
    active: bool
    on_the_spot: bool
    queues: dict[int, QueueRef] = field(default_factory=dict)
    # The item's materials list (一次性告知): issuing hands the merged list to the slip.
    materials: list = field(default_factory=list)


@dataclass(frozen=True)
class BundleRoute:
    id: int
    hall_id: int
    name: str
    active: bool
    queue: QueueRef
    items: list[ItemRoute]


def window_is_serving(w: Window) -> bool:
    """Tell whether a window is open with someone at it (its own clerk or a covering window)."""
    return w.is_open and (w.clerk_id is not None or w.covered_by_id is not None)


_ITEM_ROUTES = (
    select(ServiceItem.id, ServiceItem.hall_id, ServiceItem.code, ServiceItem.name, ServiceItem.active,
           ServiceItem.on_the_spot, ServiceItem.materials, Queue.id, Queue.prefix, Queue.name, Queue.daily_cap, Queue.active)
    .select_from(ServiceItem)
    .outerjoin(QueueItem, QueueItem.item_id == ServiceItem.id)
    .outerjoin(Queue, Queue.id == QueueItem.queue_id)
    .where(ServiceItem.id.in_(bindparam("ids", expanding=True)))
    .order_by(ServiceItem.id, Queue.id)
)
_BUNDLE = (select(Bundle.id, Bundle.hall_id, Bundle.name, Bundle.active, Queue.id, Queue.prefix, Queue.name,
                  Queue.daily_cap)
           .join(Queue, Queue.id == Bundle.queue_id).where(Bundle.id == bindparam("bundle_id")))
_BUNDLE_ITEMS = (select(BundleItem.item_id).where(BundleItem.bundle_id == bindparam("bundle_id"))
                 .order_by(BundleItem.position, BundleItem.item_id))
# One queue per statement: an expanding IN list is re-rendered on every execution, which cost more
# than the query (most tickets have one candidate queue).
_SERVING = Prebuilt(
    select(WindowQueue.queue_id, WindowQueue.role, Window.kind, Window.is_open, Window.clerk_id, Window.covered_by_id)
    .join(Window, Window.id == WindowQueue.window_id)
    .where(WindowQueue.queue_id == bindparam("queue_id"))
)


# The catalogue changes when a manager edits it, not per ticket: routes are cached (cache.py) and a
# change committed in this process applies at once, one made elsewhere within 5 s. Cached ItemRoutes
# are shared between threads: never modify one.
_routes = TtlCache(5.0, {ServiceItem.__tablename__, Queue.__tablename__, QueueItem.__tablename__})


def load_item_routes(session: Session, item_ids: list[int]) -> dict[int, ItemRoute]:
    """Return the items found among ``item_ids`` with their active queues (one statement for those not cached)."""
    return _routes.get_many(session, item_ids, lambda missing: _read_item_routes(session, missing))


def _read_item_routes(session: Session, item_ids: list[int]) -> dict[int, ItemRoute]:
    found: dict[int, ItemRoute] = {}
    for (iid, hall_id, code, name, active, spot, materials, qid, prefix, qname, cap, q_active) in \
            core(session).execute(_ITEM_ROUTES, {"ids": item_ids}):
        item = found.get(iid)
        if item is None:
            item = found[iid] = ItemRoute(iid, hall_id, code, name, bool(active), bool(spot),
                                          materials=list(materials or []))
        if qid is not None and q_active:
            item.queues[qid] = QueueRef(qid, prefix, qname, cap)
    return found


def load_bundle_route(session: Session, bundle_id: int) -> BundleRoute | None:
    conn = core(session)
    row = conn.execute(_BUNDLE, {"bundle_id": bundle_id}).first()
    if row is None:
        return None
    bid, hall_id, name, active, qid, prefix, qname, cap = row
    ids = [r[0] for r in conn.execute(_BUNDLE_ITEMS, {"bundle_id": bundle_id})]
    routes = load_item_routes(session, ids)
    return BundleRoute(bid, hall_id, name, bool(active), QueueRef(qid, prefix, qname, cap),
                       [routes[i] for i in ids if i in routes])


# Which windows serve a queue changes when a window opens, closes, changes hands or is configured, never when a
# ticket is issued. So in a rush of issues the read is kept per queue, as the wait range's reads are
# (``WAIT_READS_KEPT_S``), for transactions that only issue tickets (``issuing_only``): any other write of this
# process ends it at once (``Database.changes``), another process's change shows within that time — as if the
# visitor had pressed the button a moment earlier (issue 19: a statement and a PostgreSQL round trip per issue).
_kept_serving: dict[tuple[str, int], tuple[list, int, float]] = {}
_KEPT_SERVING_MAX = 4096


def _serving_rows(session: Session, conn, queue_id: int) -> list:
    keep = issuing_only(session)
    if keep is not None:
        hit = _kept_serving.get((keep[0], queue_id))
        if hit is not None and hit[1] == keep[1] and hit[2] >= time.monotonic():
            return hit[0]
    rows = _SERVING.run(conn, {"queue_id": queue_id})
    if keep is not None:
        if len(_kept_serving) >= _KEPT_SERVING_MAX:
            _kept_serving.clear()
        _kept_serving[(keep[0], queue_id)] = (rows, keep[1], time.monotonic() + WAIT_READS_KEPT_S)
    return rows


def _serving(session: Session, queue_ids: list[int]) -> tuple[dict[int, set[str]], dict[int, set[str]], dict[int, int]]:
    """For each queue: kinds of windows serving it as primary (configured / staffed), and staffed windows of any role."""
    configured: dict[int, set[str]] = {q: set() for q in queue_ids}
    staffed: dict[int, set[str]] = {q: set() for q in queue_ids}
    count: dict[int, int] = {q: 0 for q in queue_ids}
    if not queue_ids:
        return configured, staffed, count
    conn = core(session)
    rows = [row for qid in queue_ids for row in _serving_rows(session, conn, qid)]
    for queue_id, role, kind, is_open, clerk_id, covered_by in rows:
        serving = bool(is_open) and (clerk_id is not None or covered_by is not None)
        count[queue_id] += int(serving)
        if role == "primary":
            configured[queue_id].add(kind)
            if serving:
                staffed[queue_id].add(kind)
    return configured, staffed, count


_PRIMARY_LOAD = (
    select(func.count()).select_from(Ticket)
    .where(Ticket.queue_id == bindparam("queue_id"), Ticket.status == "waiting").scalar_subquery(),
    select(func.count()).select_from(WindowQueue).join(Window, Window.id == WindowQueue.window_id)
    .where(WindowQueue.queue_id == bindparam("queue_id"), WindowQueue.role == "primary", Window.is_open.is_(True),
           or_(Window.clerk_id.is_not(None), Window.covered_by_id.is_not(None))).scalar_subquery(),
)
_LOAD = Prebuilt(select(*_PRIMARY_LOAD))  # waiting visitors, staffed primary windows


def _longer_per_window(session: Session, spot: int, general: int) -> bool:
    """Tell whether the on-the-spot queue has more visitors per staffed primary window than the general one.

    A margin of one visitor per window keeps routing from flapping between the two on every ticket.
    """
    conn = core(session)
    s_wait, s_win = _LOAD.first(conn, {"queue_id": spot})
    g_wait, g_win = _LOAD.first(conn, {"queue_id": general})
    return s_wait / max(s_win, 1) > g_wait / max(g_win, 1) + 1


def route_items(session: Session, items: list[ItemRoute]) -> tuple[QueueRef, str, int]:
    """Pick the queue for a ticket carrying ``items``; return it, the reason and its staffed windows.

    :raises InvalidRequest: when no single queue serves every item.
    """
    for item in items:
        if not item.queues:
            raise InvalidRequest(f"service item {item.code} is not served by any queue", code="item_not_served")
    common_ids = sorted(set.intersection(*(set(item.queues) for item in items)))
    if not common_ids:
        raise InvalidRequest("these service items cannot share one ticket: no queue serves them all",
                             code="items_not_combinable")
    by_id = items[0].queues
    configured, staffed, count = _serving(session, common_ids)
    if len(items) == 1 and items[0].on_the_spot:
        spot = next((qid for qid in common_ids if "on_the_spot" in staffed[qid]), None)
        general = next((qid for qid in common_ids if "general" in staffed[qid]), None)
        if spot is not None:
            if general is not None and _longer_per_window(session, spot, general):
                # The on-the-spot windows are swamped and general windows accept everything
                # (无差别受理): the general queue gets the visitor served sooner.
                return by_id[general], "on-the-spot queue longer than the general one: general window (001 §5)", \
                    count[general]
            return by_id[spot], "on-the-spot window open for this item (001 §5)", count[spot]
    for qid in common_ids:
        if "general" in configured[qid]:
            return by_id[qid], "general window (一窗受理, 001 §5)", count[qid]
    # Items only some special window serves (e.g. cross-region); take its queue rather than refuse.
    for qid in common_ids:
        if configured[qid] - {"on_the_spot"}:
            return by_id[qid], "served only at " + "/".join(sorted(configured[qid])), count[qid]
    return by_id[common_ids[0]], "only queue for this item", count[common_ids[0]]


def route_bundle(session: Session, bundle: BundleRoute) -> tuple[QueueRef, str, int]:
    """Bundles (一件事) always go to their general queue: one window takes the whole matter (003 §3)."""
    q = bundle.queue
    return q, "life-event bundle at a general window (003 §3.6)", _serving(session, [q.id])[2][q.id]
