"""Configuration API (issue 6b): halls, categories, items, bundles, queues, windows, staff, CSV catalogue.

Thin adapters over ``catalog_admin`` (STYLE rule 6). Managers configure their own hall, admins any hall.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, Optional

from flask import Response, g, request
from pydantic import BaseModel, ConfigDict, create_model
from sqlalchemy import select
from sqlalchemy.orm import Session

from hall_queue.catalog import admin as C
from hall_queue.domain.errors import InvalidRequest
from hall_queue.domain.models import Bundle, Hall, Queue, ServiceCategory, ServiceItem, Staff, Window
from hall_queue.bootstrap import runtime
from hall_queue.entrypoints.api import schemas as S
from hall_queue.entrypoints.api.base import MANAGERS, get_hall, get_row, now, operation, write
from hall_queue.entrypoints.api.errors import error_response


def partial(model: type[BaseModel]) -> type[BaseModel]:
    """Return ``model`` with every field optional: the body of a PATCH (sent fields only)."""
    # typing.Optional, not "| None": the annotation is a runtime object that need not support "|".
    fields: dict[str, Any] = {name: (Optional[f.annotation], None)  # noqa: UP045
                              for name, f in model.model_fields.items()}
    return create_model(f"{model.__name__}Patch", __config__=ConfigDict(extra="forbid"), **fields)


def _changes(body: BaseModel) -> dict[str, Any]:
    data = body.model_dump(exclude_unset=True)
    if not data:
        raise InvalidRequest("send at least one field to change", code="validation_error")
    return data


class HallIn(C.HallSettingsSpec):
    code: str


class PasswordIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    password: C.Password


class StaffPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    display_name: C.DisplayName | None = None
    employee_no: C.EmployeeNo | None = None
    role: C.Role | None = None
    active: bool | None = None


HallPatch = partial(C.HallSettingsSpec)
CategoryPatch = partial(C.CategorySpec)
ItemPatch = partial(C.ItemSpec)
BundlePatch = partial(C.BundleSpec)
QueuePatch = partial(C.QueueSpec)
WindowPatch = partial(C.WindowSpec)
TAGS = ("config",)


def _hall_rows(hall_id: int, model: type, order, view) -> dict[str, Any]:
    with runtime().db.read() as s:
        hall = get_hall(s, hall_id)
        return {"items": [view(r) for r in s.scalars(select(model).where(model.hall_id == hall.id).order_by(*order))]}


def _row_and_events(saved: Any) -> tuple[Any, list]:
    # ``save_window`` answers (window, events), as a window change can end a post; the other services a row
    return saved if isinstance(saved, tuple) else (saved, [])


def _create(hall_id: int, save: Callable[..., Any], view: Callable[[Any], dict], body: BaseModel):
    """Create a row of the hall through its ``catalog_admin`` service; answer its view with 201."""
    def do(s: Session):
        row, events = _row_and_events(save(s, get_hall(s, hall_id), body.model_dump(), now=now(), actor=g.actor))
        return view(row), events
    return write(do), 201


def _update(model: type, row_id: int, what: str, save: Callable[..., Any], view: Callable[[Any], dict],
            body: BaseModel, *, row_keyword: str):
    """Change the sent fields of one row through its ``catalog_admin`` service (the row goes as ``row_keyword``)."""
    changes = _changes(body)

    def do(s: Session):
        row = get_row(s, model, row_id, what)
        saved = save(s, s.get(Hall, row.hall_id), changes, now=now(), actor=g.actor, **{row_keyword: row})
        row, events = _row_and_events(saved)
        return view(row), events
    return write(do)


def _delete(model: type, row_id: int, what: str, delete: Callable[..., None]):
    """Delete one unused row through its ``catalog_admin`` service (which refuses a row still in use)."""
    def do(s: Session):
        delete(s, get_row(s, model, row_id, what), now=now(), actor=g.actor)
        return {"ok": True}, []
    return write(do)


# ---------------------------------------------------------------- halls

@operation("/halls", "POST", roles=("admin",), summary="Create a hall", body=HallIn, status=201, tags=TAGS)
def cfg_create_hall(body: HallIn):
    def do(s: Session):
        settings = C.HallSettingsSpec.model_validate(body.model_dump(exclude={"code"}))
        hall = C.create_hall(s, code=body.code, settings=settings, now=now(), actor=g.actor)
        return C.hall_settings_view(hall), []
    return write(do), 201


@operation("/halls/<int:hall_id>/settings", "GET", roles=MANAGERS, summary="Read a hall's opening hours and thresholds",
           tags=TAGS)
def cfg_hall_settings(hall_id: int):
    with runtime().db.read() as s:
        return C.hall_settings_view(get_hall(s, hall_id))


@operation("/halls/<int:hall_id>/settings", "PATCH", roles=MANAGERS,
           summary="Change a hall's name, opening hours or thresholds", body=HallPatch, tags=TAGS)
def cfg_update_hall(hall_id: int, body: BaseModel):
    changes = _changes(body)

    def do(s: Session):
        hall = C.update_hall(s, get_hall(s, hall_id), changes, now=now(), actor=g.actor)
        return C.hall_settings_view(hall), []
    return write(do)


# ---------------------------------------------------------------- categories

@operation("/halls/<int:hall_id>/categories", "GET", roles=MANAGERS, summary="List service categories",
           response=S.ListOut, tags=TAGS)
def cfg_list_categories(hall_id: int):
    return _hall_rows(hall_id, ServiceCategory, (ServiceCategory.sort, ServiceCategory.id), C.category_view)


@operation("/halls/<int:hall_id>/categories", "POST", roles=MANAGERS, summary="Create a service category",
           body=C.CategorySpec, status=201, tags=TAGS)
def cfg_create_category(hall_id: int, body: C.CategorySpec):
    return _create(hall_id, C.save_category, C.category_view, body)


@operation("/categories/<int:category_id>", "PATCH", roles=MANAGERS, summary="Change a service category",
           body=CategoryPatch, tags=TAGS)
def cfg_update_category(category_id: int, body: BaseModel):
    return _update(ServiceCategory, category_id, "category", C.save_category, C.category_view, body,
                   row_keyword="category")


@operation("/categories/<int:category_id>", "DELETE", roles=MANAGERS, summary="Delete an unused service category",
           response=S.OkOut, tags=TAGS)
def cfg_delete_category(category_id: int):
    return _delete(ServiceCategory, category_id, "category", C.delete_category)


# ---------------------------------------------------------------- items

@operation("/halls/<int:hall_id>/items", "GET", roles=MANAGERS, summary="List service items (active and inactive)",
           response=S.ListOut, tags=TAGS)
def cfg_list_items(hall_id: int):
    return _hall_rows(hall_id, ServiceItem, (ServiceItem.code,), C.item_admin_view)


@operation("/halls/<int:hall_id>/items", "POST", roles=MANAGERS, summary="Create a service item", body=C.ItemSpec,
           status=201, tags=TAGS)
def cfg_create_item(hall_id: int, body: C.ItemSpec):
    return _create(hall_id, C.save_item, C.item_admin_view, body)


@operation("/items/<int:item_id>", "GET", roles=MANAGERS, summary="Read a service item", tags=TAGS)
def cfg_get_item(item_id: int):
    with runtime().db.read() as s:
        return C.item_admin_view(get_row(s, ServiceItem, item_id, "service item"))


@operation("/items/<int:item_id>", "PATCH", roles=MANAGERS, summary="Change a service item", body=ItemPatch, tags=TAGS)
def cfg_update_item(item_id: int, body: BaseModel):
    return _update(ServiceItem, item_id, "service item", C.save_item, C.item_admin_view, body, row_keyword="item")


@operation("/items/<int:item_id>", "DELETE", roles=MANAGERS, summary="Delete an unused service item",
           response=S.OkOut, tags=TAGS)
def cfg_delete_item(item_id: int):
    return _delete(ServiceItem, item_id, "service item", C.delete_item)


@operation("/halls/<int:hall_id>/items.csv", "GET", roles=MANAGERS,
           summary="Export the item catalogue as CSV (UTF-8 with BOM)", tags=TAGS)
def cfg_export_items(hall_id: int):
    with runtime().db.read() as s:
        hall = get_hall(s, hall_id)
        text = C.export_items_csv(s, hall)
    return Response(text.encode("utf-8"), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="items-{hall.code}.csv"'})


def _uploaded_text() -> str:
    upload = request.files.get("file")
    raw = upload.read() if upload is not None else request.get_data(cache=False)
    for encoding in ("utf-8-sig", "gb18030"):  # Excel on Chinese Windows saves CSV as GBK unless told otherwise
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InvalidRequest("the file is neither UTF-8 nor GB18030 text", code="csv_invalid")


@operation("/halls/<int:hall_id>/items.csv", "POST", roles=MANAGERS,
           summary="Import the item catalogue from CSV (all rows or none)", tags=TAGS)
def cfg_import_items(hall_id: int):
    text = _uploaded_text()
    dry_run = request.args.get("dry_run", "").lower() in ("1", "true", "yes")
    try:
        def do(s: Session):
            return C.import_items_csv(s, get_hall(s, hall_id), text, now=now(), actor=g.actor, dry_run=dry_run), []
        return write(do)
    except C.CsvImportError as e:
        resp = error_response(422, e.code, e.message)
        resp.set_data(_json_with_rows(e))
        return resp


def _json_with_rows(e: C.CsvImportError) -> bytes:
    import json

    return json.dumps({"error": {"code": e.code, "message": e.message, "rows": e.errors[:200]}},
                      ensure_ascii=False).encode("utf-8")


# ---------------------------------------------------------------- bundles

@operation("/halls/<int:hall_id>/bundles", "GET", roles=MANAGERS, summary="List life-event bundles",
           response=S.ListOut, tags=TAGS)
def cfg_list_bundles(hall_id: int):
    return _hall_rows(hall_id, Bundle, (Bundle.code,), C.bundle_admin_view)


@operation("/halls/<int:hall_id>/bundles", "POST", roles=MANAGERS, summary="Create a life-event bundle",
           body=C.BundleSpec, status=201, tags=TAGS)
def cfg_create_bundle(hall_id: int, body: C.BundleSpec):
    return _create(hall_id, C.save_bundle, C.bundle_admin_view, body)


@operation("/bundles/<int:bundle_id>", "PATCH", roles=MANAGERS, summary="Change a life-event bundle",
           body=BundlePatch, tags=TAGS)
def cfg_update_bundle(bundle_id: int, body: BaseModel):
    return _update(Bundle, bundle_id, "bundle", C.save_bundle, C.bundle_admin_view, body, row_keyword="bundle")


@operation("/bundles/<int:bundle_id>", "DELETE", roles=MANAGERS, summary="Delete an unused life-event bundle",
           response=S.OkOut, tags=TAGS)
def cfg_delete_bundle(bundle_id: int):
    return _delete(Bundle, bundle_id, "bundle", C.delete_bundle)


# ---------------------------------------------------------------- queues

@operation("/halls/<int:hall_id>/queues", "GET", roles=MANAGERS, summary="List queues", response=S.ListOut, tags=TAGS)
def cfg_list_queues(hall_id: int):
    return _hall_rows(hall_id, Queue, (Queue.prefix,), C.queue_admin_view)


@operation("/halls/<int:hall_id>/queues", "POST", roles=MANAGERS, summary="Create a queue", body=C.QueueSpec,
           status=201, tags=TAGS)
def cfg_create_queue(hall_id: int, body: C.QueueSpec):
    return _create(hall_id, C.save_queue, C.queue_admin_view, body)


@operation("/queues/<int:queue_id>", "PATCH", roles=MANAGERS, summary="Change a queue", body=QueuePatch, tags=TAGS)
def cfg_update_queue(queue_id: int, body: BaseModel):
    return _update(Queue, queue_id, "queue", C.save_queue, C.queue_admin_view, body, row_keyword="queue")


@operation("/queues/<int:queue_id>", "DELETE", roles=MANAGERS, summary="Delete an unused queue", response=S.OkOut,
           tags=TAGS)
def cfg_delete_queue(queue_id: int):
    return _delete(Queue, queue_id, "queue", C.delete_queue)


# ---------------------------------------------------------------- windows

@operation("/halls/<int:hall_id>/windows", "POST", roles=MANAGERS, summary="Create a window", body=C.WindowSpec,
           status=201, tags=TAGS)
def cfg_create_window(hall_id: int, body: C.WindowSpec):
    return _create(hall_id, C.save_window, C.window_admin_view, body)


@operation("/windows/<int:window_id>", "PATCH", roles=MANAGERS,
           summary="Change a window's number, name, kind, queues or A/B clerks", body=WindowPatch, tags=TAGS)
def cfg_update_window(window_id: int, body: BaseModel):
    return _update(Window, window_id, "window", C.save_window, C.window_admin_view, body, row_keyword="window")


@operation("/windows/<int:window_id>", "DELETE", roles=MANAGERS, summary="Delete an unused window", response=S.OkOut,
           tags=TAGS)
def cfg_delete_window(window_id: int):
    return _delete(Window, window_id, "window", C.delete_window)


# ---------------------------------------------------------------- staff

@operation("/halls/<int:hall_id>/staff", "GET", roles=MANAGERS, summary="List a hall's staff", response=S.ListOut,
           tags=TAGS)
def cfg_list_staff(hall_id: int):
    return _hall_rows(hall_id, Staff, (Staff.role, Staff.username), C.staff_view)


@operation("/halls/<int:hall_id>/staff", "POST", roles=MANAGERS, summary="Create a staff account",
           body=C.StaffSpec, status=201, tags=TAGS)
def cfg_create_staff(hall_id: int, body: C.StaffSpec):
    def do(s: Session):
        return C.staff_view(C.add_staff(s, get_hall(s, hall_id), body, now=now(), actor=g.actor)), []
    return write(do), 201


@operation("/staff/<int:staff_id>", "PATCH", roles=MANAGERS,
           summary="Change a staff account (name, number, role, active)", body=StaffPatch, tags=TAGS)
def cfg_update_staff(staff_id: int, body: StaffPatch):
    changes = _changes(body)

    def do(s: Session):
        staff = get_row(s, Staff, staff_id, "staff")
        return C.staff_view(C.update_staff(s, staff, changes, now=now(), actor=g.actor)), []
    return write(do)


@operation("/staff/<int:staff_id>/password", "POST", roles=MANAGERS,
           summary="Reset a staff password (ends their logins)", body=PasswordIn, response=S.OkOut, tags=TAGS)
def cfg_reset_password(staff_id: int, body: PasswordIn):
    def do(s: Session):
        C.reset_password(s, get_row(s, Staff, staff_id, "staff"), body.password, now=now(), actor=g.actor)
        return {"ok": True}, []
    return write(do)
