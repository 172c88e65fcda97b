"""The hall's data: SQLAlchemy 2 typed declarative models. Every row belongs to a ``Hall``.

All datetimes are naive UTC (see ``clock.py``). Columns used to order calls are NOT NULL so the
calling order never depends on how a database sorts NULLs.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Optional

from sqlalchemy import (JSON, Boolean, Date, DateTime, Float, ForeignKey, Index, Integer, String,
                        Text, UniqueConstraint)
from sqlalchemy import false as sa_false
from sqlalchemy import text as sql_text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from hall_queue.domain.vocabulary import (  # noqa: F401 - re-exported for the models' readers
    NO_SHOW_MIN_S,
    TICKET_STATUSES, OPEN_STATUSES, IN_HAND_STATUSES, WINDOW_KINDS, OUTCOMES, PRIORITY_CLASSES, GREEN_REASONS, SOURCES, ROLES,
    LOGIN_OUTCOMES, RATING_SCORES, RECTIFICATION_STATUSES, COMPLAINT_STATUSES, COMPLAINT_CHANNELS, COMPLAINT_KINDS, APPOINTMENT_STATUSES, ACTIVE_APPOINTMENT_STATUSES,
    DEFAULT_ACCEPTANCE_FORMAT, DUE_SOON_WORKING_DAYS, RECTIFY_WORKING_DAYS, CALLBACK_RATE_PCT,
)



class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class Hall(Base):
    __tablename__ = "halls"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    code: Mapped[str] = mapped_column(String(40), unique=True)
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    # {"mon": [["08:30", "12:00"], ["13:00", "17:30"]], ..., "sun": []}
    opening_hours: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # A ticket issued before this local time belongs to the previous service day.
    day_boundary: Mapped[str] = mapped_column(String(5), default="03:00")
    max_recalls: Mapped[int] = mapped_column(Integer, default=3)
    late_requeue_places: Mapped[int] = mapped_column(Integer, default=3)
    # 过号 only after a recall or this long since the call (vocabulary.NO_SHOW_MIN_S).
    no_show_min_s: Mapped[int] = mapped_column(Integer, default=NO_SHOW_MIN_S, server_default=str(NO_SHOW_MIN_S))
    # A/B posts: a pause longer than this asks the B clerk to cover (002 §6.9).
    pause_cover_after_s: Mapped[int] = mapped_column(Integer, default=300)
    wait_alert_s: Mapped[int] = mapped_column(Integer, default=1800)
    default_service_s: Mapped[int] = mapped_column(Integer, default=300)
    public_base_url: Mapped[str] = mapped_column(String(200), default="")
    # Street address, shown to visitors on the follow page and the booking confirmation (issue 21).
    address: Mapped[Optional[str]] = mapped_column(String(200), nullable=True)
    # From this age (by the ID card's birth date) the kiosk offers the green channel and 适老 mode;
    # empty = the vocabulary's ELDERLY_AGE.
    elderly_age: Mapped[Optional[int]] = mapped_column(Integer, nullable=True)
    # Service levels (issue 17; 0 = not watched): the longest a visitor should wait to be called, the
    # longest one service should take, the longest a staffed window may stand idle while its queues
    # have visitors waiting, and the most visitors one queue should hold. Queues may override the first,
    # second and fourth (``Queue.sl_*``).
    # ``sl_max_wait_s`` 0 = the same as ``wait_alert_s`` (whose ``long_wait`` alert then stands for it).
    sl_max_wait_s: Mapped[int] = mapped_column(Integer, default=0)
    sl_max_service_s: Mapped[int] = mapped_column(Integer, default=1200)
    sl_max_idle_s: Mapped[int] = mapped_column(Integer, default=180)
    sl_max_queue_len: Mapped[int] = mapped_column(Integer, default=30)
    # Guards (issue 17; 0 = off): tickets per ID number per item per service day (号贩子), minutes a
    # cancelled booking's seat stays closed to bookings (slot trading), seconds between two recalls.
    # Off until a manager sets them (README suggests 3, 30 and 20), so existing halls keep their behaviour.
    id_daily_ticket_cap: Mapped[int] = mapped_column(Integer, default=0)
    cancelled_slot_hold_min: Mapped[int] = mapped_column(Integer, default=0)
    recall_min_gap_s: Mapped[int] = mapped_column(Integer, default=0)


class ServiceCategory(Base):
    """领域: a field of service, e.g. 商事登记."""

    __tablename__ = "service_categories"
    __table_args__ = (UniqueConstraint("hall_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(100))
    sort: Mapped[int] = mapped_column(Integer, default=0)

    items: Mapped[list["ServiceItem"]] = relationship(back_populates="category", order_by="ServiceItem.id")


class QueueItem(Base):
    __tablename__ = "queue_items"

    queue_id: Mapped[int] = mapped_column(ForeignKey("queues.id", ondelete="CASCADE"), primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("service_items.id", ondelete="CASCADE"), primary_key=True)


class ServiceItem(Base):
    """事项: one government service matter with its guide and material list."""

    __tablename__ = "service_items"
    __table_args__ = (UniqueConstraint("hall_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"), index=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("service_categories.id"))
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[Optional[str]] = mapped_column(String(200), nullable=True)  # the kiosk's English mode
    pinyin_initials: Mapped[str] = mapped_column(String(200), default="")
    kind: Mapped[str] = mapped_column(String(20), default="immediate")  # immediate 即办件 | promised 承诺件
    promised_days: Mapped[Optional[int]] = mapped_column(Integer, nullable=True)
    # [{"name", "form": "original"|"copy"|"original_and_copy", "count", "required", "deferrable"}]
    materials: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # {"legal_basis", "conditions", "fees", "time_limit", "process"}
    guide: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    on_the_spot: Mapped[bool] = mapped_column(Boolean, default=False)
    appointment_only_slots: Mapped[bool] = mapped_column(Boolean, default=False)
    typical_service_s: Mapped[int] = mapped_column(Integer, default=300)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # The department responsible for deciding this item's cases (按责转办, 000 §9.4).
    department_id: Mapped[Optional[int]] = mapped_column(ForeignKey("departments.id"), nullable=True)
    # The provincial catalogue's identity of the item (事项编码 + 版本, 实施清单编码): ratings go up with them.
    code_version: Mapped[str] = mapped_column(String(20), default="", server_default="")
    implementation_code: Mapped[str] = mapped_column(String(60), default="", server_default="")

    category: Mapped[ServiceCategory] = relationship(back_populates="items")
    queues: Mapped[list["Queue"]] = relationship(secondary="queue_items", back_populates="items",
                                                 order_by="Queue.id")


class BundleItem(Base):
    __tablename__ = "bundle_items"

    bundle_id: Mapped[int] = mapped_column(ForeignKey("bundles.id", ondelete="CASCADE"), primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("service_items.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    # A refusal of a blocking item stops the whole 一件事 (003 §8.3.3); of another, the rest go on (§8.3.4).
    blocking: Mapped[bool] = mapped_column(Boolean, default=True)


class Bundle(Base):
    """一件事 (003 §3.1): several items handled as one, with one set of materials (003 §3.8)."""

    __tablename__ = "bundles"
    __table_args__ = (UniqueConstraint("hall_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[Optional[str]] = mapped_column(String(200), nullable=True)  # the kiosk's English mode
    description: Mapped[str] = mapped_column(Text, default="")
    queue_id: Mapped[int] = mapped_column(ForeignKey("queues.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # 牵头部门 (003 §5.2): leads the bundle's parent case.
    lead_department_id: Mapped[Optional[int]] = mapped_column(ForeignKey("departments.id"), nullable=True)

    items: Mapped[list[ServiceItem]] = relationship(secondary="bundle_items", order_by="BundleItem.position")
    queue: Mapped["Queue"] = relationship()


class Queue(Base):
    """A business line with its own number series (A001…)."""

    __tablename__ = "queues"
    __table_args__ = (UniqueConstraint("hall_id", "prefix"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"), index=True)
    prefix: Mapped[str] = mapped_column(String(2))
    name: Mapped[str] = mapped_column(String(100))
    daily_cap: Mapped[Optional[int]] = mapped_column(Integer, nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Per-queue service levels; None = the hall's (``Hall.sl_*``).
    sl_max_wait_s: Mapped[Optional[int]] = mapped_column(Integer, nullable=True)
    sl_max_service_s: Mapped[Optional[int]] = mapped_column(Integer, nullable=True)
    sl_max_queue_len: Mapped[Optional[int]] = mapped_column(Integer, nullable=True)

    items: Mapped[list[ServiceItem]] = relationship(secondary="queue_items", back_populates="queues",
                                                    order_by="ServiceItem.id")


class WindowQueue(Base):
    """A queue a window serves, in rank order; ``helper`` queues are served only as a fallback."""

    __tablename__ = "window_queues"

    window_id: Mapped[int] = mapped_column(ForeignKey("windows.id", ondelete="CASCADE"), primary_key=True)
    queue_id: Mapped[int] = mapped_column(ForeignKey("queues.id", ondelete="CASCADE"), primary_key=True)
    rank: Mapped[int] = mapped_column(Integer, default=0)
    role: Mapped[str] = mapped_column(String(10), default="primary")  # primary | helper

    queue: Mapped[Queue] = relationship()


class Staff(Base):
    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[Optional[int]] = mapped_column(ForeignKey("halls.id"), nullable=True, index=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64))
    employee_no: Mapped[str] = mapped_column(String(32), default="")
    role: Mapped[str] = mapped_column(String(10))  # admin | manager | clerk
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # A department's staff see its inbox of dispatched cases and decide them (001 §6.3).
    department_id: Mapped[Optional[int]] = mapped_column(ForeignKey("departments.id"), nullable=True)


class Window(Base):
    """窗口. Its A clerk and B clerk back each other up (AB岗, 002 §6.9; 000 §6.5)."""

    __tablename__ = "windows"
    __table_args__ = (UniqueConstraint("hall_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20), default="general")
    # The part of the hall the window stands in ("A区", "二楼东侧"): the slip says where to wait.
    area: Mapped[Optional[str]] = mapped_column(String(40), nullable=True)
    is_open: Mapped[bool] = mapped_column(Boolean, default=True)
    a_clerk_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"), nullable=True)
    b_clerk_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"), nullable=True)
    # Who is at the window now.
    clerk_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"), nullable=True)
    clerk_post: Mapped[Optional[str]] = mapped_column(String(1), nullable=True)  # "A" | "B"
    signed_in_at: Mapped[Optional[datetime]] = mapped_column(DateTime, nullable=True)
    paused_at: Mapped[Optional[datetime]] = mapped_column(DateTime, nullable=True)
    pause_reason: Mapped[Optional[str]] = mapped_column(String(200), nullable=True)
    # Set while another window serves this one's post (顶岗).
    covered_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("windows.id"), nullable=True)
    # Ordered calling rules managers configure; see calling.DEFAULT_RULES.
    call_rules: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # Where this window is in its green:ordinary interleave pattern (kept across restarts).
    pattern_pos: Mapped[int] = mapped_column(Integer, default=0)
    # The clerks' planned breaks at this window, local "HH:MM" stretches every service day (午休轮岗、工间休息):
    # [["11:45", "12:45"], ["15:00", "15:15"]]. Only the wait estimate reads it (issue 17): the pace looks ahead.
    break_plan: Mapped[list[Any]] = mapped_column(JSON, default=list)

    served: Mapped[list[WindowQueue]] = relationship(order_by="WindowQueue.rank", cascade="all, delete-orphan")
    a_clerk: Mapped[Optional[Staff]] = relationship(foreign_keys=[a_clerk_id])
    b_clerk: Mapped[Optional[Staff]] = relationship(foreign_keys=[b_clerk_id])
    clerk: Mapped[Optional[Staff]] = relationship(foreign_keys=[clerk_id])


class AccessToken(Base):
    """A bearer token, stored only as its hash: a staff login or a device (kiosk, screen, rating pad)."""

    __tablename__ = "access_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[Optional[int]] = mapped_column(ForeignKey("halls.id"), nullable=True, index=True)
    kind: Mapped[str] = mapped_column(String(10))  # staff | kiosk | screen | pad
    staff_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"), nullable=True)
    window_id: Mapped[Optional[int]] = mapped_column(ForeignKey("windows.id"), nullable=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[Optional[datetime]] = mapped_column(DateTime, nullable=True)
    revoked_at: Mapped[Optional[datetime]] = mapped_column(DateTime, nullable=True)

    staff: Mapped[Optional[Staff]] = relationship()


class TicketCounter(Base):
    """One row per (queue, service day): the only source of ticket numbers, bumped atomically."""

    __tablename__ = "ticket_counters"

    queue_id: Mapped[int] = mapped_column(ForeignKey("queues.id"), primary_key=True)
    service_day: Mapped[date] = mapped_column(Date, primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"))
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    # Calling-order key of the newest ticket (see Ticket.queue_key); keys rise strictly within a queue.
    last_key: Mapped[float] = mapped_column(Float, default=0.0)


class TicketItem(Base):
    __tablename__ = "ticket_items"

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("service_items.id"), primary_key=True)


class Ticket(Base):
    """A visitor's ticket. A transfer ends one leg (``transferred``) and opens the next with the same number."""

    __tablename__ = "tickets"
    __table_args__ = (
        # Never duplicated: one number per issuing queue and day; each transfer leg is its own row.
        UniqueConstraint("number_queue_id", "service_day", "seq", "leg", name="uq_ticket_number"),
        UniqueConstraint("hall_id", "idempotency_key", name="uq_ticket_idempotency"),
        # A queue's head and its line in calling order (queue_key, id): the id too, or PostgreSQL sorts the line.
        Index("ix_ticket_calling", "queue_id", "status", "queue_key", "id"),
        # call_next seeks the head of each (queue, class) in one statement; see queueing/claiming.py.
        Index("ix_ticket_head", "queue_id", "status", "priority_class", "queue_key", "id"),
        # Partial (issue 19): only appointments have a slot and only transfers a target window. A walk-in ticket
        # writes no entry to either, and the head seeks of the claim (target window IS NULL) cannot be planned on
        # them: with a fresh table's statistics PostgreSQL took ix_ticket_target for those seeks and sorted the
        # hall's whole line, five times per 下一位.
        Index("ix_ticket_slot", "queue_id", "status", "priority_class", "slot_start",
              postgresql_where=sql_text("slot_start IS NOT NULL"), sqlite_where=sql_text("slot_start IS NOT NULL")),
        Index("ix_ticket_target", "target_window_id", "status",
              postgresql_where=sql_text("target_window_id IS NOT NULL"), sqlite_where=sql_text("target_window_id IS NOT NULL")),
        Index("ix_ticket_window", "window_id", "status"),
        Index("ix_ticket_done", "queue_id", "status", "finished_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # No index of its own: ``uq_ticket_idempotency`` (hall_id, idempotency_key) serves a hall's tickets (migration 0014).
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"))
    queue_id: Mapped[int] = mapped_column(ForeignKey("queues.id"))
    number_queue_id: Mapped[int] = mapped_column(ForeignKey("queues.id"))
    service_day: Mapped[date] = mapped_column(Date)
    seq: Mapped[int] = mapped_column(Integer)
    leg: Mapped[int] = mapped_column(Integer, default=0)
    number: Mapped[str] = mapped_column(String(12))
    priority_class: Mapped[str] = mapped_column(String(12), default="ordinary")
    green_reason: Mapped[Optional[str]] = mapped_column(String(12), nullable=True)
    source: Mapped[str] = mapped_column(String(12), default="walk_in")
    status: Mapped[str] = mapped_column(String(12), default="waiting")
    bundle_id: Mapped[Optional[int]] = mapped_column(ForeignKey("bundles.id"), nullable=True)
    # Visitor identity (privacy: only the masked forms are ever shown; 个人信息保护法).
    masked_name: Mapped[Optional[str]] = mapped_column(String(64), nullable=True)
    masked_id: Mapped[Optional[str]] = mapped_column(String(32), nullable=True)
    id_hash: Mapped[Optional[str]] = mapped_column(String(64), nullable=True, index=True)
    id_cipher: Mapped[Optional[str]] = mapped_column(Text, nullable=True)
    phone_cipher: Mapped[Optional[str]] = mapped_column(Text, nullable=True)
    issued_at: Mapped[datetime] = mapped_column(DateTime)
    # Calling order key: the original issue time in epoch seconds; a transfer keeps it (按责转办),
    # a late visitor's re-queue moves it a few places back.
    queue_key: Mapped[float] = mapped_column(Float)
    slot_start: Mapped[Optional[datetime]] = mapped_column(DateTime, nullable=True)
    called_at: Mapped[Optional[datetime]] = mapped_column(DateTime, nullable=True)
    started_at: Mapped[Optional[datetime]] = mapped_column(DateTime, nullable=True)
    finished_at: Mapped[Optional[datetime]] = mapped_column(DateTime, nullable=True)
    window_id: Mapped[Optional[int]] = mapped_column(ForeignKey("windows.id"), nullable=True)
    clerk_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"), nullable=True)
    target_window_id: Mapped[Optional[int]] = mapped_column(ForeignKey("windows.id"), nullable=True)
    recall_count: Mapped[int] = mapped_column(Integer, default=0)
    # When the ticket was last recalled (the hall's minimum gap between recalls, issue 17).
    recalled_at: Mapped[Optional[datetime]] = mapped_column(DateTime, nullable=True)
    requeue_count: Mapped[int] = mapped_column(Integer, default=0)
    call_reason: Mapped[Optional[str]] = mapped_column(String(200), nullable=True)
    outcome: Mapped[Optional[str]] = mapped_column(String(20), nullable=True)
    outcome_note: Mapped[Optional[str]] = mapped_column(String(1000), nullable=True)
    outcome_detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    transferred_from_id: Mapped[Optional[int]] = mapped_column(ForeignKey("tickets.id"), nullable=True)
    origin_ticket_id: Mapped[Optional[int]] = mapped_column(ForeignKey("tickets.id"), nullable=True)
    transfer_note: Mapped[Optional[str]] = mapped_column(String(500), nullable=True)
    follow_code: Mapped[str] = mapped_column(String(32), unique=True)
    idempotency_key: Mapped[Optional[str]] = mapped_column(String(100), nullable=True)
    closed_at: Mapped[Optional[datetime]] = mapped_column(DateTime, nullable=True)

    queue: Mapped[Queue] = relationship(foreign_keys=[queue_id])
    items: Mapped[list[ServiceItem]] = relationship(secondary="ticket_items", order_by="ServiceItem.id")
    bundle: Mapped[Optional[Bundle]] = relationship()
    window: Mapped[Optional[Window]] = relationship(foreign_keys=[window_id])


class PostInterval(Base):
    """A stretch of time a window's post was covered by another window, or left empty."""

    __tablename__ = "post_intervals"

    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"), index=True)
    window_id: Mapped[int] = mapped_column(ForeignKey("windows.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # cover | empty
    covering_window_id: Mapped[Optional[int]] = mapped_column(ForeignKey("windows.id"), nullable=True)
    started_at: Mapped[datetime] = mapped_column(DateTime)
    ended_at: Mapped[Optional[datetime]] = mapped_column(DateTime, nullable=True)


class Alert(Base):
    """Something a hall manager must look at: an empty post, a long wait, a device fault."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # empty_post | long_wait | device_fault
    window_id: Mapped[Optional[int]] = mapped_column(ForeignKey("windows.id"), nullable=True)
    subject: Mapped[str] = mapped_column(String(100), default="")
    message: Mapped[str] = mapped_column(String(500))
    raised_at: Mapped[datetime] = mapped_column(DateTime)
    cleared_at: Mapped[Optional[datetime]] = mapped_column(DateTime, nullable=True)
    # An emergency alarm (issue 17) ends when a manager acknowledges it: who, and when.
    acknowledged_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"), nullable=True)


class AuditEvent(Base):
    """Who did what, when (004 §8.4 full-process electronic supervision)."""

    __tablename__ = "audit_events"
    # The managers' audit viewer reads a hall's events newest first (floor/supervision.py).
    __table_args__ = (Index("ix_audit_hall_at", "hall_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # No index of its own: ``ix_audit_hall_at`` (hall_id, at) serves a hall's events (migration 0014).
    hall_id: Mapped[Optional[int]] = mapped_column(ForeignKey("halls.id"), nullable=True)
    at: Mapped[datetime] = mapped_column(DateTime)
    actor_kind: Mapped[str] = mapped_column(String(10))  # staff | kiosk | screen | system
    actor_id: Mapped[Optional[int]] = mapped_column(Integer, nullable=True)
    action: Mapped[str] = mapped_column(String(40))
    ticket_id: Mapped[Optional[int]] = mapped_column(Integer, nullable=True)
    window_id: Mapped[Optional[int]] = mapped_column(Integer, nullable=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Hash chain, filled by audit.seal (never inside the request): seal order and HMAC of the
    # previous link plus this event. Editing or deleting a sealed event breaks the chain.
    chain_seq: Mapped[Optional[int]] = mapped_column(Integer, nullable=True, unique=True)
    chain_hash: Mapped[Optional[str]] = mapped_column(String(64), nullable=True)


# ---------------------------------------------------------------- screens (issue 5): notices
class Notice(Base):
    """A line of scrolling text managers put on the hall screen (公告), until removed or expired."""

    __tablename__ = "notices"
    __table_args__ = (Index("ix_notice_active", "hall_id", "active"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"))
    text: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[Optional[datetime]] = mapped_column(DateTime, nullable=True)
    created_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"), nullable=True)
    removed_at: Mapped[Optional[datetime]] = mapped_column(DateTime, nullable=True)


# ---------------------------------------------------------------- kiosk (issue 4): scanned pages, device health, notifications
from sqlalchemy import LargeBinary  # noqa: E402 - kept in this section so the areas' edits never collide


class ScannedPage:
    """The columns of a page scanned at the kiosk's document camera (a ticket's or a case's)."""

    position: Mapped[int] = mapped_column(Integer)  # 1, 2, … in the order scanned
    content_type: Mapped[str] = mapped_column(String(20))  # image/jpeg | image/png
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    page_size_name: Mapped[str] = mapped_column(String(20), default="custom")
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_at: Mapped[datetime] = mapped_column(DateTime)
    uploaded_by_token_id: Mapped[Optional[int]] = mapped_column(ForeignKey("access_tokens.id"), nullable=True)


class TicketAttachment(ScannedPage, Base):
    """A page the visitor scanned at the kiosk for pre-submission, shown to the clerk with the ticket."""

    __tablename__ = "ticket_attachments"
    __table_args__ = (UniqueConstraint("ticket_id", "position", name="uq_attachment_position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"), index=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)


class DeviceStatus(Base):
    """The last health a kiosk reported for one of its devices (ID-card reader, printer, camera)."""

    __tablename__ = "device_statuses"
    __table_args__ = (UniqueConstraint("token_id", "device", name="uq_device_status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"), index=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("access_tokens.id"))
    device: Mapped[str] = mapped_column(String(10))  # idcard | printer | scanner
    state: Mapped[str] = mapped_column(String(10))  # online | offline | fault
    reason: Mapped[Optional[str]] = mapped_column(String(100), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime)
    alert_id: Mapped[Optional[int]] = mapped_column(ForeignKey("alerts.id"), nullable=True)


# ---------------------------------------------------------------- staff side (issue 6a): sessions, ratings


class LoginAttempt(Base):
    """One staff login try, kept to throttle password guessing per username and per client address."""

    __tablename__ = "login_attempts"
    __table_args__ = (Index("ix_login_user_at", "username", "at"), Index("ix_login_ip_at", "ip", "at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime)
    username: Mapped[str] = mapped_column(String(64))
    ip: Mapped[str] = mapped_column(String(64), default="")
    outcome: Mapped[str] = mapped_column(String(12))  # LOGIN_OUTCOMES
    staff_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"), nullable=True)


class Rating(Base):
    """A visitor's rating of one finished ticket, given once on the window's rating pad (评价器)."""

    __tablename__ = "ratings"
    __table_args__ = (UniqueConstraint("ticket_id", name="uq_rating_ticket"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"), index=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    window_id: Mapped[int] = mapped_column(ForeignKey("windows.id"), index=True)
    clerk_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"), nullable=True)
    score: Mapped[int] = mapped_column(Integer)
    reasons: Mapped[list[Any]] = mapped_column(JSON, default=list)
    comment: Mapped[str] = mapped_column(String(500), default="")
    rated_at: Mapped[datetime] = mapped_column(DateTime)
    device_token_id: Mapped[Optional[int]] = mapped_column(ForeignKey("access_tokens.id"), nullable=True)
    # The case (办件) the visit opened, when there is one: the platform files the rating under its number.
    case_id: Mapped[Optional[int]] = mapped_column(ForeignKey("cases.id"), nullable=True, index=True)
    channel: Mapped[str] = mapped_column(String(8), default="pad", server_default="pad")  # RATING_CHANNELS
    # The rater is known by name and ID (实名差评 must all be called back, fixed and answered).
    real_name: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    # An upheld appeal (申诉复核) takes the rating out of every indicator; the appeal records why.
    excluded: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())


class Rectification(Base):
    """差评整改 (003 §10.4): who is responsible, by when, the fix, the answer to the visitor, closing."""

    __tablename__ = "rectifications"
    __table_args__ = (UniqueConstraint("rating_id", name="uq_rectification_rating"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"), index=True)
    rating_id: Mapped[int] = mapped_column(ForeignKey("ratings.id"))
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    window_id: Mapped[int] = mapped_column(ForeignKey("windows.id"))
    responsible_clerk_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"), nullable=True)
    status: Mapped[str] = mapped_column(String(10), default="open")
    opened_at: Mapped[datetime] = mapped_column(DateTime)
    deadline: Mapped[datetime] = mapped_column(DateTime)
    assigned_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"), nullable=True)
    fix_plan: Mapped[str] = mapped_column(String(1000), default="")
    fix: Mapped[str] = mapped_column(String(1000), default="")
    fixed_at: Mapped[Optional[datetime]] = mapped_column(DateTime, nullable=True)
    feedback: Mapped[str] = mapped_column(String(1000), default="")
    feedback_at: Mapped[Optional[datetime]] = mapped_column(DateTime, nullable=True)
    closed_at: Mapped[Optional[datetime]] = mapped_column(DateTime, nullable=True)
    closed_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"), nullable=True)
    # The rater's answer to the feedback (RATER_ANSWERS); "not_satisfied" re-opens the case.
    rater_answer: Mapped[Optional[str]] = mapped_column(String(16), nullable=True)
    rater_answered_at: Mapped[Optional[datetime]] = mapped_column(DateTime, nullable=True)
    reopened: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    rating: Mapped[Rating] = relationship()


class RatingAppeal(Base):
    """申诉复核: the rated side says a bad rating was mistaken or malicious; a manager decides, with a reason."""

    __tablename__ = "rating_appeals"
    __table_args__ = (UniqueConstraint("rating_id", name="uq_rating_appeal"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"), index=True)
    rating_id: Mapped[int] = mapped_column(ForeignKey("ratings.id"))
    kind: Mapped[str] = mapped_column(String(12))  # APPEAL_KINDS
    reason: Mapped[str] = mapped_column(String(1000))
    filed_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"), nullable=True)
    filed_at: Mapped[datetime] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(10), default="pending")  # APPEAL_STATUSES
    decided_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"), nullable=True)
    decided_at: Mapped[Optional[datetime]] = mapped_column(DateTime, nullable=True)
    decision_reason: Mapped[str] = mapped_column(String(1000), default="")


class RatingSettings(Base):
    """A hall's 好差评 rules: rectification term, call-back sample rate, the provincial platform's address."""

    __tablename__ = "rating_settings"

    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"), primary_key=True)
    rectify_working_days: Mapped[int] = mapped_column(Integer, default=RECTIFY_WORKING_DAYS)
    callback_rate_pct: Mapped[int] = mapped_column(Integer, default=CALLBACK_RATE_PCT)
    # 12-digit administrative division code (统计用区划代码) the platform files the hall under.
    region_code: Mapped[str] = mapped_column(String(12), default="")
    province_url: Mapped[str] = mapped_column(String(300), default="")
    province_secret_cipher: Mapped[Optional[str]] = mapped_column(Text, nullable=True)


class Callback(Base):
    """回访 (002 §11.2.3): a sampled case completed in the last 3 working days, called back by staff."""

    __tablename__ = "callbacks"
    __table_args__ = (UniqueConstraint("case_id", name="uq_callback_case"),
                      Index("ix_callback_due", "hall_id", "status", "due_on"))

    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    completed_on: Mapped[date] = mapped_column(Date)
    sampled_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12), default="pending")  # CALLBACK_STATUSES
    satisfaction: Mapped[Optional[int]] = mapped_column(Integer, nullable=True)
    remarks: Mapped[str] = mapped_column(String(1000), default="")
    recorded_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"), nullable=True)
    recorded_at: Mapped[Optional[datetime]] = mapped_column(DateTime, nullable=True)

    case: Mapped["Case"] = relationship()


# ---------------------------------------------------------------- staff side (issue 6b): complaints, deferred materials


class Complaint(Base):
    """投诉举报 (000 §10): the form of §10.2 a–e, its handling, and the answer looked up by number (§10.3)."""

    __tablename__ = "complaints"
    __table_args__ = (UniqueConstraint("hall_id", "number", name="uq_complaint_number"),
                      UniqueConstraint("hall_id", "filed_day", "seq", name="uq_complaint_seq"))

    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"), index=True)
    # a) 投诉举报受理编号: TS<local date>-<4-digit daily sequence>, e.g. TS20260302-0001.
    number: Mapped[str] = mapped_column(String(20), index=True)
    filed_day: Mapped[date] = mapped_column(Date)
    seq: Mapped[int] = mapped_column(Integer)
    # Hash of the look-up code handed to the complainant; with it the status page also shows the answer.
    lookup_hash: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(10), default="online")
    is_report: Mapped[bool] = mapped_column(Boolean, default=False)  # 举报 rather than 投诉
    # b) 被投诉举报单位或部门, with the window / item it happened at when known.
    target_unit: Mapped[str] = mapped_column(String(100), default="")
    window_id: Mapped[Optional[int]] = mapped_column(ForeignKey("windows.id"), nullable=True)
    item_id: Mapped[Optional[int]] = mapped_column(ForeignKey("service_items.id"), nullable=True)
    # c) 投诉举报类型.
    kind: Mapped[str] = mapped_column(String(20))
    # d) 被投诉举报人姓名: encrypted; pages show only the masked form. Staff link set by the handler.
    target_person_cipher: Mapped[Optional[str]] = mapped_column(Text, nullable=True)
    target_person_masked: Mapped[Optional[str]] = mapped_column(String(64), nullable=True)
    target_staff_no: Mapped[str] = mapped_column(String(32), default="")
    target_staff_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"), nullable=True)
    # e) 投诉举报内容及投诉举报人提出的要求.
    content: Mapped[str] = mapped_column(Text)
    request: Mapped[str] = mapped_column(Text, default="")
    occurred_at: Mapped[Optional[datetime]] = mapped_column(DateTime, nullable=True)
    # The complainant: encrypted at rest, masked for display (个人信息保护法).
    complainant_name_cipher: Mapped[Optional[str]] = mapped_column(Text, nullable=True)
    complainant_name_masked: Mapped[Optional[str]] = mapped_column(String(64), nullable=True)
    contact_cipher: Mapped[str] = mapped_column(Text)
    contact_masked: Mapped[str] = mapped_column(String(64))
    # Keyed hash of the filing client's address, for the public form's rate limit only.
    source_hash: Mapped[Optional[str]] = mapped_column(String(64), nullable=True, index=True)
    device_hash: Mapped[Optional[str]] = mapped_column(String(64), nullable=True, index=True)  # form limit
    status: Mapped[str] = mapped_column(String(10), default="received")
    filed_at: Mapped[datetime] = mapped_column(DateTime)
    due_on: Mapped[date] = mapped_column(Date)
    handler_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"), nullable=True)
    handling_at: Mapped[Optional[datetime]] = mapped_column(DateTime, nullable=True)
    answer: Mapped[str] = mapped_column(Text, default="")
    answered_at: Mapped[Optional[datetime]] = mapped_column(DateTime, nullable=True)
    # 000 §10.4: corrective measures, published with the answer.
    measures: Mapped[str] = mapped_column(Text, default="")
    closed_at: Mapped[Optional[datetime]] = mapped_column(DateTime, nullable=True)
    internal_note: Mapped[str] = mapped_column(Text, default="")

# ---------------------------------------------------------------- consultations (issue 18)


class Consultation(Base):
    """咨询接待记录 (000 §7.1.1, §7.2–§7.4; 002 §9.1): the question, its answer or promised reply date, who, when."""

    __tablename__ = "consultations"
    __table_args__ = (Index("ix_consultation_pending", "hall_id", "answered_at", "due_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"), index=True)
    channel: Mapped[str] = mapped_column(String(10))  # CONSULTATION_CHANNELS
    item_id: Mapped[Optional[int]] = mapped_column(ForeignKey("service_items.id"), nullable=True)
    question: Mapped[str] = mapped_column(Text)
    # 000 §7.2.1 记录群众和企业信息: who asked and how to reach them for the reply; the contact encrypted,
    # pages show only the masked forms.
    asker_masked: Mapped[str] = mapped_column(String(64), default="")
    contact_cipher: Mapped[Optional[str]] = mapped_column(Text, nullable=True)
    contact_masked: Mapped[str] = mapped_column(String(64), default="")
    received_at: Mapped[datetime] = mapped_column(DateTime)
    received_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"), nullable=True)
    # The promised reply date (the day itself when answered on the spot).
    due_on: Mapped[date] = mapped_column(Date)
    answer: Mapped[str] = mapped_column(Text, default="")
    answered_at: Mapped[Optional[datetime]] = mapped_column(DateTime, nullable=True)
    answered_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"), nullable=True)
    # A question asked on the public form (000 §7.4): the hash of the look-up code handed to the asker, and
    # keyed hashes of the client's address and form session for the form's rate limit (as for complaints).
    lookup_hash: Mapped[Optional[str]] = mapped_column(String(64), nullable=True)
    source_hash: Mapped[Optional[str]] = mapped_column(String(64), nullable=True, index=True)
    device_hash: Mapped[Optional[str]] = mapped_column(String(64), nullable=True, index=True)


class WithheldMeasure(Base):
    """A corrective measure a manager took off the public page (000 §10.4); deleting the row re-publishes it."""

    __tablename__ = "withheld_measures"
    __table_args__ = (UniqueConstraint("source", "source_id", name="uq_withheld_measure"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"), index=True)
    source: Mapped[str] = mapped_column(String(16))  # MEASURE_SOURCES: complaint / rectification
    source_id: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(500), default="")
    withheld_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"), nullable=True)
    withheld_at: Mapped[datetime] = mapped_column(DateTime)


# ---------------------------------------------------------------- appointments (issue 7)


class AppointmentSettings(Base):
    """A hall's booking rules (000 §8.2, 002 §7.2.2); one row per hall, defaults until a manager saves."""

    __tablename__ = "appointment_settings"

    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"), primary_key=True)
    slot_minutes: Mapped[int] = mapped_column(Integer, default=30)
    # 号源: seats per matter per slot when no capacity rule says otherwise (最大预约数, 000 §8.2.2).
    default_capacity: Mapped[int] = mapped_column(Integer, default=4)
    # Share of each slot's seats that online bookings may take; the rest is kept for walk-ins (004 §8.2).
    booking_share_pct: Mapped[int] = mapped_column(Integer, default=50)
    book_days_ahead: Mapped[int] = mapped_column(Integer, default=7)
    # Booking for a slot closes this many minutes before it starts (negative: into the running slot).
    book_close_minutes: Mapped[int] = mapped_column(Integer, default=0)
    checkin_early_minutes: Mapped[int] = mapped_column(Integer, default=30)
    checkin_grace_minutes: Mapped[int] = mapped_column(Integer, default=15)
    # Minutes before the slot at which reminders go out (000 §8.2.4), e.g. [1440, 60].
    reminder_minutes: Mapped[list[Any]] = mapped_column(JSON, default=list)
    no_show_limit: Mapped[int] = mapped_column(Integer, default=3)  # 0 = never block
    no_show_window_days: Mapped[int] = mapped_column(Integer, default=30)
    no_show_block_days: Mapped[int] = mapped_column(Integer, default=30)


class Holiday(Base):
    """A closed day (法定节假日), or a make-up working day (调休上班) with its opening hours."""

    __tablename__ = "holidays"
    __table_args__ = (UniqueConstraint("hall_id", "day", name="uq_holiday_day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"), index=True)
    day: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(10), default="holiday")  # holiday | workday
    name: Mapped[str] = mapped_column(String(100), default="")
    # For a make-up working day: [["08:30", "12:00"], ...]; empty = the hall's Monday hours.
    hours: Mapped[list[Any]] = mapped_column(JSON, default=list)


class AppointmentCapacity(Base):
    """最大预约数 (000 §8.2.2): seats of one matter per slot, for every day, a weekday or a date, all slots or one."""

    __tablename__ = "appointment_capacities"
    __table_args__ = (UniqueConstraint("hall_id", "matter", "day", "time", name="uq_appointment_capacity"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"), index=True)
    matter: Mapped[str] = mapped_column(String(16))  # "i<item id>" | "b<bundle id>"
    day: Mapped[str] = mapped_column(String(10), default="*")  # "*" | "mon".."sun" | "YYYY-MM-DD"
    time: Mapped[str] = mapped_column(String(5), default="*")  # "*" | "HH:MM" (slot start, local)
    capacity: Mapped[int] = mapped_column(Integer)


class AppointmentSlot(Base):
    """The seat counter of one matter's slot, shared by bookings and walk-ins; bumped atomically."""

    __tablename__ = "appointment_slots"
    __table_args__ = (UniqueConstraint("hall_id", "matter", "slot_start", name="uq_appointment_slot"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"), index=True)
    matter: Mapped[str] = mapped_column(String(16))
    slot_start: Mapped[datetime] = mapped_column(DateTime)
    booked: Mapped[int] = mapped_column(Integer, default=0)
    walk_ins: Mapped[int] = mapped_column(Integer, default=0)


class Appointment(Base):
    """预约: one person's booking of an item or bundle in one slot. Identity encrypted, shown masked."""

    __tablename__ = "appointments"
    __table_args__ = (
        UniqueConstraint("hall_id", "code", name="uq_appointment_code"),
        Index("ix_appointment_slot", "hall_id", "slot_start"),
        Index("ix_appointment_person", "hall_id", "id_hash", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"), index=True)
    matter: Mapped[str] = mapped_column(String(16))
    item_id: Mapped[Optional[int]] = mapped_column(ForeignKey("service_items.id"), nullable=True)
    bundle_id: Mapped[Optional[int]] = mapped_column(ForeignKey("bundles.id"), nullable=True)
    slot_id: Mapped[int] = mapped_column(ForeignKey("appointment_slots.id"))
    slot_start: Mapped[datetime] = mapped_column(DateTime)
    slot_end: Mapped[datetime] = mapped_column(DateTime)
    local_day: Mapped[date] = mapped_column(Date)
    code: Mapped[str] = mapped_column(String(12))
    status: Mapped[str] = mapped_column(String(12), default="booked")
    masked_name: Mapped[str] = mapped_column(String(64))
    masked_id: Mapped[str] = mapped_column(String(32))
    masked_phone: Mapped[str] = mapped_column(String(20))
    id_hash: Mapped[str] = mapped_column(String(64))
    name_cipher: Mapped[str] = mapped_column(Text)
    id_cipher: Mapped[str] = mapped_column(Text)
    phone_cipher: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    checked_in_at: Mapped[Optional[datetime]] = mapped_column(DateTime, nullable=True)
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    ticket_id: Mapped[Optional[int]] = mapped_column(ForeignKey("tickets.id"), nullable=True)
    ended_at: Mapped[Optional[datetime]] = mapped_column(DateTime, nullable=True)

    item: Mapped[Optional[ServiceItem]] = relationship()
    bundle: Mapped[Optional[Bundle]] = relationship()
    ticket: Mapped[Optional[Ticket]] = relationship()


class AppointmentClaim(Base):
    """One row per (hall, item, person) while a booking covering that item is active (000 §8.2.3).

    The primary key makes a second active booking of the same item by the same ID number fail even
    when both arrive at once; the rows are deleted when the booking ends (served, cancelled, no-show).
    """

    __tablename__ = "appointment_claims"

    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"), primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("service_items.id"), primary_key=True)
    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    appointment_id: Mapped[int] = mapped_column(ForeignKey("appointments.id", ondelete="CASCADE"), index=True)


class WalkInSeat(Base):
    """A walk-in ticket's draw on its slot's shared seats (号源), recorded once per ticket and matter."""

    __tablename__ = "walk_in_seats"

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    slot_id: Mapped[int] = mapped_column(ForeignKey("appointment_slots.id"), primary_key=True)
    within_share: Mapped[bool] = mapped_column(Boolean, default=True)


class Notification(Base):
    """An outgoing message (SMS) in the outbox; ``dedup_key`` makes each one exist, and go out, once."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notification_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    dedup_key: Mapped[str] = mapped_column(String(200), unique=True)
    phone_cipher: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending | sending | sent | failed
    created_at: Mapped[datetime] = mapped_column(DateTime)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[Optional[datetime]] = mapped_column(DateTime, nullable=True)
    last_error: Mapped[Optional[str]] = mapped_column(String(200), nullable=True)


# ---------------------------------------------------------------- cases (issue 15): 办件 from acceptance to handover


class Department(Base):
    """业务部门 (001 §6.3): reviews and decides the cases dispatched to it."""

    __tablename__ = "departments"
    __table_args__ = (UniqueConstraint("hall_id", "code", name="uq_department_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(100))


class CaseSettings(Base):
    """A hall's case rules; one row per hall, defaults until a manager saves."""

    __tablename__ = "case_settings"

    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"), primary_key=True)
    acceptance_format: Mapped[str] = mapped_column(String(60), default=DEFAULT_ACCEPTANCE_FORMAT)
    due_soon_working_days: Mapped[int] = mapped_column(Integer, default=DUE_SOON_WORKING_DAYS)
    # Case events go to this URL as HMAC-signed webhooks (empty: none are queued).
    webhook_url: Mapped[str] = mapped_column(String(300), default="")
    webhook_secret_cipher: Mapped[Optional[str]] = mapped_column(Text, nullable=True)


class CaseCounter(Base):
    """The only source of acceptance numbers: one row per (hall, year), bumped in the finish transaction."""

    __tablename__ = "case_counters"

    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)


class Case(Base):
    """办件: one matter an applicant applied for, from acceptance to handover (000 §9.3–§9.7)."""

    __tablename__ = "cases"
    __table_args__ = (
        UniqueConstraint("hall_id", "acceptance_no", name="uq_case_acceptance_no"),
        UniqueConstraint("hall_id", "year", "seq", "part", name="uq_case_seq"),
        UniqueConstraint("lookup_hash", name="uq_case_lookup"),
        Index("ix_case_department", "hall_id", "department_id", "state"),
        Index("ix_case_state_due", "hall_id", "state", "due_on"),
        Index("ix_case_person", "hall_id", "id_hash"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"))
    parent_id: Mapped[Optional[int]] = mapped_column(ForeignKey("cases.id"), nullable=True, index=True)
    year: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    # 0 for a case of its own or a bundle's parent; 1, 2, … for the parent's items (受理号-01, -02, …).
    part: Mapped[int] = mapped_column(Integer, default=0)
    acceptance_no: Mapped[str] = mapped_column(String(40))
    ticket_id: Mapped[Optional[int]] = mapped_column(ForeignKey("tickets.id"), nullable=True, index=True)
    item_id: Mapped[Optional[int]] = mapped_column(ForeignKey("service_items.id"), nullable=True)
    bundle_id: Mapped[Optional[int]] = mapped_column(ForeignKey("bundles.id"), nullable=True)
    title: Mapped[str] = mapped_column(String(200))
    department_id: Mapped[Optional[int]] = mapped_column(ForeignKey("departments.id"), nullable=True)
    blocking: Mapped[bool] = mapped_column(Boolean, default=True)
    outcome: Mapped[str] = mapped_column(String(20))  # the window's outcome that opened it (CASE_OPENING_OUTCOMES)
    state: Mapped[str] = mapped_column(String(20))
    decision: Mapped[Optional[str]] = mapped_column(String(20), nullable=True)
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    # Applicant: masked for display; ID number and phone only encrypted; ID looked up by keyed hash.
    masked_name: Mapped[Optional[str]] = mapped_column(String(64), nullable=True)
    masked_id: Mapped[Optional[str]] = mapped_column(String(32), nullable=True)
    id_hash: Mapped[Optional[str]] = mapped_column(String(64), nullable=True)
    id_cipher: Mapped[Optional[str]] = mapped_column(Text, nullable=True)
    phone_cipher: Mapped[Optional[str]] = mapped_column(Text, nullable=True)
    # Progress look-up (000 §8.5): the code's hash finds the case; the code itself is kept encrypted
    # so a re-printed receipt carries the same QR.
    lookup_hash: Mapped[str] = mapped_column(String(64))
    lookup_cipher: Mapped[Optional[str]] = mapped_column(Text, nullable=True)
    accepted_at: Mapped[datetime] = mapped_column(DateTime)
    accepted_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"), nullable=True)
    window_id: Mapped[Optional[int]] = mapped_column(ForeignKey("windows.id"), nullable=True)
    # The clock in working days of the hall calendar (000 §6.6): promised term, stops, due date.
    promised_days: Mapped[int] = mapped_column(Integer, default=0)
    due_on: Mapped[date] = mapped_column(Date)
    clock_stopped_on: Mapped[Optional[date]] = mapped_column(Date, nullable=True)
    stopped_working_days: Mapped[int] = mapped_column(Integer, default=0)
    # 000 §9.3.4 / 002 §8.2.6: special procedures noted on the receipt with their time; 002 §8.2.2 中介服务.
    special_procedures: Mapped[list[Any]] = mapped_column(JSON, default=list)
    intermediary_service: Mapped[str] = mapped_column(String(200), default="")
    handler_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"), nullable=True)
    decided_at: Mapped[Optional[datetime]] = mapped_column(DateTime, nullable=True)
    ready_at: Mapped[Optional[datetime]] = mapped_column(DateTime, nullable=True)
    handed_over_at: Mapped[Optional[datetime]] = mapped_column(DateTime, nullable=True)
    closed_at: Mapped[Optional[datetime]] = mapped_column(DateTime, nullable=True)
    # Hall trips the applicant made for this case (acceptance, supplements, pickup): 只跑一次 measured.
    visits: Mapped[int] = mapped_column(Integer, default=1)
    due_alert_id: Mapped[Optional[int]] = mapped_column(ForeignKey("alerts.id"), nullable=True)
    due_alert_kind: Mapped[Optional[str]] = mapped_column(String(20), nullable=True)
    # The handover ticket the kiosk issued to collect this result (统一出件, 001 §7.3).
    pickup_ticket_id: Mapped[Optional[int]] = mapped_column(ForeignKey("tickets.id"), nullable=True, index=True)

    item: Mapped[Optional[ServiceItem]] = relationship()
    department: Mapped[Optional[Department]] = relationship()
    children: Mapped[list["Case"]] = relationship(order_by="Case.id")


class CaseEvent(Base):
    """One transition of a case: who, when, from and to which state, and a note (004 §8.4)."""

    __tablename__ = "case_events"
    __table_args__ = (Index("ix_case_event_case", "case_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    at: Mapped[datetime] = mapped_column(DateTime)
    action: Mapped[str] = mapped_column(String(30))
    from_state: Mapped[Optional[str]] = mapped_column(String(20), nullable=True)
    to_state: Mapped[str] = mapped_column(String(20))
    actor_kind: Mapped[str] = mapped_column(String(10))
    actor_id: Mapped[Optional[int]] = mapped_column(Integer, nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class CaseDocument(Base):
    """A numbered paper of a case (受理通知书, 一次性告知书, 容缺受理承诺书, 不予受理决定书).

    ``content`` is the paper's text as issued, so a re-print is the same paper.
    """

    __tablename__ = "case_documents"
    __table_args__ = (UniqueConstraint("hall_id", "number", name="uq_case_document_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"), index=True)
    # A one-time notice (一次性告知书) of a visit that opened no case belongs to the ticket only.
    case_id: Mapped[Optional[int]] = mapped_column(ForeignKey("cases.id"), nullable=True, index=True)
    ticket_id: Mapped[Optional[int]] = mapped_column(ForeignKey("tickets.id"), nullable=True, index=True)
    kind: Mapped[str] = mapped_column(String(20))
    number: Mapped[str] = mapped_column(String(60))
    content: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    issued_at: Mapped[datetime] = mapped_column(DateTime)
    issued_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"), nullable=True)
    prints: Mapped[int] = mapped_column(Integer, default=0)


class DeferredMaterial(Base):
    """A material accepted as owed (容缺受理, 000 §9.3.6), with its deadline; supplied by a clerk or the kiosk."""

    __tablename__ = "deferred_materials"
    __table_args__ = (Index("ix_deferred_due", "hall_id", "state", "due_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    due_on: Mapped[date] = mapped_column(Date)
    promise: Mapped[str] = mapped_column(String(1000), default="")
    state: Mapped[str] = mapped_column(String(10), default="owed")
    supplied_at: Mapped[Optional[datetime]] = mapped_column(DateTime, nullable=True)
    supplied_via: Mapped[str] = mapped_column(String(20), default="")
    reminded_at: Mapped[Optional[datetime]] = mapped_column(DateTime, nullable=True)
    alert_id: Mapped[Optional[int]] = mapped_column(ForeignKey("alerts.id"), nullable=True)


class CaseHandover(Base):
    """统一出件 (001 §7.3): the result handed over at the window (signed for) or sent by courier."""

    __tablename__ = "case_handovers"
    __table_args__ = (UniqueConstraint("case_id", name="uq_case_handover"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    method: Mapped[str] = mapped_column(String(12))
    at: Mapped[datetime] = mapped_column(DateTime)
    by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"), nullable=True)
    window_id: Mapped[Optional[int]] = mapped_column(ForeignKey("windows.id"), nullable=True)
    ticket_id: Mapped[Optional[int]] = mapped_column(ForeignKey("tickets.id"), nullable=True)
    # Pickup: the card swiped matched the case's ID hash; who signed (masked).
    id_checked: Mapped[bool] = mapped_column(Boolean, default=False)
    signed_by_masked: Mapped[str] = mapped_column(String(64), default="")
    courier_company: Mapped[str] = mapped_column(String(60), default="")
    tracking_no: Mapped[str] = mapped_column(String(60), default="")


class WebhookDelivery(Base):
    """A signed JSON message in the outbox (``infrastructure.outbox``), retried until delivered.

    ``channel`` says whose it is: ``case`` (a case event for the approval system) or ``province`` (a rating
    or its rectification for the provincial 好差评 platform). Messages of one ``ordering_key`` go out in order.
    """

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_due", "status", "next_attempt_at"),
                      UniqueConstraint("message_id", name="uq_webhook_message"))

    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"), index=True)
    channel: Mapped[str] = mapped_column(String(12), default="case", server_default="case")
    ordering_key: Mapped[str] = mapped_column(String(40), default="", server_default="")
    # What the receiver dedups on (X-OneVisit-Event): the case event's id, or e.g. "rating-12".
    message_id: Mapped[Optional[str]] = mapped_column(String(80), nullable=True)
    case_id: Mapped[Optional[int]] = mapped_column(ForeignKey("cases.id"), nullable=True)
    event_id: Mapped[Optional[int]] = mapped_column(ForeignKey("case_events.id"), unique=True, nullable=True)
    url: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    created_at: Mapped[datetime] = mapped_column(DateTime)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    delivered_at: Mapped[Optional[datetime]] = mapped_column(DateTime, nullable=True)
    last_error: Mapped[Optional[str]] = mapped_column(String(200), nullable=True)


class IdempotentReply(Base):
    """The first answer to an integration write with an ``Idempotency-Key``; a retry gets it again."""

    __tablename__ = "idempotent_replies"

    token_id: Mapped[int] = mapped_column(ForeignKey("access_tokens.id"), primary_key=True)
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(Integer)
    body: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class PublicReply(Base):
    """The first answer to a visitor's write (a complaint, a question, a booking) sent with an ``Idempotency-Key``
    or from a form's one-use token: a retry within a day gets it again. The answer holds the look-up or
    confirmation code, so it is kept encrypted."""

    __tablename__ = "public_replies"

    scope: Mapped[str] = mapped_column(String(60), primary_key=True)  # "complaint:3": the write and the hall
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    body_cipher: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime)


# ---------------------------------------------------------------- service levels and guards (issue 17)
class IdTicketCount(Base):
    """Tickets one ID number took for one item on one service day: bumped atomically, capped (号贩子)."""

    __tablename__ = "id_ticket_counts"

    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"), primary_key=True)
    service_day: Mapped[date] = mapped_column(Date, primary_key=True)
    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("service_items.id"), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)


class IdleInterval(Base):
    """A stretch a staffed, unpaused window stood idle while its queues had visitors waiting."""

    __tablename__ = "idle_intervals"
    __table_args__ = (Index("ix_idle_window_open", "window_id", "ended_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"), index=True)
    window_id: Mapped[int] = mapped_column(ForeignKey("windows.id"))
    clerk_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"), nullable=True)
    started_at: Mapped[datetime] = mapped_column(DateTime)
    ended_at: Mapped[Optional[datetime]] = mapped_column(DateTime, nullable=True)


# ---------------------------------------------------------------- 容缺 materials scanned at the kiosk, look-up limits
class CaseAttachment(ScannedPage, Base):
    """A page of a 容缺 material the applicant scanned at the kiosk (000 §9.3.6), kept with the case.

    ``position`` runs over the case (1, 2, … in the order scanned, whatever the material).
    """

    __tablename__ = "case_attachments"
    __table_args__ = (UniqueConstraint("case_id", "position", name="uq_case_attachment_position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    material_id: Mapped[int] = mapped_column(ForeignKey("deferred_materials.id"), index=True)


class LookupHit(Base):
    """One look-up by a typed acceptance number, kept for the window of the limit (per device, per address)."""

    __tablename__ = "lookup_hits"
    __table_args__ = (Index("ix_lookup_hit_key_at", "scope", "key", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(10))  # device | address
    key: Mapped[str] = mapped_column(String(64))  # the token's id, or the keyed hash of the address
    at: Mapped[datetime] = mapped_column(DateTime)
