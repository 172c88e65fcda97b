"""The service catalogue: materials lists for items and bundles (一次性告知, 000 §6.9)."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from hall_queue.domain.models import Bundle, ServiceItem

FORM_RANK = {"copy": 1, "original": 2, "original_and_copy": 3}


def _material_key(name: str) -> str:
    return "".join(name.split()).lower()


def merged_materials(items: Iterable[Any]) -> list[dict[str, Any]]:
    """Return the de-duplicated union of the items' materials (003 §3.8 一套材料).

    The same material asked by several items is listed once, with the strongest form
    (original beats copy), the largest count, required if any item requires it, and deferrable
    only if every item that asks for it allows deferral (容缺受理). ``items`` are anything with ``code``
    and ``materials`` (ORM items, or the cached routes of the issue path); the slip, the clerk's console
    and the booking page all list what this returns.
    """
    merged: dict[str, dict[str, Any]] = {}
    for item in items:
        for m in item.materials or []:
            key = _material_key(m["name"])
            cur = merged.get(key)
            if cur is None:
                merged[key] = {**m, "for_items": [item.code]}
                continue
            if FORM_RANK.get(m.get("form", "copy"), 1) > FORM_RANK.get(cur.get("form", "copy"), 1):
                cur["form"] = m.get("form")
            cur["count"] = max(int(cur.get("count", 1)), int(m.get("count", 1)))
            cur["required"] = bool(cur.get("required", True)) or bool(m.get("required", True))
            cur["deferrable"] = bool(cur.get("deferrable", False)) and bool(m.get("deferrable", False))
            cur["for_items"].append(item.code)
    return list(merged.values())


def bundle_materials(bundle: Bundle) -> list[dict[str, Any]]:
    return merged_materials(list(bundle.items))


def item_view(item: ServiceItem) -> dict[str, Any]:
    return {
        "id": item.id, "code": item.code, "name": item.name, "name_en": item.name_en, "category_id": item.category_id,
        "pinyin_initials": item.pinyin_initials, "kind": item.kind, "promised_days": item.promised_days,
        "materials": item.materials, "guide": item.guide, "on_the_spot": item.on_the_spot,
        "appointment_only_slots": item.appointment_only_slots, "queue_ids": [q.id for q in item.queues],
    }


def bundle_view(bundle: Bundle) -> dict[str, Any]:
    return {"id": bundle.id, "code": bundle.code, "name": bundle.name, "name_en": bundle.name_en,
            "description": bundle.description,
            "queue_id": bundle.queue_id, "item_ids": [i.id for i in bundle.items],
            "materials": bundle_materials(bundle)}
