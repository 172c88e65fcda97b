"""Set up a real hall (``onevisit setup``): the hall, its queues, windows and catalogue, and the first admin.

Issue 13, finding 2: the only way to set up a hall used to be ``onevisit demo``, which creates the
published demo accounts. This creates nothing but what it is given, in one transaction (all or
nothing), reusing the configuration's own rules (catalog_admin: hall, queue, window, CSV import).

The catalogue is the CSV the configuration page exports and imports (``items.csv``), or a JSON file
``{"queues": [{"prefix": "A", "name": "综合业务"}], "windows": [{"number": 1, "name": "1号窗口",
"queues": ["A"]}], "items": [{<the CSV's columns>}]}``.
"""
from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hall_queue.access import audit
from hall_queue.catalog import admin as C
from hall_queue.access.audit import Actor
from hall_queue.access.auth import create_staff
from hall_queue.domain.errors import InvalidRequest


@dataclass
class Catalogue:
    """What a hall starts with: queues (prefix → name), windows, and the items as CSV text (may be empty)."""

    queues: dict[str, str] = field(default_factory=dict)
    windows: list[dict[str, Any]] = field(default_factory=list)
    items_csv: str = ""


def parse_queues(text: str) -> dict[str, str]:
    """``"A:综合业务,B:不动产登记"`` → {"A": "综合业务", "B": "不动产登记"}."""
    out: dict[str, str] = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        prefix, _, name = part.partition(":")
        prefix = prefix.strip().upper()
        out[prefix] = name.strip() or f"{prefix}类业务"
    return out


def _prefixes_in_csv(text: str) -> list[str]:
    rows = csv.DictReader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    seen: dict[str, None] = {}
    for row in rows:
        for p in (row.get("queues") or "").split("|"):
            if p.strip():
                seen[p.strip().upper()] = None
    return list(seen)


def _items_to_csv(items: list[dict[str, Any]]) -> str:
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise InvalidRequest("catalogue JSON: items must be a list of objects", code="validation_error")
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(C.CSV_COLUMNS)
    for item in items:
        unknown = set(item) - set(C.CSV_COLUMNS)
        if unknown:
            raise InvalidRequest(f"catalogue JSON: unknown item field(s) {', '.join(sorted(unknown))}",
                                 code="validation_error")
        w.writerow(["" if item.get(c) is None else str(item.get(c)) for c in C.CSV_COLUMNS])
    return buf.getvalue()


def read_catalogue(text: str, *, json_file: bool) -> Catalogue:
    """Read a catalogue file: the configuration's item CSV, or the JSON form (module docstring)."""
    if not json_file:
        return Catalogue(queues={p: f"{p}类业务" for p in _prefixes_in_csv(text)}, items_csv=text)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise InvalidRequest(f"catalogue JSON is not valid JSON: {e}", code="validation_error") from e
    if not isinstance(data, dict):
        raise InvalidRequest("catalogue JSON must be an object", code="validation_error")
    queues = {str(q.get("prefix", "")).strip().upper(): str(q.get("name", "")).strip()
              for q in data.get("queues") or [] if isinstance(q, dict)}
    items = data.get("items") or []
    return Catalogue(queues=queues, windows=list(data.get("windows") or []),
                     items_csv=_items_to_csv(items) if items else "")


def setup_hall(session, *, code: str, name: str, timezone: str = "Asia/Shanghai", catalogue: Catalogue,
               windows: int = 0, admin_username: str, admin_password: str, admin_name: str = "",
               now: datetime) -> dict[str, Any]:
    """Create the hall with its catalogue and the first administrator; return what was created."""
    admin = create_staff(session, username=admin_username, password=admin_password, role="admin",
                         display_name=admin_name or admin_username, hall_id=None)
    actor = Actor("staff", admin.id, "admin", None)  # the set-up is recorded as the first admin's
    hall = C.create_hall(session, code=code, settings=C.HallSettingsSpec(name=name, timezone=timezone), now=now,
                         actor=actor)
    queues = {prefix: C.save_queue(session, hall, {"prefix": prefix, "name": qname}, now=now, actor=actor)
              for prefix, qname in catalogue.queues.items()}
    imported = (C.import_items_csv(session, hall, catalogue.items_csv, now=now, actor=actor)
                if catalogue.items_csv.strip() else {})
    specs = list(catalogue.windows) or [{"number": n, "name": f"{n}号窗口", "queues": list(queues)}
                                        for n in range(1, windows + 1)]
    for spec in specs:
        if not isinstance(spec, dict):
            raise InvalidRequest("catalogue JSON: windows must be objects", code="validation_error")
        served = []
        for prefix in spec.get("queues") or []:
            if str(prefix).upper() not in queues:
                raise InvalidRequest(f"window {spec.get('number')}: unknown queue {prefix}", code="validation_error")
            served.append({"queue_id": queues[str(prefix).upper()].id})
        C.save_window(session, hall, {**spec, "queues": served}, now=now, actor=actor)
    audit.record(session, actor=actor, action="config.hall.setup", at=now, hall_id=hall.id, admin_id=admin.id,
                 queues=len(queues), windows=len(specs))
    return {"hall_id": hall.id, "code": hall.code, "name": hall.name, "queues": sorted(queues),
            "windows": len(specs), "items": imported.get("created", 0) + imported.get("updated", 0)
            if imported else 0, "admin": admin.username}
