"""API views of the queue core: thin adapters from HTTP to domain services (STYLE rule 6)."""
from __future__ import annotations

from typing import Any, Callable

from flask import g, jsonify
from sqlalchemy import select
from sqlalchemy.orm import Session

from hall_queue import appointments
from hall_queue.access import login
from hall_queue.queueing import calling
from hall_queue.queueing import posts
from hall_queue.queueing import ticketing
from hall_queue.queueing.wait_places import wait_places
from hall_queue.access.auth import revoke_token
from hall_queue.catalog.materials import bundle_view, item_view
from hall_queue.cases.views import cases_of_ticket
from hall_queue.domain.events import DomainEvent
from hall_queue.domain.models import AuditEvent, Alert, Bundle, Hall, Queue, ServiceCategory, ServiceItem, Staff, Ticket, Window
from hall_queue.queueing.presenters import iso, queue_view, ticket_view
from hall_queue.bootstrap import runtime
from hall_queue.access.audit import Actor
from hall_queue.domain.vocabulary import ELDERLY_AGE
from hall_queue.floor.snapshots import follow_view, hall_snapshot, newest_leg, window_full_view, window_snapshot
from hall_queue.entrypoints.api import replays
from hall_queue.entrypoints.api import schemas as S
from hall_queue.entrypoints.web_session import client_ip
from hall_queue.entrypoints.api.base import (MANAGERS, STAFF, bp, get_followed_ticket, get_hall, get_hall_settings,
                                             get_row, now, operation, window_device_guard, write)
from hall_queue.entrypoints.api.registry import build_openapi

# ---------------------------------------------------------------- meta and auth

@bp.get("/openapi.json")
def openapi_json():
    """Serve the OpenAPI 3 description of every operation."""
    return jsonify(build_openapi("OneVisit API", "1"))


@operation("/auth/login", "POST", roles=("public",), summary="Log in as staff", body=S.LoginIn,
           response=S.LoginOut, tags=("auth",), errors=(401, 429))
def auth_login(body: S.LoginIn):
    rt = runtime()
    done = login.log_in(rt.db, body.username, body.password, client_ip(), clock=rt.clock)
    return {"token": done.token, "staff": done.staff}


@operation("/auth/logout", "POST", roles=STAFF, summary="Log out (revoke this token)", response=S.OkOut,
           tags=("auth",))
def auth_logout():
    def do(s: Session):
        revoke_token(s, g.token_id, now=now())
        return {"ok": True}, []
    return write(do)


# ---------------------------------------------------------------- halls, catalogue, snapshots

@operation("/halls", "GET", roles=STAFF + ("kiosk", "screen", "pad"), summary="List halls", response=S.ListOut,
           tags=("halls",))
def list_halls():
    with runtime().db.read() as s:
        q = select(Hall).order_by(Hall.id)
        if g.actor.hall_id is not None:
            q = q.where(Hall.id == g.actor.hall_id)
        return {"items": [{"id": h.id, "code": h.code, "name": h.name, "timezone": h.timezone,
                           "opening_hours": h.opening_hours, "day_boundary": h.day_boundary,
                           "elderly_age": h.elderly_age or ELDERLY_AGE} for h in s.scalars(q)]}


@operation("/halls/<int:hall_id>/catalog", "GET", roles=("public",), summary="Read the service catalogue",
           response=S.CatalogOut, tags=("halls",))
def hall_catalog(hall_id: int):
    with runtime().db.read() as s:
        hall = get_hall(s, hall_id)
        cats = s.scalars(select(ServiceCategory).where(ServiceCategory.hall_id == hall.id)
                         .order_by(ServiceCategory.sort, ServiceCategory.id))
        items = s.scalars(select(ServiceItem).where(ServiceItem.hall_id == hall.id, ServiceItem.active.is_(True))
                          .order_by(ServiceItem.id))
        bundles = s.scalars(select(Bundle).where(Bundle.hall_id == hall.id, Bundle.active.is_(True)).order_by(Bundle.id))
        queues = s.scalars(select(Queue).where(Queue.hall_id == hall.id).order_by(Queue.prefix))
        places = wait_places(s, hall.id)
        return {"categories": [{"id": c.id, "code": c.code, "name": c.name} for c in cats],
                "items": [item_view(i) for i in items], "bundles": [bundle_view(b) for b in bundles],
                "queues": [{**queue_view(q), "wait_place": places.get(q.id, [])} for q in queues],
                "hall_address": hall.address}


@operation("/halls/<int:hall_id>/snapshot", "GET", roles=STAFF + ("screen", "kiosk"),
           summary="Read the hall's live state", response=S.SnapshotOut, tags=("halls",))
def get_hall_snapshot(hall_id: int):
    with runtime().db.read() as s:
        return hall_snapshot(s, get_hall(s, hall_id), now=now())


@operation("/halls/<int:hall_id>/windows", "GET", roles=STAFF + ("screen",), summary="List the hall's windows",
           response=S.ListOut, tags=("windows",))
def list_windows(hall_id: int):
    with runtime().db.read() as s:
        hall = get_hall(s, hall_id)
        ws = list(s.scalars(select(Window).where(Window.hall_id == hall.id).order_by(Window.number)))
        by_id = {w.id: w for w in ws}
        return {"items": [window_full_view(s, w, by_id) for w in ws]}


@operation("/halls/<int:hall_id>/audit", "GET", roles=MANAGERS, summary="Read the audit log", response=S.ListOut,
           tags=("halls",))
def hall_audit(hall_id: int):
    with runtime().db.read() as s:
        hall = get_hall(s, hall_id)
        rows = s.scalars(select(AuditEvent).where(AuditEvent.hall_id == hall.id)
                         .order_by(AuditEvent.id.desc()).limit(500))
        return {"items": [{"id": a.id, "at": iso(a.at), "actor_kind": a.actor_kind, "actor_id": a.actor_id,
                           "action": a.action, "ticket_id": a.ticket_id, "window_id": a.window_id,
                           "detail": a.detail} for a in rows]}


@operation("/halls/<int:hall_id>/alerts", "GET", roles=STAFF, summary="List open alerts", response=S.ListOut,
           tags=("halls",))
def hall_alerts(hall_id: int):
    with runtime().db.read() as s:
        hall = get_hall(s, hall_id)
        rows = s.scalars(select(Alert).where(Alert.hall_id == hall.id, Alert.cleared_at.is_(None))
                         .order_by(Alert.id.desc()))
        return {"items": [{"id": a.id, "kind": a.kind, "window_id": a.window_id, "message": a.message,
                           "raised_at": iso(a.raised_at)} for a in rows]}


# ---------------------------------------------------------------- tickets

@operation("/halls/<int:hall_id>/tickets", "POST", roles=("kiosk",) + MANAGERS, summary="Issue a ticket",
           body=S.IssueIn, response=S.IssuedOut, status=201, tags=("tickets",),
           headers=replays.IDEMPOTENCY)
def issue(hall_id: int, body: S.IssueIn):
    key = replays.header_key()  # its replay is the ticket itself (ticketing.issue_ticket)

    def do(s: Session, replay_ahead: bool = True):
        hall = get_hall_settings(s, hall_id)
        req = ticketing.IssueRequest(item_ids=list(body.item_ids), bundle_id=body.bundle_id,
                                     priority_class=body.priority_class, green_reason=body.green_reason,
                                     name=body.name, id_number=body.id_number, phone=body.phone,
                                     idempotency_key=key)
        issued, events = appointments.issue_walk_in(s, hall, req, now=now(), vault=runtime().vault, actor=g.actor,
                                                    range_after_commit=True, replay_ahead=replay_ahead)
        return issued, events
    try:
        issued = write(do, grouped=True, issues_only=True)
    except ticketing.ReplayedLate:  # a kiosk's retry, found late (PostgreSQL): undone, and again with the look first
        issued = write(lambda s: do(s, replay_ahead=False), grouped=True, issues_only=True)
    # The wait range (issue 17) is read after commit, outside the writer lock, or taken from the queue's kept reads.
    ticketing.fill_wait_range_after_commit(runtime().db, issued)
    return issued.view(), 200 if issued.replayed else 201


@operation("/tickets/<int:ticket_id>", "GET", roles=STAFF + ("kiosk",), summary="Read a ticket",
           response=S.TicketOut, tags=("tickets",))
def get_ticket(ticket_id: int):
    with runtime().db.read() as s:
        t = get_row(s, Ticket, ticket_id, "ticket")
        return ticket_view(t)


@operation("/follow/<code>", "GET", roles=("public",), summary="Follow a ticket by the code on its QR",
           response=S.FollowOut, tags=("tickets",))
def follow(code: str):
    with runtime().db.read() as s:
        t = get_followed_ticket(s, code)
        return follow_view(s, t, now=now())


@operation("/follow/<code>/cancel", "POST", roles=("public",),
           summary="Give up my place: whoever holds the slip's QR cancels the waiting ticket", response=S.TicketOut,
           tags=("tickets",))
def follow_cancel(code: str):
    def do(s: Session):
        t = get_followed_ticket(s, code)
        t = newest_leg(s, t)
        # The follow code is the slip's secret: holding it is what lets a visitor leave the line.
        events = ticketing.cancel_ticket(s, t, now=now(), actor=Actor(kind="visitor", hall_id=t.hall_id))
        return ticket_view(t), events
    return write(do)


def _ticket_action(endpoint: str, service: Callable[..., list[DomainEvent]]) -> Callable[[int], Any]:
    """A view that has ``service`` act on one ticket as the signed-in actor, then answers the ticket."""
    def act(ticket_id: int):
        def do(s: Session):
            t = get_row(s, Ticket, ticket_id, "ticket")
            events = service(s, t, now=now(), actor=g.actor)
            return ticket_view(t), events
        return write(do)
    act.__name__ = endpoint
    return act


for _verb, _roles, _tag, _summary, _service in (
        ("cancel", ("kiosk",) + MANAGERS, "tickets", "Cancel a waiting ticket", ticketing.cancel_ticket),
        ("recall", STAFF, "calling", "Recall the ticket in hand", calling.recall),
        ("no-show", STAFF, "calling", "Mark the called ticket no-show", calling.mark_no_show),
        ("requeue", STAFF, "calling", "Re-queue a late visitor's ticket", calling.requeue_late),
        ("start", STAFF, "calling", "Start serving the called ticket", calling.start)):
    operation(f"/tickets/<int:ticket_id>/{_verb}", "POST", roles=_roles, summary=_summary, response=S.TicketOut,
              tags=(_tag,))(_ticket_action(_verb.replace("-", "_"), _service))


def _finish_detail(body: S.FinishIn) -> dict[str, Any]:
    detail: dict[str, Any] = {}
    if body.missing_materials:
        detail["missing_materials"] = list(body.missing_materials)
    if body.deferred_materials:
        detail["deferred_materials"] = [{"name": d.name, "due_date": d.due_date.isoformat(), "promise": d.promise}
                                        for d in body.deferred_materials]
    if body.decisions:
        detail["decisions"] = [d.model_dump() for d in body.decisions]
    if body.special_procedures:
        detail["special_procedures"] = [p.model_dump() for p in body.special_procedures]
    if body.intermediary_service:
        detail["intermediary_service"] = body.intermediary_service
    return detail


@operation("/tickets/<int:ticket_id>/finish", "POST", roles=STAFF, summary="Finish the ticket with an outcome",
           body=S.FinishIn, response=S.TicketOut, tags=("calling",))
def finish(ticket_id: int, body: S.FinishIn):
    detail = _finish_detail(body)
    vault = runtime().vault

    def do(s: Session):
        t = get_row(s, Ticket, ticket_id, "ticket", load=calling.load_ticket)
        events = calling.finish(s, t, outcome=body.outcome, note=body.note, detail=detail, now=now(), actor=g.actor,
                                vault=vault, row_locked=True)
        return {**ticket_view(t), "cases": cases_of_ticket(s, t.id)}, events
    return write(do, grouped=True)


@operation("/tickets/<int:ticket_id>/transfer", "POST", roles=STAFF, summary="Transfer the ticket in hand",
           body=S.TransferIn, response=S.TicketOut, tags=("calling",))
def transfer(ticket_id: int, body: S.TransferIn):
    def do(s: Session):
        t = get_row(s, Ticket, ticket_id, "ticket")
        to_window = get_row(s, Window, body.window_id, "window") if body.window_id is not None else None
        to_queue = get_row(s, Queue, body.queue_id, "queue") if body.queue_id is not None else None
        nxt, events = calling.transfer(s, t, to_window=to_window, to_queue=to_queue, note=body.note, now=now(),
                                       actor=g.actor)
        return ticket_view(nxt), events
    return write(do)


# ---------------------------------------------------------------- windows

@operation("/windows/<int:window_id>", "GET", roles=STAFF + ("screen", "pad"), summary="Read a window's state",
           response=S.WindowOut, tags=("windows",))
def get_window(window_id: int):
    window_device_guard(window_id)
    with runtime().db.read() as s:
        w = get_row(s, Window, window_id, "window")
        snap = window_snapshot(s, w, now=now())
        return {**snap["window"], "hall": snap["hall"]}


def _window_action(window_id: int, fn: Callable[[Session, Window], list[DomainEvent]]):
    def do(s: Session):
        w = get_row(s, Window, window_id, "window")
        events = fn(s, w)
        s.flush()
        return window_full_view(s, w), events
    return write(do)


@operation("/windows/<int:window_id>/sign-in", "POST", roles=STAFF, summary="Sign in at a window",
           response=S.WindowOut, tags=("windows",))
def sign_in(window_id: int):
    def fn(s: Session, w: Window):
        staff = s.get(Staff, g.actor.id)
        return posts.sign_in(s, w, staff, now=now(), actor=g.actor)
    return _window_action(window_id, fn)


@operation("/windows/<int:window_id>/sign-out", "POST", roles=STAFF, summary="Sign out of a window",
           response=S.WindowOut, tags=("windows",))
def sign_out(window_id: int):
    return _window_action(window_id, lambda s, w: posts.sign_out(s, w, now=now(), actor=g.actor))


@operation("/windows/<int:window_id>/pause", "POST", roles=STAFF, summary="Pause service with a reason",
           body=S.PauseIn, response=S.WindowOut, tags=("windows",))
def pause(window_id: int, body: S.PauseIn):
    return _window_action(window_id, lambda s, w: posts.pause(s, w, reason=body.reason, now=now(), actor=g.actor))


@operation("/windows/<int:window_id>/resume", "POST", roles=STAFF, summary="Resume service",
           response=S.WindowOut, tags=("windows",))
def resume(window_id: int):
    return _window_action(window_id, lambda s, w: posts.resume(s, w, now=now(), actor=g.actor))


@operation("/windows/<int:window_id>/open", "POST", roles=MANAGERS, summary="Open a window",
           response=S.WindowOut, tags=("windows",))
def open_window(window_id: int):
    return _window_action(window_id, lambda s, w: posts.set_open(s, w, True, now=now(), actor=g.actor))


@operation("/windows/<int:window_id>/close", "POST", roles=MANAGERS, summary="Close a window",
           response=S.WindowOut, tags=("windows",))
def close_window(window_id: int):
    return _window_action(window_id, lambda s, w: posts.set_open(s, w, False, now=now(), actor=g.actor))


@operation("/windows/<int:window_id>/cover", "POST", roles=MANAGERS, summary="Force another window to cover this post",
           body=S.CoverIn, response=S.WindowOut, tags=("windows",))
def cover(window_id: int, body: S.CoverIn):
    def fn(s: Session, w: Window):
        by = get_row(s, Window, body.by_window_id, "window")
        return posts.force_cover(s, w, by, now=now(), actor=g.actor)
    return _window_action(window_id, fn)


@operation("/windows/<int:window_id>/config", "PUT", roles=MANAGERS, summary="Configure a window",
           body=S.WindowConfigIn, response=S.WindowOut, tags=("windows",))
def configure(window_id: int, body: S.WindowConfigIn):
    rules = [r.model_dump(exclude_none=True) for r in body.call_rules] if body.call_rules is not None else None
    queues = [q.model_dump() for q in body.queues] if body.queues is not None else None
    return _window_action(window_id, lambda s, w: posts.configure_window(
        s, w, queues=queues, call_rules=rules, kind=body.kind, a_clerk_id=body.a_clerk_id,
        b_clerk_id=body.b_clerk_id, now=now(), actor=g.actor))


@operation("/windows/<int:window_id>/call-next", "POST", roles=STAFF, summary="Call the next ticket",
           response=S.CallOut, tags=("calling",))
def call_next(window_id: int):
    def do(s: Session):
        called, events = calling.claim_next(s, window_id, now=now(), actor=g.actor)
        if called is None:
            return {"ticket": None, "reason": "no ticket waiting"}, []
        return called.answer(), events
    return write(do, grouped=True)


@operation("/windows/<int:window_id>/call/<int:ticket_id>", "POST", roles=STAFF,
           summary="Call one chosen waiting ticket (指定呼叫)", response=S.CallOut, tags=("calling",))
def call_ticket(window_id: int, ticket_id: int):
    def do(s: Session):
        called, events = calling.call_ticket(s, window_id, ticket_id, now=now(), actor=g.actor)
        return called.answer(), events
    return write(do)


@operation("/windows/<int:window_id>/finish-and-call-next", "POST", roles=STAFF,
           summary="Finish the ticket in hand and call the next", body=S.FinishAndCallIn, response=S.FinishAndCallOut,
           tags=("calling",))
def finish_and_call_next(window_id: int, body: S.FinishAndCallIn):
    """下一位 with a ticket in hand: one request, one transaction (a repeated press is refused, 409)."""
    detail = _finish_detail(body)

    vault = runtime().vault

    def do(s: Session):
        t = get_row(s, Ticket, body.ticket_id, "ticket",
                    load=lambda s_, i: calling.load_ticket_for_next(s_, i, window_id=window_id))
        finished, called, events = calling.finish_and_call_next(
            s, window_id, t, outcome=body.outcome, note=body.note, detail=detail, now=now(), actor=g.actor,
            vault=vault, row_locked=True)
        answer = called.answer() if called is not None else {"ticket": None, "reason": "no ticket waiting"}
        return {**answer, "finished": {**finished, "cases": cases_of_ticket(s, t.id)}}, events
    return write(do, grouped=True)
