"""SMS to the applicant about a case, through the notifier outbox (each message once, by its dedup key)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from hall_queue.cases.progress import handover_windows
from hall_queue.domain.events import DomainEvent
from hall_queue.domain.models import Case, Hall


def result_ready_text(session: Session, case: Case) -> str:
    hall = session.get(Hall, case.hall_id)
    where = handover_windows(session, hall.id)
    return (f"【{hall.name}】您申请的“{case.title}”（受理号{case.acceptance_no}）已办理完毕，"
            f"请携带身份证件和受理通知书到{where}领取结果。")


def notify_result_ready(session: Session, case_id: int, notifier: Any, *, now: datetime) -> bool:
    """Queue the 'result ready' SMS (000 §8.3-style reminder; 001 §7.3); False when no phone was left."""
    case = session.get(Case, case_id)
    if case is None or not case.phone_cipher:
        return False
    notifier.send(session, hall_id=case.hall_id, phone_cipher_or_phone=case.phone_cipher, kind="case_ready",
                  text=result_ready_text(session, case), dedup_key=f"case-ready:{case.id}", now=now)
    return True


def on_result_ready(event: DomainEvent, rt: Any) -> None:
    """Handler (bootstrap.EVENT_HANDLERS): after commit, queue the applicant's SMS."""
    case_id = event.payload.get("case_id")
    if isinstance(case_id, int):
        rt.db.run_write(lambda s: notify_result_ready(s, case_id, rt.notifier, now=rt.clock.now()))
