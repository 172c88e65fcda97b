"""What a slip says, as plain data: the printer never sees a database row (DESIGN: devices imports nothing of ours)."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class SlipMaterial:
    """One required material of the one-time notice (一次性告知): its name, original or copy, how many."""

    name: str
    original: bool
    count: int = 1


@dataclass(frozen=True)
class TicketSlip:
    """The queue ticket (排队凭条) a kiosk prints for a walk-in visitor."""

    hall_name: str
    number: str
    queue_name: str
    matter: str  # service item or bundle (一件事) name
    people_ahead: int
    estimated_wait_minutes: int | None
    issued_at: str
    materials: list[SlipMaterial] = field(default_factory=list)
    masked_identity: str | None = None
    follow_url: str | None = None
    priority_label: str | None = None
    # Where to wait, e.g. "请到A区 1–6号窗口等候" (the windows' configured areas).
    wait_place: str | None = None
    paper_mm: int = 80
    # The server's wording of the wait as a range ("约 8–15 分钟"); printed instead of the single figure.
    wait_text: str | None = None


@dataclass(frozen=True)
class NoticeSlip:
    """The one-time notice (一次性告知书) a clerk prints when materials are missing."""

    hall_name: str
    matter: str
    missing: list[SlipMaterial]
    deadline_text: str  # e.g. "请于 2025年1月13日 前补齐材料后到任一综合窗口办理"
    window: str
    clerk_number: str
    issued_on: str
    ticket_number: str | None = None
    masked_identity: str | None = None
    remarks: str | None = None
    paper_mm: int = 80


@dataclass(frozen=True)
class CheckinSlip:
    """The slip a kiosk prints when a visitor checks in for an appointment (预约签到)."""

    hall_name: str
    number: str
    queue_name: str
    matter: str
    appointment_slot: str  # e.g. "2025-01-06 09:30-10:00"
    checked_in_at: str
    booking_reference: str
    people_ahead: int | None = None
    window_hint: str | None = None
    masked_identity: str | None = None
    follow_url: str | None = None
    paper_mm: int = 80


@dataclass(frozen=True)
class ReceiptSlip:
    """The short acceptance receipt (受理单) a window prints when a case is accepted (002 §8.2.2).

    ``lines`` are (label, value) pairs already masked by the caller (the layout masks any full ID left).
    """

    hall_name: str
    title: str  # e.g. "受理单"
    number: str  # the paper's number
    lines: list[tuple[str, str]]
    progress_url: str | None = None
    footer: str = "凭本单和身份证件领取办理结果"
    paper_mm: int = 80
