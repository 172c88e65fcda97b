"""Pydantic request/response schemas of the API (the OpenAPI document is generated from them)."""
from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal, Optional

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from hall_queue.domain import vocabulary as V


def _not_a_truth_value(value: Any) -> Any:
    # JSON's true/false are no ids: pydantic would read true as 1 and take the first row's id.
    if isinstance(value, bool):
        raise ValueError("an id is a number, not true or false")
    return value


Id = Annotated[int, BeforeValidator(_not_a_truth_value), Field(ge=1, le=V.MAX_ID)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)]
# What a `name` column (String(100)) holds: PostgreSQL refuses more, with a 500, where SQLite took it.
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
IdNumber = Annotated[str, StringConstraints(strip_whitespace=True, pattern=V.ID_NUMBER_PATTERN)]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, pattern=V.PHONE_PATTERN)]
Outcome = V.Outcome


class In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Out(BaseModel):
    model_config = ConfigDict(extra="allow")


class LoginIn(In):
    username: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class StaffOut(Out):
    id: int
    username: str
    display_name: str
    role: str
    hall_id: Optional[int]


class LoginOut(Out):
    token: str
    staff: StaffOut


class IssueIn(In):
    """Take a ticket for one or more service items, or for a life-event bundle (一件事)."""

    item_ids: Annotated[list[Id], Field(max_length=10)] = []
    bundle_id: Optional[Id] = None
    priority_class: Literal[V.WALK_IN_CLASSES] = "ordinary"  # type: ignore[valid-type]
    green_reason: Optional[V.GreenReason] = None
    name: Optional[Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]] = None
    id_number: Optional[IdNumber] = None
    phone: Optional[Phone] = None


class TicketOut(Out):
    id: int
    number: str
    queue_id: int
    status: str
    priority_class: str
    items: list[str]
    masked_name: Optional[str] = None
    masked_id: Optional[str] = None
    issued_at: str
    window_id: Optional[int] = None


class IssuedOut(TicketOut):
    people_ahead: int
    estimated_wait_s: int
    route_reason: str
    follow_code: str
    replayed: bool
    # Issue 17: the wait a visitor is told, as a range, with the position that counts bookings at their slot.
    wait_low_s: Optional[int] = None
    wait_high_s: Optional[int] = None
    wait_position: Optional[int] = None
    wait_text: Optional[str] = None


class CallOut(Out):
    ticket: Optional[dict[str, Any]]
    reason: str


class PauseIn(In):
    reason: ShortText


class DeferredMaterial(In):
    name: ShortText
    due_date: date
    promise: Note = ""


class ItemDecisionIn(In):
    """The clerk's decision on one item of the ticket (a bundle's or a multi-item ticket's)."""

    item_id: Id
    outcome: Outcome
    note: Optional[Note] = None


class SpecialProcedureIn(In):
    name: ShortText
    days: Annotated[int, Field(ge=1, le=365)]


class FinishIn(In):
    outcome: Outcome
    note: Optional[Note] = None
    missing_materials: Annotated[list[ShortText], Field(max_length=50)] = []
    deferred_materials: Annotated[list[DeferredMaterial], Field(max_length=50)] = []
    # Cases (办件): a decision per item (default: the ticket's outcome for every item), special procedures
    # noted on the receipt (000 §9.3.4, 002 §8.2.6) and the intermediary service (002 §8.2.2).
    decisions: Annotated[list[ItemDecisionIn], Field(max_length=10)] = []
    special_procedures: Annotated[list[SpecialProcedureIn], Field(max_length=10)] = []
    intermediary_service: Optional[Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]] = None


class FinishAndCallIn(FinishIn):
    ticket_id: Id  # the ticket in hand being finished: a repeated press names a finished one and is refused


class FinishAndCallOut(CallOut):
    finished: dict[str, Any]


class TransferIn(In):
    window_id: Optional[Id] = None
    queue_id: Optional[Id] = None
    note: Optional[Note] = None


class CoverIn(In):
    by_window_id: Id


class WindowQueueIn(In):
    queue_id: Id
    role: V.QueueRole = "primary"


class CallRuleIn(In):
    rule: V.CallRule
    green: Optional[Annotated[int, Field(ge=1, le=20)]] = None
    ordinary: Optional[Annotated[int, Field(ge=1, le=20)]] = None
    after_s: Optional[Annotated[int, Field(ge=0, le=86400)]] = None
    green_bonus_s: Optional[Annotated[int, Field(ge=0, le=86400)]] = None


class WindowConfigIn(In):
    kind: Optional[V.WindowKind] = None
    queues: Optional[Annotated[list[WindowQueueIn], Field(min_length=1, max_length=30)]] = None
    call_rules: Optional[Annotated[list[CallRuleIn], Field(min_length=1, max_length=6)]] = None
    a_clerk_id: Optional[Id] = None
    b_clerk_id: Optional[Id] = None


class WindowOut(Out):
    id: int
    number: int
    name: str
    kind: str
    status: str


class SnapshotOut(Out):
    hall: dict[str, Any]
    windows: list[dict[str, Any]]
    queues: list[dict[str, Any]]
    recent_calls: list[dict[str, Any]]
    missed: list[dict[str, Any]] = []


class ListOut(Out):
    items: list[dict[str, Any]]


class DeskListsOut(Out):
    waiting: list[dict[str, Any]]
    no_shows: list[dict[str, Any]]
    today: dict[str, Any]
    rules: dict[str, Any]


class CatalogOut(Out):
    categories: list[dict[str, Any]]
    items: list[dict[str, Any]]
    bundles: list[dict[str, Any]]
    queues: list[dict[str, Any]]  # each with wait_place: [{"area", "windows"}]
    hall_address: Optional[str] = None


class FollowOut(Out):
    ticket: dict[str, Any]
    people_ahead: int
    estimated_wait_s: int
    wait_low_s: int
    wait_high_s: int
    wait_position: int
    wait_text: str


class OkOut(Out):
    ok: bool
