"""The hall's data: SQLAlchemy 2 typed declarative models. Every row belongs to a ``Hall``.

All datetimes are naive UTC (see ``clock.py``). Columns used to order calls are NOT NULL so the
calling order never depends on how a database sorts NULLs.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Optional

from sqlalchemy import (JSON, Boolean, Date, DateTime, Float, ForeignKey, Index, Integer, String,
                        Text, UniqueConstraint)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Ticket life cycle: waiting → called → serving → done | no_show | cancelled | transferred.
TICKET_STATUSES = ("waiting", "called", "serving", "done", "no_show", "cancelled", "transferred")
OPEN_STATUSES = ("waiting", "called", "serving")
IN_HAND_STATUSES = ("called", "serving")
# Window kinds, glossary of standards/README and 004 §7.
WINDOW_KINDS = ("general", "on_the_spot", "cross_region", "fallback", "handover")
# Finish outcomes: 受理 / 办结 / 一次性告知 (000 §9.3) / 容缺受理 (000 §9.3.6) / 不予受理 / 咨询.
OUTCOMES = ("accepted", "completed", "notice", "deferred", "refused", "consultation")
PRIORITY_CLASSES = ("ordinary", "green", "appointment")
GREEN_REASONS = ("elderly", "disabled", "pregnant", "military")
SOURCES = ("walk_in", "appointment", "transfer")
ROLES = ("admin", "manager", "clerk")


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
    # A/B posts: a pause longer than this asks the B clerk to cover (002 §6.9).
    pause_cover_after_s: Mapped[int] = mapped_column(Integer, default=300)
    wait_alert_s: Mapped[int] = mapped_column(Integer, default=1800)
    default_service_s: Mapped[int] = mapped_column(Integer, default=300)
    public_base_url: Mapped[str] = mapped_column(String(200), default="")


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

    category: Mapped[ServiceCategory] = relationship(back_populates="items")
    queues: Mapped[list["Queue"]] = relationship(secondary="queue_items", back_populates="items",
                                                 order_by="Queue.id")


class BundleItem(Base):
    __tablename__ = "bundle_items"

    bundle_id: Mapped[int] = mapped_column(ForeignKey("bundles.id", ondelete="CASCADE"), primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("service_items.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)


class Bundle(Base):
    """一件事 (003 §3.1): several items handled as one, with one set of materials (003 §3.8)."""

    __tablename__ = "bundles"
    __table_args__ = (UniqueConstraint("hall_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    queue_id: Mapped[int] = mapped_column(ForeignKey("queues.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

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


class Window(Base):
    """窗口. Its A clerk and B clerk back each other up (AB岗, 002 §6.9; 000 §6.5)."""

    __tablename__ = "windows"
    __table_args__ = (UniqueConstraint("hall_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20), default="general")
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
        Index("ix_ticket_calling", "queue_id", "status", "queue_key"),
        Index("ix_ticket_target", "target_window_id", "status"),
        Index("ix_ticket_window", "window_id", "status"),
        Index("ix_ticket_done", "queue_id", "status", "finished_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"), index=True)
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


class AuditEvent(Base):
    """Who did what, when (004 §8.4 full-process electronic supervision)."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[Optional[int]] = mapped_column(ForeignKey("halls.id"), nullable=True, index=True)
    at: Mapped[datetime] = mapped_column(DateTime)
    actor_kind: Mapped[str] = mapped_column(String(10))  # staff | kiosk | screen | system
    actor_id: Mapped[Optional[int]] = mapped_column(Integer, nullable=True)
    action: Mapped[str] = mapped_column(String(40))
    ticket_id: Mapped[Optional[int]] = mapped_column(Integer, nullable=True)
    window_id: Mapped[Optional[int]] = mapped_column(Integer, nullable=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


# ---------------------------------------------------------------- screens (issue 5): notices
# ---------------------------------------------------------------- kiosk (issue 4): scanned pages, device health, notifications
# ---------------------------------------------------------------- staff side (issue 6a): sessions, ratings
# ---------------------------------------------------------------- staff side (issue 6b): complaints, deferred materials
# ---------------------------------------------------------------- appointments (issue 7)
