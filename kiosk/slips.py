"""Turn an issued ticket (an API answer) into the slip the printer lays out: plain data only."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

from devices.printer import CheckinSlip, SlipMaterial, TicketSlip

from hall_queue.domain.vocabulary import GREEN_REASON_LABELS

GREEN_LABELS = {reason: f"绿色通道·{label}" for reason, label in GREEN_REASON_LABELS.items()}


def local_time_text(iso_utc: str | None, tz: str) -> str:
    """Format an API timestamp (``2026-03-02T02:00:00Z``) as the hall's wall time."""
    if not iso_utc:
        return ""
    try:
        dt = datetime.fromisoformat(iso_utc.replace("Z", "+00:00"))
    except ValueError:
        return iso_utc
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


def slip_materials(materials: list[dict[str, Any]]) -> list[SlipMaterial]:
    """Keep the required materials of the one-time notice (000 §6.9) for the slip."""
    out = []
    for m in materials or []:
        if not m.get("required", True):
            continue
        out.append(SlipMaterial(name=str(m.get("name", "")), original=m.get("form", "copy") != "copy",
                                count=int(m.get("count", 1) or 1)))
    return out


def masked_identity(ticket: dict[str, Any]) -> str | None:
    parts = [p for p in (ticket.get("masked_name"), ticket.get("masked_id")) if p]
    return " ".join(parts) or None


def ticket_slip(ticket: dict[str, Any], *, hall: dict[str, Any], queue_name: str, matter: str,
                materials: list[dict[str, Any]], follow_url: str | None, wait_place: str | None = None) -> TicketSlip:
    """Build the queue ticket for an issued ticket (the API's ``IssuedOut``)."""
    wait_s = ticket.get("estimated_wait_s")
    label = GREEN_LABELS.get(ticket.get("green_reason") or "") if ticket.get("priority_class") == "green" else None
    if ticket.get("priority_class") == "appointment":
        label = "预约优先"
    return TicketSlip(hall_name=hall.get("name", ""), number=ticket["number"], queue_name=queue_name, matter=matter,
                      people_ahead=int(ticket.get("people_ahead") or 0),
                      estimated_wait_minutes=None if wait_s is None else max(0, round(int(wait_s) / 60)),
                      issued_at=local_time_text(ticket.get("issued_at"), hall.get("timezone", "Asia/Shanghai")),
                      materials=slip_materials(materials), masked_identity=masked_identity(ticket),
                      follow_url=follow_url, priority_label=label, wait_place=wait_place,
                      wait_text=ticket.get("wait_text"))


def checkin_slip(ticket: dict[str, Any], booking: dict[str, Any], *, hall: dict[str, Any], queue_name: str,
                 matter: str, follow_url: str | None, wait_place: list[dict[str, Any]] | None = None) -> CheckinSlip:
    """Build the check-in slip for an appointment ticket."""
    tz = hall.get("timezone", "Asia/Shanghai")
    start = booking.get("slot_start") or ticket.get("slot_start")
    end = booking.get("slot_end")
    slot = local_time_text(start, tz)
    if end:
        slot += "-" + local_time_text(end, tz)[-5:]
    return CheckinSlip(hall_name=hall.get("name", ""), number=ticket["number"], queue_name=queue_name, matter=matter,
                       appointment_slot=slot, checked_in_at=local_time_text(ticket.get("issued_at"), tz),
                       booking_reference=str(booking.get("code") or booking.get("reference") or booking.get("id") or ""),
                       people_ahead=ticket.get("people_ahead"), masked_identity=masked_identity(ticket),
                       follow_url=follow_url, window_hint=wait_windows_text(wait_place))


# Where to wait, from the catalogue's wait_place (hall_queue.queueing.wait_places).
def number_ranges(numbers: list[int]) -> str:
    """Return window numbers as ranges: [1, 2, 3, 4, 5, 6, 9] → "1–6、9"."""
    parts: list[str] = []
    ns = sorted(set(numbers))
    i = 0
    while i < len(ns):
        j = i
        while j + 1 < len(ns) and ns[j + 1] == ns[j] + 1:
            j += 1
        parts.append(str(ns[i]) if i == j else f"{ns[i]}–{ns[j]}")
        i = j + 1
    return "、".join(parts)


def wait_windows_text(places: list[dict[str, Any]] | None) -> str | None:
    """Return "A区 1–6号窗口" (the check-in slip's 办理窗口), or None when nothing is known."""
    if not places:
        return None
    return "、".join(f"{p['area']} " * bool(p.get("area")) + f"{number_ranges(p['windows'])}号窗口" for p in places)


def wait_place_text(places: list[dict[str, Any]] | None) -> str | None:
    """Return "请到A区 1–6号窗口等候" for the ticket slip (printed in Chinese), or None when nothing is known."""
    where = wait_windows_text(places)
    return f"请到{where}等候" if where else None
