"""Kiosk device health: a reader, printer or camera that fails raises one device_fault alert; recovery clears it.

Reported by the kiosk agent (its ``_report_device``); managers see the alert on the floor dashboard
(004 §7.3 设备运维).
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from hall_queue.access import audit
from hall_queue.access.audit import Actor
from hall_queue.domain.events import AlertCleared, AlertRaised, DomainEvent
from hall_queue.domain.models import AccessToken, Alert, DeviceStatus, Hall
from hall_queue.queueing.presenters import iso

DEVICE_LABELS = {"idcard": "身份证阅读器", "printer": "小票打印机", "scanner": "高拍仪"}
REASON_LABELS = {"paper_out": "缺纸", "paper_near_end": "纸将用尽", "cover_open": "纸仓盖未关",
                 "offline": "离线", "no_answer": "无响应", "printer_error": "故障", "printer_unavailable": "无法连接",
                 "printer_no_answer": "无响应", "printer_offline": "离线", "printer_io": "通信故障",
                 "port": "无法连接", "sam_fault": "模块故障", "frame_timeout": "无画面"}


# ---------------------------------------------------------------- schemas


def report_device_health(session: Session, hall: Hall, token: AccessToken, *, device: str, state: str,
                         reason: str | None, now, actor: Actor) -> tuple[DeviceStatus, list[DomainEvent]]:
    """Record a kiosk device's health; a fault raises one device_fault alert, recovery clears it."""
    status = session.scalar(select(DeviceStatus).where(DeviceStatus.token_id == token.id,
                                                       DeviceStatus.device == device))
    if status is None:
        status = DeviceStatus(hall_id=hall.id, token_id=token.id, device=device, state=state, updated_at=now)
        session.add(status)
    previous = status.state if status.id is not None else None
    status.state, status.reason, status.updated_at = state, reason, now
    alert = session.get(Alert, status.alert_id) if status.alert_id else None
    if alert is not None and alert.cleared_at is not None:
        alert = None
    events: list[DomainEvent] = []
    if state == "online":
        if alert is not None:
            alert.cleared_at = now
            status.alert_id = None
            audit.record(session, actor=actor, action="device.recovered", at=now, hall_id=hall.id, device=device)
            events.append(AlertCleared(hall.id, {"id": alert.id, "kind": alert.kind, "subject": alert.subject,
                                                 "cleared_at": iso(now)}))
        session.flush()
        return status, events
    kiosk = token.name or f"取号机{token.id}"
    what = REASON_LABELS.get(reason or "", reason or ("离线" if state == "offline" else "故障"))
    message = f"{kiosk}：{DEVICE_LABELS[device]}{what}"
    if alert is None:
        alert = Alert(hall_id=hall.id, kind="device_fault", subject=f"kiosk:{token.id}:{device}"[:100],
                      message=message[:500], raised_at=now)
        session.add(alert)
        session.flush()
        status.alert_id = alert.id
        audit.record(session, actor=actor, action="device.fault", at=now, hall_id=hall.id, device=device,
                     state=state, reason=reason)
    elif alert.message != message or previous != state:
        alert.message = message[:500]
    else:
        session.flush()
        return status, events
    session.flush()
    events.append(AlertRaised(hall.id, {"id": alert.id, "kind": "device_fault", "window_id": None,
                                        "subject": alert.subject, "message": alert.message,
                                        "raised_at": iso(alert.raised_at), "device": device, "state": state,
                                        "reason": reason}))
    return status, events
