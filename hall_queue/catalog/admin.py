"""Configuration of a hall by its managers: halls, categories, items, bundles, queues, windows, staff.

Plain functions over a session (STYLE rule 3/4): each checks its input, changes rows, writes one audit
event (004 §8.4 全流程电子监督) and leaves the commit to the caller. Something still referenced by
tickets or other configuration is never deleted (409 ``in_use``): deactivate it instead, so the
history that statistics are computed from stays whole.

The item catalogue can be exported to and imported from CSV (see ``export_items_csv`` /
``import_items_csv``); an import is all-or-nothing.
"""
from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from hall_queue.domain import vocabulary as V
from hall_queue.access import audit
from hall_queue.access.audit import Actor
from hall_queue.access.auth import create_staff, hash_password
from hall_queue.queueing.calling import DEFAULT_RULES
from hall_queue.catalog.search import pinyin_initials
from hall_queue.domain.errors import DomainError, Forbidden, InvalidRequest, NotFound
from hall_queue.domain.events import DomainEvent
from hall_queue.domain.calendar import validate_opening_hours
from hall_queue.infrastructure.csv_export import csv_text
from hall_queue.domain.models import (
    ROLES,
    AccessToken,
    Alert,
    Bundle,
    BundleItem,
    Complaint,
    Hall,
    PostInterval,
    Queue,
    ServiceCategory,
    ServiceItem,
    Staff,
    Ticket,
    TicketCounter,
    TicketItem,
    Window,
    WindowQueue,
)
from hall_queue.queueing.posts import check_window_clerk, configure_window

# ---------------------------------------------------------------- input schemas (shared by the API and CSV import)

_NO_CONTROL = r"^[^\x00-\x1f\x7f]*$"
Code = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9_.-]{1,40}$")]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=_NO_CONTROL)]
Short = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=_NO_CONTROL)]
LongText = Annotated[str, StringConstraints(max_length=2000)]
Ident = Annotated[int, Field(ge=1, le=2**31 - 1)]
HHMM = Annotated[str, StringConstraints(pattern=V.HHMM_PATTERN)]
MaterialForm = V.MaterialForm
GUIDE_FIELDS = ("legal_basis", "conditions", "fees", "time_limit", "process")


class Spec(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MaterialSpec(Spec):
    """One material of an item's list (一次性告知, 000 §9.3)."""

    name: Short
    form: MaterialForm = "original"
    count: Annotated[int, Field(ge=1, le=99)] = 1
    required: bool = True
    deferrable: bool = False  # may be supplied later (容缺受理, 000 §9.3.6)


class GuideSpec(Spec):
    """The item's service guide (办事指南)."""

    legal_basis: LongText | None = None
    conditions: LongText | None = None
    fees: LongText | None = None
    time_limit: LongText | None = None
    process: LongText | None = None

    def stored(self) -> dict[str, str]:
        return {k: v for k, v in self.model_dump().items() if v}


class ItemSpec(Spec):
    """A complete service item (事项) as it is stored."""

    code: Code
    name: Name
    name_en: Name | None = None   # shown in the kiosk's English mode; the Chinese name otherwise
    # The provincial catalogue's 事项编码版本 and 实施清单编码, sent up with ratings (None: keep as stored,
    # so a catalogue CSV without them leaves them alone).
    code_version: Annotated[str, StringConstraints(strip_whitespace=True, max_length=20)] | None = None
    implementation_code: Annotated[str, StringConstraints(strip_whitespace=True, max_length=60)] | None = None
    category_id: Ident
    kind: V.ItemKind = "immediate"
    promised_days: Annotated[int, Field(ge=1, le=365)] | None = None
    on_the_spot: bool = False
    appointment_only_slots: bool = False
    typical_service_s: Annotated[int, Field(ge=30, le=14400)] = 300
    materials: Annotated[list[MaterialSpec], Field(max_length=60)] = []
    guide: GuideSpec = GuideSpec()
    queue_ids: Annotated[list[Ident], Field(max_length=30)] = []
    active: bool = True

    @model_validator(mode="after")
    def _kind_and_days(self) -> ItemSpec:
        # 即办件 are finished on the spot; 承诺件 state their promised term in working days.
        if self.kind == "promised" and self.promised_days is None:
            raise ValueError("a promised item (承诺件) needs promised_days")
        if self.kind == "immediate" and self.promised_days is not None:
            raise ValueError("an immediate item (即办件) has no promised_days")
        names = [m.name for m in self.materials]
        if len(set(names)) != len(names):
            raise ValueError("a material is listed twice")
        if len(set(self.queue_ids)) != len(self.queue_ids):
            raise ValueError("a queue is listed twice")
        return self


class CategorySpec(Spec):
    code: Code
    name: Short
    sort: Annotated[int, Field(ge=0, le=9999)] = 0


class BundleSpec(Spec):
    """一件事 (003 §3.1): several items handled as one at one queue."""

    code: Code
    name: Name
    name_en: Name | None = None
    description: LongText = ""
    queue_id: Ident
    item_ids: Annotated[list[Ident], Field(min_length=1, max_length=20)]
    active: bool = True

    @field_validator("item_ids")
    @classmethod
    def _unique(cls, v: list[int]) -> list[int]:
        if len(set(v)) != len(v):
            raise ValueError("an item is listed twice")
        return v


class QueueSpec(Spec):
    prefix: Annotated[str, BeforeValidator(lambda v: v.strip().upper() if isinstance(v, str) else v),
                      StringConstraints(pattern=r"^[A-Z]{1,2}$")]
    name: Short
    daily_cap: Annotated[int, Field(ge=1, le=99999)] | None = None
    item_ids: Annotated[list[Ident], Field(max_length=500)] = []
    active: bool = True
    # Service levels of this queue (issue 17); None = the hall's.
    sl_max_wait_s: Annotated[int, Field(ge=0, le=86400)] | None = None
    sl_max_service_s: Annotated[int, Field(ge=0, le=86400)] | None = None
    sl_max_queue_len: Annotated[int, Field(ge=0, le=9999)] | None = None


class WindowQueueSpec(Spec):
    queue_id: Ident
    role: V.QueueRole = "primary"


ClockTime = Annotated[str, StringConstraints(strip_whitespace=True, pattern=V.HHMM_PATTERN)]


class WindowSpec(Spec):
    number: Annotated[int, Field(ge=1, le=999)]
    name: Short
    kind: V.WindowKind = "general"
    # Where in the hall ("A区"); the kiosk and the slip tell visitors to wait there.
    area: Annotated[str, StringConstraints(strip_whitespace=True, max_length=40)] | None = None
    queues: Annotated[list[WindowQueueSpec], Field(max_length=30)] = []
    a_clerk_id: Ident | None = None
    b_clerk_id: Ident | None = None
    # Planned breaks (午休轮岗、工间休息), local "HH:MM" pairs; the wait estimate looks ahead with them (issue 17).
    break_plan: Annotated[list[tuple[ClockTime, ClockTime]], Field(max_length=12)] = []

    @field_validator("break_plan")
    @classmethod
    def _breaks(cls, v: list[tuple[str, str]]) -> list[tuple[str, str]]:
        for start, end in v:
            if end <= start:
                raise ValueError(f"a break ends after it starts ({start}–{end})")
        return sorted(v)


class HallSettingsSpec(Spec):
    """A hall's name, calendar and thresholds."""

    name: Short
    timezone: Annotated[str, StringConstraints(max_length=64)] = "Asia/Shanghai"
    opening_hours: dict[str, Annotated[list[list[str]], Field(max_length=6)]] = {}
    day_boundary: HHMM = "03:00"
    max_recalls: Annotated[int, Field(ge=0, le=10)] = 3
    late_requeue_places: Annotated[int, Field(ge=0, le=50)] = 3
    no_show_min_s: Annotated[int, Field(ge=0, le=3600)] = V.NO_SHOW_MIN_S
    pause_cover_after_s: Annotated[int, Field(ge=0, le=86400)] = 300
    wait_alert_s: Annotated[int, Field(ge=60, le=86400)] = 1800
    default_service_s: Annotated[int, Field(ge=10, le=14400)] = 300
    public_base_url: Annotated[str, StringConstraints(max_length=200, pattern=r"^(https?://[^\s]*)?$")] = ""
    address: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = None
    elderly_age: Annotated[int, Field(ge=50, le=100)] | None = None
    # Service levels (issue 17; 0 = not watched).
    sl_max_wait_s: Annotated[int, Field(ge=0, le=86400)] = 0  # 0 = wait_alert_s
    sl_max_service_s: Annotated[int, Field(ge=0, le=86400)] = 1200
    sl_max_idle_s: Annotated[int, Field(ge=0, le=86400)] = 180
    sl_max_queue_len: Annotated[int, Field(ge=0, le=9999)] = 30
    # Guards against abuse (issue 17; 0 = off).
    id_daily_ticket_cap: Annotated[int, Field(ge=0, le=50)] = 0
    cancelled_slot_hold_min: Annotated[int, Field(ge=0, le=1440)] = 0
    recall_min_gap_s: Annotated[int, Field(ge=0, le=600)] = 0

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as e:
            raise ValueError(f"unknown timezone {v!r}") from e
        return v

    @field_validator("opening_hours")
    @classmethod
    def _hours(cls, v: dict) -> dict:
        return validate_opening_hours(v)


DisplayName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=_NO_CONTROL)]
EmployeeNo = Annotated[str, StringConstraints(strip_whitespace=True, max_length=32, pattern=_NO_CONTROL)]
Password = Annotated[str, StringConstraints(min_length=8, max_length=200)]
Role = V.Role


class StaffSpec(Spec):
    username: Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9_.-]{3,64}$")]
    display_name: DisplayName
    employee_no: EmployeeNo = ""
    role: Role = "clerk"
    password: Password


DEACTIVATE_INSTEAD = "deactivate it instead (active=false)"


def in_use(message: str) -> DomainError:
    return DomainError(message, code="in_use")


def conflict(message: str) -> DomainError:
    return DomainError(message, code="conflict")


def _merged(current: dict[str, Any], changes: dict[str, Any], model: type[Spec]) -> Any:
    """Validate the row's current values overlaid with a partial change as a complete spec."""
    try:
        return model.model_validate({**current, **changes})
    except ValidationError as e:
        parts = [f"{'.'.join(str(x) for x in err['loc']) or 'body'}: {err['msg']}" for err in e.errors()[:5]]
        raise InvalidRequest("; ".join(parts), code="validation_error") from e


def _count(session: Session, stmt) -> int:
    return int(session.scalar(stmt) or 0)


def _current(row: Any, view: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
    """The row's values as a spec to overlay a change on (nothing for a new row)."""
    current = view(row) if row is not None else {}
    current.pop("id", None)
    return current


def _refuse_taken(session: Session, hall: Hall, row: Any, key: Any, value: Any, message: str) -> None:
    """Raise ``conflict`` when another row of the hall already holds ``value`` in the unique column ``key``."""
    model = key.class_
    clash = session.scalar(select(model.id).where(model.hall_id == hall.id, key == value))
    if clash is not None and (row is None or clash != row.id):
        raise conflict(message)


def _refuse_when_used(session: Session, what: str, refs: dict[str, Any], advice: str) -> None:
    """Raise ``in_use`` naming each kind of row that still refers to ``what`` (count statements in ``refs``)."""
    used = {kind: _count(session, stmt) for kind, stmt in refs.items()}
    if any(used.values()):
        parts = ", ".join(f"{n} {kind}" for kind, n in used.items() if n)
        raise in_use(f"{what} is used by {parts}; {advice}")


def _saved(session: Session, row: Any, kind: str, *, now: datetime, actor: Actor, **detail: Any) -> Any:
    """Flush a created or changed configuration row and leave ``config.<kind>.save`` in the audit log; return it."""
    session.flush()
    audit.record(session, actor=actor, action=f"config.{kind}.save", at=now, hall_id=row.hall_id,
                 **{f"{kind}_id": row.id}, **detail)
    return row


def _delete_recorded(session: Session, row: Any, kind: str, *, now: datetime, actor: Actor, **detail: Any) -> None:
    """Delete a configuration row, leaving ``config.<kind>.delete`` in the audit log (004 §8.4)."""
    audit.record(session, actor=actor, action=f"config.{kind}.delete", at=now, hall_id=row.hall_id,
                 **{f"{kind}_id": row.id}, **detail)
    session.delete(row)


# ---------------------------------------------------------------- halls

def hall_settings_view(hall: Hall) -> dict[str, Any]:
    return {"id": hall.id, "code": hall.code, "name": hall.name, "timezone": hall.timezone,
            "opening_hours": hall.opening_hours or {}, "day_boundary": hall.day_boundary,
            "max_recalls": hall.max_recalls, "late_requeue_places": hall.late_requeue_places,
            "no_show_min_s": hall.no_show_min_s,
            "pause_cover_after_s": hall.pause_cover_after_s, "wait_alert_s": hall.wait_alert_s,
            "default_service_s": hall.default_service_s, "public_base_url": hall.public_base_url,
            "address": hall.address, "elderly_age": hall.elderly_age,
            **{k: getattr(hall, k) for k in HALL_LEVEL_AND_GUARD_FIELDS}}


# Service levels and guards (issue 17): plain hall columns of the same names.
HALL_LEVEL_AND_GUARD_FIELDS = (*V.SERVICE_LEVEL_TARGETS, "id_daily_ticket_cap", "cancelled_slot_hold_min",
                               "recall_min_gap_s")


def _settings_of(hall: Hall) -> dict[str, Any]:
    view = hall_settings_view(hall)
    return {k: view[k] for k in HallSettingsSpec.model_fields}


def create_hall(session: Session, *, code: str, settings: HallSettingsSpec, now: datetime, actor: Actor) -> Hall:
    """Open a new hall (admins); its catalogue, windows and staff are configured afterwards."""
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{1,39}", code or ""):
        raise InvalidRequest("hall code: 2–40 lower-case letters, digits or '-'", code="validation_error")
    if session.scalar(select(Hall.id).where(Hall.code == code)) is not None:
        raise conflict(f"a hall with code {code!r} exists")
    hall = Hall(code=code, **settings.model_dump())
    session.add(hall)
    session.flush()
    audit.record(session, actor=actor, action="config.hall.create", at=now, hall_id=hall.id, code=code)
    return hall


def update_hall(session: Session, hall: Hall, changes: dict[str, Any], *, now: datetime, actor: Actor) -> Hall:
    """Change a hall's name, opening hours (validate_opening_hours) or thresholds."""
    spec = _merged(_settings_of(hall), changes, HallSettingsSpec)
    for key, value in spec.model_dump().items():
        setattr(hall, key, value)
    audit.record(session, actor=actor, action="config.hall.update", at=now, hall_id=hall.id, fields=sorted(changes))
    return hall


# ---------------------------------------------------------------- categories

def category_view(c: ServiceCategory) -> dict[str, Any]:
    return {"id": c.id, "code": c.code, "name": c.name, "sort": c.sort}


def save_category(session: Session, hall: Hall, changes: dict[str, Any], *, category: ServiceCategory | None = None,
                  now: datetime, actor: Actor) -> ServiceCategory:
    """Create a category (领域) or change one."""
    spec: CategorySpec = _merged(_current(category, category_view), changes, CategorySpec)
    _refuse_taken(session, hall, category, ServiceCategory.code, spec.code,
                  f"category code {spec.code} is taken in this hall")
    if category is None:
        category = ServiceCategory(hall_id=hall.id)
        session.add(category)
    category.code, category.name, category.sort = spec.code, spec.name, spec.sort
    return _saved(session, category, "category", now=now, actor=actor, code=spec.code)


def delete_category(session: Session, category: ServiceCategory, *, now: datetime, actor: Actor) -> None:
    _refuse_when_used(session, f"category {category.code}", {
        "service item(s)": select(func.count()).select_from(ServiceItem).where(ServiceItem.category_id == category.id),
    }, "move or delete them first")
    _delete_recorded(session, category, "category", now=now, actor=actor, code=category.code)


# ---------------------------------------------------------------- service items

def item_admin_view(item: ServiceItem) -> dict[str, Any]:
    return {"id": item.id, "code": item.code, "name": item.name, "name_en": item.name_en,
            "category_id": item.category_id, "kind": item.kind, "promised_days": item.promised_days, "on_the_spot": item.on_the_spot,
            "appointment_only_slots": item.appointment_only_slots, "typical_service_s": item.typical_service_s,
            "materials": list(item.materials or []), "guide": dict(item.guide or {}),
            "queue_ids": [q.id for q in item.queues], "active": item.active, "pinyin_initials": item.pinyin_initials,
            "code_version": item.code_version, "implementation_code": item.implementation_code}


def _spec_of_item(item: ServiceItem) -> dict[str, Any]:
    view = item_admin_view(item)
    view["guide"] = {k: v for k, v in view["guide"].items() if k in GUIDE_FIELDS}
    return {k: view[k] for k in ItemSpec.model_fields}


def _hall_rows(session: Session, model: type, hall: Hall, ids: list[int], what: str) -> list[Any]:
    rows = {r.id: r for r in session.scalars(select(model).where(model.id.in_(ids)))} if ids else {}
    out = []
    for i in ids:
        row = rows.get(i)
        if row is None or row.hall_id != hall.id:
            raise NotFound(f"{what} {i} not found in this hall")
        out.append(row)
    return out


def _apply_item(session: Session, hall: Hall, item: ServiceItem, spec: ItemSpec) -> None:
    with session.no_autoflush:  # the item may be new and still incomplete
        _fill_item(session, hall, item, spec)


def _fill_item(session: Session, hall: Hall, item: ServiceItem, spec: ItemSpec) -> None:
    category = session.get(ServiceCategory, spec.category_id)
    if category is None or category.hall_id != hall.id:
        raise NotFound(f"category {spec.category_id} not found in this hall")
    item.code, item.name, item.category_id = spec.code, spec.name, category.id
    item.name_en = spec.name_en or None
    if spec.code_version is not None:
        item.code_version = spec.code_version
    if spec.implementation_code is not None:
        item.implementation_code = spec.implementation_code
    item.pinyin_initials = pinyin_initials(spec.name)
    item.kind, item.promised_days = spec.kind, spec.promised_days
    item.on_the_spot, item.appointment_only_slots = spec.on_the_spot, spec.appointment_only_slots
    item.typical_service_s = spec.typical_service_s
    item.materials = [m.model_dump() for m in spec.materials]
    item.guide = spec.guide.stored()
    item.queues = _hall_rows(session, Queue, hall, list(spec.queue_ids), "queue")
    item.active = spec.active


def save_item(session: Session, hall: Hall, changes: dict[str, Any], *, item: ServiceItem | None = None,
              now: datetime, actor: Actor) -> ServiceItem:
    """Create a service item or change one: guide, materials, kind, flags and the queues serving it."""
    spec: ItemSpec = _merged(_spec_of_item(item) if item else {}, changes, ItemSpec)
    _refuse_taken(session, hall, item, ServiceItem.code, spec.code, f"item code {spec.code} is taken in this hall")
    if item is None:
        item = ServiceItem(hall_id=hall.id)
        session.add(item)
    _apply_item(session, hall, item, spec)
    return _saved(session, item, "item", now=now, actor=actor, code=item.code, fields=sorted(changes))


def delete_item(session: Session, item: ServiceItem, *, now: datetime, actor: Actor) -> None:
    _refuse_when_used(session, f"item {item.code}", {
        "ticket(s)": select(func.count()).select_from(TicketItem).where(TicketItem.item_id == item.id),
        "bundle(s)": select(func.count()).select_from(BundleItem).where(BundleItem.item_id == item.id),
        "complaint(s)": select(func.count()).select_from(Complaint).where(Complaint.item_id == item.id),
    }, DEACTIVATE_INSTEAD)
    item.queues = []
    _delete_recorded(session, item, "item", now=now, actor=actor, code=item.code)


# ---------------------------------------------------------------- bundles

def bundle_admin_view(b: Bundle) -> dict[str, Any]:
    return {"id": b.id, "code": b.code, "name": b.name, "name_en": b.name_en, "description": b.description,
            "queue_id": b.queue_id, "item_ids": [i.id for i in b.items], "active": b.active}


def save_bundle(session: Session, hall: Hall, changes: dict[str, Any], *, bundle: Bundle | None = None,
                now: datetime, actor: Actor) -> Bundle:
    """Create or change a life-event bundle (一件事) and its items, in order."""
    spec: BundleSpec = _merged(_current(bundle, bundle_admin_view), changes, BundleSpec)
    _refuse_taken(session, hall, bundle, Bundle.code, spec.code, f"bundle code {spec.code} is taken in this hall")
    queue = _hall_rows(session, Queue, hall, [spec.queue_id], "queue")[0]
    items = _hall_rows(session, ServiceItem, hall, list(spec.item_ids), "service item")
    if bundle is None:
        bundle = Bundle(hall_id=hall.id, code=spec.code, name=spec.name, queue_id=queue.id)
        session.add(bundle)
        session.flush()
    bundle.code, bundle.name, bundle.description = spec.code, spec.name, spec.description
    bundle.name_en = spec.name_en or None
    bundle.queue_id, bundle.active = queue.id, spec.active
    session.execute(BundleItem.__table__.delete().where(BundleItem.bundle_id == bundle.id))
    for pos, item in enumerate(items):
        session.add(BundleItem(bundle_id=bundle.id, item_id=item.id, position=pos))
    session.flush()
    session.expire(bundle, ["items"])
    return _saved(session, bundle, "bundle", now=now, actor=actor, code=bundle.code, fields=sorted(changes))


def delete_bundle(session: Session, bundle: Bundle, *, now: datetime, actor: Actor) -> None:
    _refuse_when_used(session, f"bundle {bundle.code}", {
        "ticket(s)": select(func.count()).select_from(Ticket).where(Ticket.bundle_id == bundle.id),
    }, DEACTIVATE_INSTEAD)
    session.execute(BundleItem.__table__.delete().where(BundleItem.bundle_id == bundle.id))
    _delete_recorded(session, bundle, "bundle", now=now, actor=actor, code=bundle.code)


# ---------------------------------------------------------------- queues

def queue_admin_view(q: Queue) -> dict[str, Any]:
    return {"id": q.id, "prefix": q.prefix, "name": q.name, "daily_cap": q.daily_cap,
            "item_ids": [i.id for i in q.items], "active": q.active,
            **{k: getattr(q, k) for k in V.QUEUE_SERVICE_LEVEL_TARGETS}}


def save_queue(session: Session, hall: Hall, changes: dict[str, Any], *, queue: Queue | None = None,
               now: datetime, actor: Actor) -> Queue:
    """Create or change a queue: its number prefix (unique in the hall), name, daily cap and items."""
    spec: QueueSpec = _merged(_current(queue, queue_admin_view), changes, QueueSpec)
    _refuse_taken(session, hall, queue, Queue.prefix, spec.prefix,
                  f"prefix {spec.prefix} is already used by another queue of this hall")
    if queue is not None and spec.prefix != queue.prefix and _count(
            session, select(func.count()).select_from(Ticket).where(Ticket.number_queue_id == queue.id)):
        raise in_use(f"queue {queue.prefix} has issued tickets; its prefix cannot change (create a new queue)")
    items = _hall_rows(session, ServiceItem, hall, list(dict.fromkeys(spec.item_ids)), "service item")
    if queue is None:
        queue = Queue(hall_id=hall.id)
        session.add(queue)
    queue.prefix, queue.name, queue.daily_cap, queue.active = spec.prefix, spec.name, spec.daily_cap, spec.active
    for key in V.QUEUE_SERVICE_LEVEL_TARGETS:
        setattr(queue, key, getattr(spec, key))
    queue.items = items
    return _saved(session, queue, "queue", now=now, actor=actor, prefix=queue.prefix, fields=sorted(changes))


def delete_queue(session: Session, queue: Queue, *, now: datetime, actor: Actor) -> None:
    _refuse_when_used(session, f"queue {queue.prefix}", {
        "ticket(s)": select(func.count()).select_from(Ticket).where(
            or_(Ticket.queue_id == queue.id, Ticket.number_queue_id == queue.id)),
        "window(s)": select(func.count()).select_from(WindowQueue).where(WindowQueue.queue_id == queue.id),
        "bundle(s)": select(func.count()).select_from(Bundle).where(Bundle.queue_id == queue.id),
    }, DEACTIVATE_INSTEAD)
    queue.items = []
    session.execute(TicketCounter.__table__.delete().where(TicketCounter.queue_id == queue.id))
    _delete_recorded(session, queue, "queue", now=now, actor=actor, prefix=queue.prefix)


# ---------------------------------------------------------------- windows

def save_window(session: Session, hall: Hall, changes: dict[str, Any], *, window: Window | None = None,
                now: datetime, actor: Actor) -> tuple[Window, list[DomainEvent]]:
    """Create or change a window: number, name, kind, served queues with roles, A and B clerks.

    Kind, queues and clerks go through ``posts.configure_window`` so the rules stay in one place; a
    clerk field sent as null removes that clerk.
    """
    current: dict[str, Any] = {}
    if window is not None:
        current = {"number": window.number, "name": window.name, "kind": window.kind, "area": window.area,
                   "queues": [{"queue_id": s.queue_id, "role": s.role} for s in window.served],
                   "a_clerk_id": window.a_clerk_id, "b_clerk_id": window.b_clerk_id,
                   "break_plan": [tuple(b) for b in window.break_plan or []]}
    spec: WindowSpec = _merged(current, changes, WindowSpec)
    _refuse_taken(session, hall, window, Window.number, spec.number,
                  f"window number {spec.number} is taken in this hall")
    for clerk_id in (spec.a_clerk_id, spec.b_clerk_id):
        if clerk_id is not None:
            check_window_clerk(session, hall.id, clerk_id)  # before a new window row is added
    if spec.a_clerk_id is not None and spec.a_clerk_id == spec.b_clerk_id:
        raise InvalidRequest("the A and B clerk of a window must be two different people")
    if window is None:
        window = Window(hall_id=hall.id, number=spec.number, name=spec.name, kind=spec.kind, is_open=True,
                        call_rules=list(DEFAULT_RULES))
        session.add(window)
        session.flush()
    window.number, window.name, window.area = spec.number, spec.name, spec.area or None
    window.break_plan = [[start, end] for start, end in spec.break_plan]
    # Clear first so configure_window's A≠B check sees the final pair.
    window.a_clerk_id = None
    window.b_clerk_id = None
    events = configure_window(session, window, queues=[q.model_dump() for q in spec.queues], kind=spec.kind,
                              a_clerk_id=spec.a_clerk_id, b_clerk_id=spec.b_clerk_id, now=now, actor=actor)
    audit.record(session, actor=actor, action="config.window.save", at=now, hall_id=hall.id, window_id=window.id,
                 number=window.number, fields=sorted(changes))
    return window, events


def window_admin_view(w: Window) -> dict[str, Any]:
    return {"id": w.id, "number": w.number, "name": w.name, "kind": w.kind, "area": w.area, "is_open": w.is_open,
            "queues": [{"queue_id": s.queue_id, "prefix": s.queue.prefix, "role": s.role} for s in w.served],
            "a_clerk_id": w.a_clerk_id, "b_clerk_id": w.b_clerk_id, "break_plan": w.break_plan or []}


def delete_window(session: Session, window: Window, *, now: datetime, actor: Actor) -> None:
    if window.clerk_id is not None:
        raise in_use(f"a clerk is signed in at window {window.number}; sign them out first")
    _refuse_when_used(session, f"window {window.number}", {
        "tickets": select(func.count()).select_from(Ticket).where(
            or_(Ticket.window_id == window.id, Ticket.target_window_id == window.id)),
        "post records": select(func.count()).select_from(PostInterval).where(
            or_(PostInterval.window_id == window.id, PostInterval.covering_window_id == window.id)),
        "alerts": select(func.count()).select_from(Alert).where(Alert.window_id == window.id),
        "covered windows": select(func.count()).select_from(Window).where(Window.covered_by_id == window.id),
        "device tokens": select(func.count()).select_from(AccessToken).where(AccessToken.window_id == window.id),
        "complaints": select(func.count()).select_from(Complaint).where(Complaint.window_id == window.id),
    }, "close it instead")
    _delete_recorded(session, window, "window", now=now, actor=actor, number=window.number)


# ---------------------------------------------------------------- staff

def staff_view(s: Staff) -> dict[str, Any]:
    return {"id": s.id, "username": s.username, "display_name": s.display_name, "employee_no": s.employee_no,
            "role": s.role, "hall_id": s.hall_id, "active": s.active}


def _may_manage(actor: Actor, role: str) -> None:
    # Managers run their hall's clerks; only administrators create or change managers and admins.
    if actor.role != "admin" and role != "clerk":
        raise Forbidden("only an administrator manages manager and admin accounts")


def add_staff(session: Session, hall: Hall | None, spec: StaffSpec, *, now: datetime, actor: Actor) -> Staff:
    """Create a staff account; clerks and managers belong to a hall, admins to none."""
    _may_manage(actor, spec.role)
    if spec.role != "admin" and hall is None:
        raise InvalidRequest("clerks and managers belong to a hall")
    if session.scalar(select(Staff.id).where(Staff.username == spec.username)) is not None:
        raise conflict(f"username {spec.username!r} is taken")
    try:
        staff = create_staff(session, username=spec.username, password=spec.password, role=spec.role,
                             display_name=spec.display_name, employee_no=spec.employee_no,
                             hall_id=None if spec.role == "admin" else hall.id)
    except ValueError as e:
        raise InvalidRequest(str(e)) from e
    audit.record(session, actor=actor, action="config.staff.create", at=now, hall_id=staff.hall_id,
                 staff_id=staff.id, role=staff.role)
    return staff


def _revoke_tokens(session: Session, staff: Staff, now: datetime) -> None:
    session.execute(update(AccessToken).where(AccessToken.staff_id == staff.id, AccessToken.revoked_at.is_(None))
                    .values(revoked_at=now))


def update_staff(session: Session, staff: Staff, changes: dict[str, Any], *, now: datetime, actor: Actor) -> Staff:
    """Change a staff member's name, number, role or active flag; disabling ends their logins."""
    _may_manage(actor, staff.role)
    if any(v is None for v in changes.values()):
        raise InvalidRequest("fields may not be null: " + ", ".join(k for k, v in changes.items() if v is None))
    role = changes.get("role", staff.role)
    if role not in ROLES:
        raise InvalidRequest(f"role must be one of {', '.join(ROLES)}")
    _may_manage(actor, role)
    if staff.id == actor.id and (changes.get("active") is False or role != staff.role):
        raise Forbidden("you cannot disable yourself or change your own role")
    if role == "admin" and staff.role != "admin":
        raise InvalidRequest("an admin belongs to no hall; create a separate admin account")
    if staff.role == "admin" and role != "admin":
        raise InvalidRequest("an admin account cannot become a hall account; create a new one")
    for key in ("display_name", "employee_no"):
        if key in changes:
            value = changes[key].strip()
            if key == "display_name" and not value:
                raise InvalidRequest("display_name must not be empty")
            setattr(staff, key, value)
    staff.role = role
    if "active" in changes:
        staff.active = bool(changes["active"])
        if not staff.active:
            _revoke_tokens(session, staff, now)
    audit.record(session, actor=actor, action="config.staff.update", at=now, hall_id=staff.hall_id,
                 staff_id=staff.id, fields=sorted(changes))
    return staff


def reset_password(session: Session, staff: Staff, password: str, *, now: datetime, actor: Actor) -> None:
    """Set a new password and end every login of that account."""
    _may_manage(actor, staff.role)
    if not 8 <= len(password) <= 200:
        raise InvalidRequest("password must have 8 to 200 characters")
    staff.password_hash = hash_password(password)
    _revoke_tokens(session, staff, now)
    audit.record(session, actor=actor, action="config.staff.password_reset", at=now, hall_id=staff.hall_id,
                 staff_id=staff.id)


# ---------------------------------------------------------------- CSV import / export of the item catalogue

CSV_COLUMNS = ("code", "name", "category_code", "category_name", "kind", "promised_days", "on_the_spot",
               "appointment_only_slots", "typical_minutes", "queues", "materials") + \
    tuple(f"guide_{k}" for k in GUIDE_FIELDS) + ("active",)
MAX_CSV_ROWS = 5000
_TRUE = {"yes", "y", "true", "1", "是"}
_FALSE = {"no", "n", "false", "0", "否", ""}
_FORMS_ZH = {"原件": "original", "复印件": "copy", "原件和复印件": "original_and_copy"}
# Export quotes formula-like cells with ' (infrastructure/csv_export.py); import removes one leading ',
# so the round trip is exact.


class CsvImportError(InvalidRequest):
    """The file has bad rows; nothing was imported."""

    code = "csv_invalid"

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        shown = "; ".join(f"row {e['row']}: {e['message']}" for e in errors[:5])
        more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        super().__init__(f"{len(errors)} problem(s), nothing imported: {shown}{more}")
        self.errors = errors


def _cell_in(value: str | None) -> str:
    value = value or ""
    return value.removeprefix("'")


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _minutes(seconds: int) -> str:
    return str(seconds // 60) if seconds % 60 == 0 else f"{seconds / 60:g}"


def encode_materials(materials: list[dict[str, Any]]) -> str:
    """Write materials as ``name:form:count:required:deferrable;…``, or JSON when a name would break that."""
    keys = {"name", "form", "count", "required", "deferrable"}
    readable = all(set(m) == keys and not re.search(r"[:;\[\]]", str(m["name"])) and m["name"] == str(m["name"]).strip()
                   and str(m["name"]) for m in materials)
    if not readable:
        return json.dumps(materials, ensure_ascii=False, separators=(",", ":"))
    return ";".join(f"{m['name']}:{m['form']}:{m['count']}:{_yes(m['required'])}:{_yes(m['deferrable'])}"
                    for m in materials)


def _flag(text: str, what: str) -> bool:
    t = text.strip().lower()
    if t in _TRUE:
        return True
    if t in _FALSE:
        return False
    raise ValueError(f"{what} must be yes or no, not {text!r}")


def decode_materials(text: str) -> list[dict[str, Any]]:
    """Read the materials cell (JSON list or the readable encoding) into dicts for MaterialSpec."""
    text = text.strip()
    if not text:
        return []
    if text.startswith("["):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise ValueError(f"materials: invalid JSON ({e.msg})") from e
        if not isinstance(data, list):
            raise ValueError("materials: JSON must be a list")
        return data
    out = []
    for n, part in enumerate(text.split(";"), start=1):
        fields = part.split(":")
        if len(fields) != 5:
            raise ValueError(f"materials #{n}: write name:form:count:required:deferrable")
        name, form, count, required, deferrable = (f.strip() for f in fields)
        if not count.isdigit():
            raise ValueError(f"materials #{n}: count must be a whole number")
        out.append({"name": name, "form": _FORMS_ZH.get(form, form), "count": int(count),
                    "required": _flag(required, f"materials #{n} required"),
                    "deferrable": _flag(deferrable, f"materials #{n} deferrable")})
    return out


def export_items_csv(session: Session, hall: Hall) -> str:
    """Return the hall's item catalogue as CSV text with a UTF-8 BOM (so Excel reads Chinese)."""
    cats = {c.id: c for c in session.scalars(select(ServiceCategory).where(ServiceCategory.hall_id == hall.id))}
    rows: list[list[str]] = [list(CSV_COLUMNS)]
    for item in session.scalars(select(ServiceItem).where(ServiceItem.hall_id == hall.id).order_by(ServiceItem.code)):
        cat = cats[item.category_id]
        guide = item.guide or {}
        row = [item.code, item.name, cat.code, cat.name, item.kind,
               "" if item.promised_days is None else str(item.promised_days), _yes(item.on_the_spot),
               _yes(item.appointment_only_slots), _minutes(item.typical_service_s),
               "|".join(sorted(q.prefix for q in item.queues)), encode_materials(list(item.materials or []))]
        row += [str(guide.get(k, "") or "") for k in GUIDE_FIELDS]
        row.append(_yes(item.active))
        rows.append(row)
    return csv_text(rows)


def _parse_rows(text: str) -> list[tuple[int, dict[str, str]]]:
    text = text.removeprefix("\ufeff")
    try:
        reader = csv.reader(io.StringIO(text, newline=""))
        header = next(reader, None)
        if header is None:
            raise CsvImportError([{"row": 1, "message": "the file is empty"}])
        header = [h.strip() for h in header]
        missing = [c for c in CSV_COLUMNS if c not in header]
        unknown = [h for h in header if h not in CSV_COLUMNS]
        if missing or unknown or len(set(header)) != len(header):
            raise CsvImportError([{"row": 1, "message": f"header: missing {missing or 'none'}, unknown "
                                                        f"{unknown or 'none'}; expected {', '.join(CSV_COLUMNS)}"}])
        rows = []
        for cells in reader:
            row_no = reader.line_num
            if not any(c.strip() for c in cells):
                continue
            if len(rows) >= MAX_CSV_ROWS:
                raise CsvImportError([{"row": row_no, "message": f"at most {MAX_CSV_ROWS} rows per file"}])
            if len(cells) != len(header):
                rows.append((row_no, {"__error__": f"has {len(cells)} cells, the header has {len(header)}"}))
                continue
            rows.append((row_no, {h: _cell_in(c) for h, c in zip(header, cells)}))
        return rows
    except csv.Error as e:
        raise CsvImportError([{"row": 0, "message": f"not readable as CSV: {e}"}]) from e


def import_items_csv(session: Session, hall: Hall, text: str, *, now: datetime, actor: Actor,
                     dry_run: bool = False) -> dict[str, Any]:
    """Create or update items from CSV rows (matched by code); all rows are valid or nothing changes.

    Categories named in the file are created when new; queues are referred to by prefix and must exist.
    Items absent from the file are left as they are.
    """
    rows = _parse_rows(text)
    if not rows:
        raise CsvImportError([{"row": 2, "message": "no data rows"}])
    cats = {c.code: c for c in session.scalars(select(ServiceCategory).where(ServiceCategory.hall_id == hall.id))}
    queues = {q.prefix: q for q in session.scalars(select(Queue).where(Queue.hall_id == hall.id))}
    items = {i.code: i for i in session.scalars(select(ServiceItem).where(ServiceItem.hall_id == hall.id))}
    errors: list[dict[str, Any]] = []
    seen_codes: dict[str, int] = {}
    new_cats: dict[str, str] = {}
    parsed: list[tuple[dict[str, Any], str, str]] = []
    for row_no, row in rows:
        if "__error__" in row:
            errors.append({"row": row_no, "message": row["__error__"]})
            continue
        code = row["code"].strip()
        if code in seen_codes:
            errors.append({"row": row_no, "message": f"item code {code} already appears in row {seen_codes[code]}"})
            continue
        seen_codes[code] = row_no
        cat_code, cat_name = row["category_code"].strip(), row["category_name"].strip()
        try:
            if cat_code in cats:
                if cat_name and cat_name != cats[cat_code].name:
                    raise ValueError(f"category {cat_code} is named {cats[cat_code].name!r} in this hall, "
                                     f"not {cat_name!r}")
            else:
                CategorySpec(code=cat_code, name=cat_name)
                if new_cats.setdefault(cat_code, cat_name) != cat_name:
                    raise ValueError(f"new category {cat_code} is given two names")
            prefixes = [p.strip().upper() for p in row["queues"].split("|") if p.strip()]
            unknown = [p for p in prefixes if p not in queues]
            if unknown:
                raise ValueError(f"unknown queue prefix(es) {', '.join(unknown)}")
            days = row["promised_days"].strip()
            minutes = row["typical_minutes"].strip() or "5"
            try:
                seconds = round(float(minutes) * 60)
            except (ValueError, OverflowError) as e:
                raise ValueError(f"typical_minutes must be a number, not {minutes!r}") from e
            if not 0.5 <= float(minutes) <= 240:
                raise ValueError("typical_minutes must be between 0.5 and 240")
            if days and not (days.isascii() and days.isdigit() and len(days) <= 4):
                raise ValueError(f"promised_days must be a whole number of working days, not {days!r}")
            data = {
                "code": code, "name": row["name"], "category_id": 1, "kind": row["kind"].strip() or "immediate",
                "promised_days": int(days) if days else None,
                "on_the_spot": _flag(row["on_the_spot"], "on_the_spot"),
                "appointment_only_slots": _flag(row["appointment_only_slots"], "appointment_only_slots"),
                "typical_service_s": seconds, "materials": decode_materials(row["materials"]),
                "guide": {k: row[f"guide_{k}"] for k in GUIDE_FIELDS if row[f"guide_{k}"]},
                "queue_ids": [queues[p].id for p in dict.fromkeys(prefixes)],
                "active": _flag(row["active"] or "yes", "active"),
            }
            spec = ItemSpec.model_validate(data)
        except ValidationError as e:
            errors.append({"row": row_no, "message": "; ".join(
                f"{'.'.join(str(x) for x in err['loc']) or 'row'}: {err['msg']}" for err in e.errors()[:3])})
            continue
        except ValueError as e:
            errors.append({"row": row_no, "message": str(e)})
            continue
        parsed.append((spec.model_dump(), cat_code, cat_name))
    if errors:
        raise CsvImportError(errors)
    created = sum(1 for d, _, _ in parsed if d["code"] not in items)
    summary = {"rows": len(parsed), "created": created, "updated": len(parsed) - created,
               "new_categories": sorted(new_cats), "dry_run": dry_run}
    if dry_run:
        return summary
    for code_, name in new_cats.items():
        cats[code_] = ServiceCategory(hall_id=hall.id, code=code_, name=name, sort=len(cats))
        session.add(cats[code_])
    session.flush()
    for data, cat_code, _ in parsed:
        data["category_id"] = cats[cat_code].id
        item = items.get(data["code"])
        if item is None:
            item = ServiceItem(hall_id=hall.id)
            session.add(item)
        _apply_item(session, hall, item, ItemSpec.model_validate(data))
    session.flush()
    audit.record(session, actor=actor, action="config.items.import", at=now, hall_id=hall.id,
                 rows=summary["rows"], created=created, updated=summary["updated"])
    return summary
