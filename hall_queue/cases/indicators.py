"""The case indicators of 000 §12.3.4 (办事效率) and 002 §11.3.4, each with the definition shown beside it.

A period is a range of the hall's service days ``from``–``to`` (inclusive), as in the hall statistics: a
case accepted after midnight but before the day boundary (03:00 in the demo) belongs to the day before, with
the tickets of that visit. "Matter cases" are the cases of
single matters: a case of its own or an item of a 一件事 (the bundle's parent only groups them).

* 当场受理率 — matters accepted at the window (受理, 即办, 容缺) ÷ matters the window decided on (those plus
  不予受理 and the items sent home with a one-time notice), by the day of the visit.
* 按时办结率 — matter cases decided in the period on or before their promised date (clock stops excluded)
  ÷ matter cases decided in the period.
* 即办件比率 — matter cases accepted in the period with a promised term of 0 working days (即办件) ÷ matter
  cases accepted in the period.
* 容缺补正按时率 — 容缺 materials due in the period (up to today) supplied by their deadline ÷ those due.
* 平均办理用时 — working days from acceptance to decision, net of days the clock stood still, averaged over
  matter cases decided in the period.
* 超期未办结 — running matter cases past their promised date now, per department.
* 人均跑动次数 — hall trips per application (acceptance, supplements brought in person, pickup; courier and
  e-delivery add none) over applications concluded in the period (result handed over, or refused);
  一次办成率 — the share of those concluded in one trip.

A ratio with an empty denominator is null, never 0.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hall_queue.cases import clock
from hall_queue.cases.duties import overdue_by_department
from hall_queue.domain import calendar
from hall_queue.domain.models import Case, DeferredMaterial, Hall, Ticket, TicketItem
from hall_queue.infrastructure import hall_store

DEFINITIONS = {
    "on_the_spot_acceptance_rate": ("当场受理率", "当场受理（含即办、容缺受理）的事项数 ÷ 窗口作出受理与否决定的事项数（另含一次性告知、不予受理）"),
    "on_time_rate": ("按时办结率", "期内作出决定且未超过承诺办结日期（补正、特别程序、挂起期间不计）的办件数 ÷ 期内作出决定的办件数"),
    "immediate_rate": ("即办件比率", "期内受理的即办件（承诺时限0个工作日）数 ÷ 期内受理的办件数"),
    "deferred_on_time_rate": ("容缺补正按时率", "期内到期的容缺材料中在期限内补齐的数量 ÷ 期内到期的容缺材料数量"),
    "mean_working_days_to_decision": ("平均办理用时（工作日）", "从受理到作出决定的工作日数（扣除计时暂停的工作日）的平均值"),
    "overdue_by_department": ("超期未办结（按部门）", "当前计时中且已超过承诺办结日期的办件，按承办部门列出"),
    "visits_per_case": ("人均跑动次数", "期内办结（结果送达或不予受理）的申请，申请人到大厅的次数（受理、现场补正、领取；邮寄不计）的平均值"),
    "one_trip_rate": ("一次办成率", "期内办结的申请中只到大厅一次的比例"),
}


def _ratio(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def compute(session: Session, hall: Hall, first: date, last: date, *, now: datetime) -> dict[str, Any]:
    """The indicators of ``hall`` over service days ``first``..``last``, each with its label and definition."""
    lo, hi = calendar.service_days_span(hall, first, last)
    today = clock.local_day(hall, now)
    lookup = hall_store.calendar_lookup(session, hall.id)
    day = lambda at: calendar.local_time(hall, at).date()  # noqa: E731
    matters = session.scalars(select(Case).where(Case.hall_id == hall.id).where(
        (Case.parent_id.is_not(None)) | (Case.bundle_id.is_(None)))).all()
    opened = [c for c in matters if lo <= c.accepted_at < hi]
    accepted = [c for c in opened if c.outcome != "refused"]
    notices = len(session.execute(select(TicketItem.item_id).join(Ticket, Ticket.id == TicketItem.ticket_id).where(
        Ticket.hall_id == hall.id, Ticket.outcome == "notice", Ticket.finished_at >= lo,
        Ticket.finished_at < hi)).all())
    decided = [c for c in matters if c.decided_at is not None and lo <= c.decided_at < hi]
    on_time = [c for c in decided if day(c.decided_at) <= c.due_on]
    days = [max(0, calendar.working_days_between(day(c.accepted_at), day(c.decided_at), lookup)
                - c.stopped_working_days) for c in decided]
    mats = session.scalars(select(DeferredMaterial).where(DeferredMaterial.hall_id == hall.id,
                                                          DeferredMaterial.due_on >= first,
                                                          DeferredMaterial.due_on <= min(last, today))).all()
    mats_on_time = [m for m in mats if m.supplied_at is not None and day(m.supplied_at) <= m.due_on]
    tops = session.scalars(select(Case).where(Case.hall_id == hall.id, Case.parent_id.is_(None))).all()
    concluded = []
    for t in tops:
        end = t.handed_over_at or (t.accepted_at if t.state in ("refused", "terminated") else None)
        if end is not None and lo <= end < hi:
            trips = t.visits + sum(max(k.visits - 1, 0) for k in t.children)
            concluded.append(trips)
    values = {
        "on_the_spot_acceptance_rate": _ratio(len(accepted), len(opened) + notices),
        "on_time_rate": _ratio(len(on_time), len(decided)),
        "immediate_rate": _ratio(sum(1 for c in accepted if c.promised_days == 0), len(accepted)),
        "deferred_on_time_rate": _ratio(len(mats_on_time), len(mats)),
        "mean_working_days_to_decision": round(sum(days) / len(days), 2) if days else None,
        "overdue_by_department": [{"department": d["department"], "count": len(d["cases"]), "cases": d["cases"]}
                                  for d in overdue_by_department(session, hall, now=now)],
        "visits_per_case": round(sum(concluded) / len(concluded), 2) if concluded else None,
        "one_trip_rate": _ratio(sum(1 for v in concluded if v == 1), len(concluded)),
    }
    counts = {"matters_decided_at_window": len(opened) + notices, "accepted": len(accepted), "decided": len(decided),
              "decided_on_time": len(on_time), "deferred_materials_due": len(mats),
              "applications_concluded": len(concluded)}
    return {"from": first.isoformat(), "to": last.isoformat(), "counts": counts,
            "indicators": [{"key": k, "label": DEFINITIONS[k][0], "definition": DEFINITIONS[k][1], "value": v}
                           for k, v in values.items()]}


def csv_rows(result: dict[str, Any]) -> list[list[Any]]:
    """The indicators as spreadsheet rows: label, value, definition (overdue cases one row per department)."""
    rows: list[list[Any]] = [["指标", "数值", "口径说明"]]
    for ind in result["indicators"]:
        if ind["key"] == "overdue_by_department":
            rows.append([ind["label"], sum(d["count"] for d in ind["value"]), ind["definition"]])
            rows += [[f"  {d['department']}", d["count"], ""] for d in ind["value"]]
        else:
            rows.append([ind["label"], "" if ind["value"] is None else ind["value"], ind["definition"]])
    return rows
