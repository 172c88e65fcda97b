"""Load the demo hall: ≥ 10 windows of five kinds, A/B clerks, 31 items in 7 fields, two bundles."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from hall_queue.catalog.search import pinyin_initials
from hall_queue.access.auth import create_staff, hash_password, issue_token
from hall_queue.queueing.calling import DEFAULT_RULES
from hall_queue.entrypoints.demo.data import (BUNDLE_BLOCKING, BUNDLE_LEADS, BUNDLES, CATEGORIES, CLERKS, DEPARTMENTS,
                                             DEMO_ADDRESS, DEMO_AREAS,
                                             ENGLISH_NAMES, ITEMS, QUEUES, WINDOWS)
from hall_queue.domain.models import (Bundle, BundleItem, Department, Hall, Queue, ServiceCategory, ServiceItem, Staff,
                                      Window, WindowQueue)

DEMO_HALL_CODE = "demo"
DEMO_PASSWORD = "onevisit-demo"
ALL_DAY = {d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def _materials(rows) -> list[dict]:
    return [{"name": n, "form": f, "count": c, "required": r, "deferrable": d} for n, f, c, r, d in rows]


def load_demo_hall(session: Session, *, now: datetime, code: str = DEMO_HALL_CODE, name: str = "示例市政务服务中心",
                   opening_hours: dict | None = None, password: str = DEMO_PASSWORD) -> Hall:
    """Create the demo hall (idempotent: an existing hall with ``code`` is returned unchanged)."""
    existing = session.scalar(select(Hall).where(Hall.code == code))
    if existing is not None:
        return existing
    hall = Hall(name=name, code=code, timezone="Asia/Shanghai", opening_hours=opening_hours or ALL_DAY,
                day_boundary="03:00", max_recalls=3, late_requeue_places=3, pause_cover_after_s=300,
                wait_alert_s=1800, default_service_s=600, address=DEMO_ADDRESS)
    session.add(hall)
    session.flush()
    cats = {}
    for i, (c, n) in enumerate(CATEGORIES):
        cats[c] = ServiceCategory(hall_id=hall.id, code=c, name=n, sort=i)
        session.add(cats[c])
    session.flush()
    items: dict[str, ServiceItem] = {}
    for code_, cat, name_, kind, days, ots, minutes, mats, basis, cond in ITEMS:
        item = ServiceItem(
            hall_id=hall.id, category_id=cats[cat].id, code=code_, name=name_, name_en=ENGLISH_NAMES.get(code_),
            pinyin_initials=pinyin_initials(name_),
            kind=kind, promised_days=days, materials=_materials(mats), on_the_spot=ots, typical_service_s=minutes * 60,
            guide={"legal_basis": basis, "conditions": cond, "fees": "不收费",
                   "time_limit": "即办" if kind == "immediate" else f"{days}个工作日",
                   "process": "取号 → 窗口受理 → 审核 → 办结/出件"})
        items[code_] = item
        session.add(item)
    session.flush()
    queues: dict[str, Queue] = {}
    desk_only = {"ZH001", "ZH002"}
    for prefix, qname, codes, cap in QUEUES:
        q = Queue(hall_id=hall.id, prefix=prefix, name=qname, daily_cap=cap)
        q.items = [items[c] for c in codes] if codes is not None else [i for c, i in items.items() if c not in desk_only]
        queues[prefix] = q
        session.add(q)
    session.flush()
    # 业务部门: each field's items are decided by its department (按责转办, 000 §9.4).
    depts: dict[str, Department] = {}
    for dcode, dname, cat, _ in DEPARTMENTS:
        depts[dcode] = Department(hall_id=hall.id, code=dcode, name=dname)
        session.add(depts[dcode])
    session.flush()
    dept_of_cat = {cat: depts[dcode] for dcode, _, cat, _ in DEPARTMENTS}
    for item in items.values():
        item.department_id = dept_of_cat[next(c for c, ci in cats.items() if ci.id == item.category_id)].id
    for bcode, bname, desc, codes in BUNDLES:
        b = Bundle(hall_id=hall.id, code=bcode, name=bname, name_en=ENGLISH_NAMES.get(bcode), description=desc,
                   queue_id=queues["A"].id, lead_department_id=depts[BUNDLE_LEADS[bcode]].id)
        session.add(b)
        session.flush()
        for pos, c in enumerate(codes):
            session.add(BundleItem(bundle_id=b.id, item_id=items[c].id, position=pos,
                                   blocking=c in BUNDLE_BLOCKING.get(bcode, ())))
    staff: dict[str, Staff] = {}
    # One KDF run for all demo accounts: they share the demo password.
    shared_hash = hash_password(password)
    for dcode, _, _, people in DEPARTMENTS:
        for username, display, emp in people:
            person = create_staff(session, username=f"{code}-{username}" if code != DEMO_HALL_CODE else username,
                                  password=password, role="clerk", display_name=display, hall_id=hall.id,
                                  employee_no=emp, password_hash=shared_hash)
            person.department_id = depts[dcode].id
    for username, display, emp in CLERKS:
        staff[username] = create_staff(session, username=f"{code}-{username}" if code != DEMO_HALL_CODE else username,
                                       password=password, role="clerk", display_name=display, hall_id=hall.id,
                                       employee_no=emp, password_hash=shared_hash)
    create_staff(session, username=f"{code}-manager" if code != DEMO_HALL_CODE else "manager", password=password,
                 role="manager", display_name="值班长 周敏", hall_id=hall.id, employee_no="9001",
                 password_hash=shared_hash)
    if code == DEMO_HALL_CODE and session.scalar(select(Staff).where(Staff.username == "admin")) is None:
        create_staff(session, username="admin", password=password, role="admin", display_name="系统管理员",
                     hall_id=None, password_hash=shared_hash)
    for number, wname, kind, served, a, b in WINDOWS:
        w = Window(hall_id=hall.id, number=number, name=wname, kind=kind, is_open=True, area=DEMO_AREAS.get(number),
                   a_clerk_id=staff[a].id, b_clerk_id=staff[b].id, call_rules=list(DEFAULT_RULES))
        w.served = [WindowQueue(queue_id=queues[p].id, rank=r, role=role) for r, (p, role) in enumerate(served)]
        session.add(w)
    session.flush()
    return hall


def issue_demo_tokens(session: Session, hall: Hall, *, now: datetime) -> dict[str, str]:
    """Create a kiosk and a screen token for the hall; returned once, stored hashed."""
    return {"kiosk": issue_token(session, kind="kiosk", hall_id=hall.id, now=now, name="大厅1号取号机"),
            "screen": issue_token(session, kind="screen", hall_id=hall.id, now=now, name="综合屏")}


def load_simple_hall(session: Session, *, code: str, now: datetime, windows: int = 16, queues: str = "A",
                     password: str = DEMO_PASSWORD, opening_hours: dict | None = None) -> Hall:
    """Create a plain hall for load tests and benchmarks: ``windows`` general windows serving every queue.

    Clerks are ``<code>-c01`` … with the given password; window n's A clerk is c<n>, its B clerk c<n+1>.
    """
    hall = Hall(name=f"{code} hall", code=code, timezone="Asia/Shanghai", opening_hours=opening_hours or ALL_DAY,
                day_boundary="03:00", default_service_s=300)
    session.add(hall)
    session.flush()
    cat = ServiceCategory(hall_id=hall.id, code="GEN", name="综合")
    session.add(cat)
    session.flush()
    item = ServiceItem(hall_id=hall.id, category_id=cat.id, code="GEN001", name="综合事项", materials=[], guide={})
    session.add(item)
    session.flush()
    qs = []
    for prefix in queues:
        q = Queue(hall_id=hall.id, prefix=prefix, name=f"队列{prefix}")
        q.items = [item]
        session.add(q)
        qs.append(q)
    session.flush()
    shared_hash = hash_password(password)
    clerks = [create_staff(session, username=f"{code}-c{n:02d}", password=password, role="clerk",
                           display_name=f"办事员{n:02d}", hall_id=hall.id, password_hash=shared_hash)
              for n in range(1, windows + 1)]
    for n in range(1, windows + 1):
        w = Window(hall_id=hall.id, number=n, name=f"综合窗口{n}", kind="general", is_open=True,
                   a_clerk_id=clerks[n - 1].id, b_clerk_id=clerks[n % windows].id if windows > 1 else None,
                   call_rules=list(DEFAULT_RULES))
        w.served = [WindowQueue(queue_id=q.id, rank=r, role="primary") for r, q in enumerate(qs)]
        session.add(w)
    session.flush()
    return hall
