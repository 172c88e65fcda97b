"""What the operators' monitoring reads of the floor: tickets per hall and queue, open alerts, kiosk devices, outbox.

Plain reads over a session at ``now`` (naive UTC), returned as named figures with labels; the
Prometheus exposition (``infrastructure.metrics``) and its web route (``entrypoints.monitoring``)
turn them into ``/metrics``. Labels name halls by their code and queues by their prefix, never a
visitor: no name, ID number or phone number reaches a figure.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from hall_queue.domain.calendar import service_day
from hall_queue.domain.models import (
    AccessToken,
    Alert,
    DeviceStatus,
    Hall,
    Notification,
    Queue,
    Ticket,
    WebhookDelivery,
)
from hall_queue.domain.vocabulary import DEVICE_STATES, OUTBOX_CHANNELS


@dataclass(frozen=True)
class Figure:
    name: str
    help: str
    value: float
    labels: dict[str, str] = field(default_factory=dict)


def floor_figures(session: Session, now: datetime) -> list[Figure]:
    """Every floor figure at ``now``: one list, read in one session."""
    halls = session.scalars(select(Hall).order_by(Hall.id)).all()
    return (_tickets(session, halls, now) + _alerts(session, halls) + _devices(session, halls, now)
            + _outbox(session, halls))


def _tickets(session: Session, halls: list[Hall], now: datetime) -> list[Figure]:
    out: list[Figure] = []
    for hall in halls:
        day = service_day(hall, now)
        rows = session.execute(
            select(Queue.prefix,
                   func.count(Ticket.id).filter(Ticket.leg == 0),
                   func.count(Ticket.id).filter(Ticket.called_at.is_not(None)),
                   func.count(Ticket.id).filter(Ticket.status == "waiting"))
            .select_from(Queue)
            .outerjoin(Ticket, and_(Ticket.queue_id == Queue.id, Ticket.service_day == day))
            .where(Queue.hall_id == hall.id).group_by(Queue.prefix).order_by(Queue.prefix)).all()
        for prefix, issued, called, waiting in rows:
            labels = {"hall": hall.code, "queue": prefix}
            out += [Figure("onevisit_tickets_issued_today", "Tickets issued today (service day) per hall and queue",
                           issued, labels),
                    Figure("onevisit_tickets_called_today", "Tickets called at least once today per hall and queue",
                           called, labels),
                    Figure("onevisit_tickets_waiting", "Tickets waiting now per hall and queue", waiting, labels)]
    return out


def _alerts(session: Session, halls: list[Hall]) -> list[Figure]:
    codes = {h.id: h.code for h in halls}
    rows = session.execute(select(Alert.hall_id, Alert.kind, func.count()).where(Alert.cleared_at.is_(None))
                           .group_by(Alert.hall_id, Alert.kind)).all()
    out = [Figure("onevisit_alerts_open", "Alerts not yet cleared per hall and kind", 0, {"hall": h.code, "kind": "any"})
           for h in halls if not any(r[0] == h.id for r in rows)]
    return out + [Figure("onevisit_alerts_open", "Alerts not yet cleared per hall and kind", n,
                         {"hall": codes.get(hall_id, str(hall_id)), "kind": kind}) for hall_id, kind, n in rows]


def _devices(session: Session, halls: list[Hall], now: datetime) -> list[Figure]:
    codes = {h.id: h.code for h in halls}
    rows = session.execute(select(DeviceStatus, AccessToken.name).join(AccessToken, AccessToken.id == DeviceStatus.token_id)
                           .where(AccessToken.revoked_at.is_(None)).order_by(DeviceStatus.id)).all()
    out: list[Figure] = []
    for status, name in rows:
        labels = {"hall": codes.get(status.hall_id, str(status.hall_id)), "kiosk": name or f"kiosk-{status.token_id}",
                  "device": status.device}
        out += [Figure("onevisit_kiosk_device_state", "Last reported state of a kiosk device (1 for the current state)",
                       1.0 if status.state == state else 0.0, {**labels, "state": state}) for state in DEVICE_STATES]
        out.append(Figure("onevisit_kiosk_device_report_age_seconds", "Seconds since the kiosk last reported the device",
                          max(0.0, (now - status.updated_at).total_seconds()), labels))
    return out


def _outbox(session: Session, halls: list[Hall]) -> list[Figure]:
    """Outbox messages not yet sent (pending, sending) or given up (failed), per hall and channel."""
    codes = {h.id: h.code for h in halls}
    rows = {(hall_id, status): n for hall_id, status, n in session.execute(
        select(Notification.hall_id, Notification.status, func.count()).where(Notification.status != "sent")
        .group_by(Notification.hall_id, Notification.status))}
    out = [Figure("onevisit_outbox_messages", "Outgoing messages not sent, per hall, channel and status",
                  rows.get((hall_id, status), 0), {"hall": code, "channel": "sms", "status": status})
           for hall_id, code in codes.items() for status in ("pending", "sending", "failed")]
    # Signed messages to other systems: case events (the approval system) and the provincial 好差评 platform.
    signed = {(hall_id, channel, status): n for hall_id, channel, status, n in session.execute(
        select(WebhookDelivery.hall_id, WebhookDelivery.channel, WebhookDelivery.status, func.count())
        .where(WebhookDelivery.status != "delivered")
        .group_by(WebhookDelivery.hall_id, WebhookDelivery.channel, WebhookDelivery.status))}
    out += [Figure("onevisit_outbox_messages", "Outgoing messages not sent, per hall, channel and status",
                   signed.get((hall_id, channel, status), 0), {"hall": code, "channel": channel, "status": status})
            for hall_id, code in codes.items() for channel in OUTBOX_CHANNELS for status in ("pending", "failed")]
    return out
