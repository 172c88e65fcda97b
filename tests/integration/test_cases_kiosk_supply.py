"""Issue 15, the gaps left: 容缺 materials scanned at the kiosk (pages kept with the case, supplied, the clock run
again), a result on at most one open handover ticket, and the limit on typed acceptance numbers (429)."""
from __future__ import annotations

import io
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from PIL import Image
from sqlalchemy import func, select

from hall_queue.access.audit import SYSTEM
from hall_queue.cases import handover
from hall_queue.domain.errors import DomainError
from hall_queue.domain.models import AuditEvent, Case, CaseAttachment, Hall, LookupHit
from hall_queue.domain.vocabulary import (
    NUMBER_LOOKUP_BUSY_MESSAGE,
    NUMBER_LOOKUP_WINDOW_S,
    NUMBER_LOOKUPS_PER_ADDRESS,
    NUMBER_LOOKUPS_PER_DEVICE,
)
from tests.conftest import engines
from tests.integration.test_cases_api import ID, OTHER_ID, accept, later, step

pytestmark = pytest.mark.parametrize("db", engines(), indirect=True)

MATERIALS = [{"name": "清税证明", "due_date": "2026-03-06", "promise": "五日内补交"},
             {"name": "经营场所平面图", "due_date": "2026-03-06"}]


def jpeg(shade: int = 200) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (420, 594), (shade, shade, shade)).save(buf, "JPEG")
    return buf.getvalue()


def upload(api, material_id: int, data: bytes | None = None, token: str | None = None):
    return api.client.post(f"/api/v1/deferred-materials/{material_id}/pages?page_size=A4", data=data or jpeg(),
                           content_type="image/jpeg",
                           headers={"Authorization": f"Bearer {token or api.tokens['kiosk']}"})


def owed(api, body: dict):
    return api.post(f"/api/v1/halls/{api.hall_id}/deferred-supply/lookup", body, token=api.tokens["kiosk"])


def supply(api, material_id: int, body: dict, **kw):
    return api.post(f"/api/v1/deferred-materials/{material_id}/supply", body, token=api.tokens["kiosk"], **kw)


def code_of(api, case_id: int) -> str:
    detail = api.get(f"/api/v1/cases/{case_id}", token=api.token("clerk01")).get_json()
    return detail["progress_path"].rsplit("/", 1)[1]


def test_kiosk_supplies_a_deferred_material_with_its_scanned_pages(api, db):
    case = accept(api, "SS003", outcome="deferred", deferred_materials=MATERIALS)["cases"][0]
    number = case["acceptance_no"]
    # A typed number alone lists nothing (numbers run in sequence): the card must go with it.
    r = owed(api, {"acceptance_no": number})
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "card_required"
    assert owed(api, {"acceptance_no": number, "id_number": OTHER_ID}).get_json() == {"count": 0, "cases": []}
    by_card = owed(api, {"id_number": ID}).get_json()
    assert by_card == owed(api, {"acceptance_no": number.lower(), "id_number": ID}).get_json() \
        == owed(api, {"code": code_of(api, case["id"])}).get_json()
    [entry] = by_card["cases"]
    assert by_card["count"] == 2 and entry["acceptance_no"] == number and entry["title"] == "企业注销登记"
    first, second = entry["materials"]
    assert (first["name"], first["due_on"], first["overdue"], first["pages"]) == ("清税证明", "2026-03-06", False, 0)
    assert ID not in str(by_card) and "张" not in str(by_card)

    # Pages first (a staff token cannot upload; a non-image is refused), then the supply with the card shown again.
    assert upload(api, first["id"], token=api.token("clerk01")).status_code == 403
    bad = upload(api, first["id"], data=b"not an image")
    assert bad.status_code == 422 and bad.get_json()["error"]["code"] == "bad_image"
    assert upload(api, first["id"]).status_code == 201
    assert upload(api, first["id"], data=jpeg(120)).get_json()["position"] == 2
    r = supply(api, first["id"], {"via": "kiosk"})
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "not_the_applicant"
    assert supply(api, first["id"], {"via": "kiosk", "id_number": OTHER_ID}).status_code == 403
    r = supply(api, second["id"], {"via": "kiosk", "id_number": ID})
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "pages_required"
    r = supply(api, first["id"], {"via": "kiosk", "id_number": ID}, headers={"Idempotency-Key": "supply-1"})
    assert r.status_code == 200 and r.get_json()["state"] == "supplied", r.get_json()
    again = supply(api, first["id"], {"via": "kiosk", "id_number": ID}, headers={"Idempotency-Key": "supply-1"})
    assert again.get_json() == r.get_json()                       # a lost answer, retried: the same answer
    r = supply(api, first["id"], {"via": "kiosk", "id_number": ID})
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "already_supplied"
    assert upload(api, first["id"]).status_code == 409           # a supplied material takes no more pages

    left = owed(api, {"id_number": ID}).get_json()
    assert left["count"] == 1 and [m["name"] for m in left["cases"][0]["materials"]] == ["经营场所平面图"]
    detail = api.get(f"/api/v1/cases/{case['id']}", token=api.token("dept-ss")).get_json()
    assert detail["visits"] == 2                                   # the trip back counts
    supplied = [m for m in detail["deferred_materials"] if m["state"] == "supplied"]
    assert [m["name"] for m in supplied] == ["清税证明"]
    pages = detail["supplied_pages"]
    assert [(p["material"], p["position"]) for p in pages] == [("清税证明", 1), ("清税证明", 2)]
    ev = [e for e in detail["events"] if e["action"] == "material_supplied"]
    assert ev[0]["detail"]["via"] == "kiosk" and ev[0]["note"] == "清税证明"
    # The department reads the page; another department cannot; every look is audited.
    img = api.get(pages[0]["url"], token=api.token("dept-ss"))
    assert img.status_code == 200 and img.mimetype == "image/jpeg" and img.headers["Cache-Control"] == "no-store"
    assert api.get(pages[0]["url"], token=api.token("dept-bdc")).status_code == 403
    with db.read() as s:
        actions = s.scalars(select(AuditEvent.action).where(AuditEvent.action.in_(
            ("case.attach_page", "case.read_page", "case.material_supplied")))).all()
        assert sorted(actions) == ["case.attach_page", "case.attach_page", "case.material_supplied", "case.read_page"]
        assert s.scalar(select(func.count()).select_from(CaseAttachment)) == 2


def test_the_clock_runs_again_when_the_supplement_waited_for_the_deferred_material(api):
    case = accept(api, "SS003", outcome="deferred", deferred_materials=MATERIALS[:1])["cases"][0]
    assert case["due_on"] == "2026-03-05"                          # Mon + 3 working days
    step(api, "dept-ss", case["id"], "take")
    step(api, "dept-ss", case["id"], "request-supplement", {"materials": ["清税证明"]})
    later(api, days=2)                                             # Wed: two working days stood still
    [m] = owed(api, {"id_number": ID}).get_json()["cases"][0]["materials"]
    assert upload(api, m["id"]).status_code == 201
    r = supply(api, m["id"], {"via": "kiosk", "id_number": ID})
    assert r.status_code == 200 and r.get_json()["case_state"] == "in_review", r.get_json()
    detail = api.get(f"/api/v1/cases/{case['id']}", token=api.token("dept-ss")).get_json()
    assert detail["due_on"] == "2026-03-09" and detail["clock"]["running"] and detail["clock"]["stopped_working_days"] == 2
    assert detail["visits"] == 2                                   # one trip, not two
    assert [e["action"] for e in detail["events"]][-2:] == ["material_supplied", "supplement_received"]
    step(api, "dept-ss", case["id"], "decide", {"decision": "approved"})   # nothing owed any more


def test_a_supplement_asking_for_more_than_the_deferred_material_keeps_the_clock_stopped(api):
    case = accept(api, "SS003", outcome="deferred", deferred_materials=MATERIALS[:1])["cases"][0]
    step(api, "dept-ss", case["id"], "take")
    step(api, "dept-ss", case["id"], "request-supplement", {"materials": ["清税证明", "股东会决议"]})
    [m] = owed(api, {"id_number": ID}).get_json()["cases"][0]["materials"]
    upload(api, m["id"])
    assert supply(api, m["id"], {"via": "kiosk", "id_number": ID}).get_json()["case_state"] == "supplement"


def _ready(api) -> dict:
    case = accept(api, "SS003")["cases"][0]
    for path, body in (("take", {}), ("decide", {"decision": "approved"}), ("result-ready", {})):
        step(api, "dept-ss", case["id"], path, body)
    return case


def test_a_result_is_on_at_most_one_open_handover_ticket(api):
    case = _ready(api)
    kiosk = api.tokens["kiosk"]
    pickups = f"/api/v1/halls/{api.hall_id}/pickups"
    first = api.post(pickups, {"id_number": ID}, token=kiosk, headers={"Idempotency-Key": "p-1"})
    assert first.status_code == 201
    ticket = first.get_json()
    # Another press (the QR, the typed number, the card again): nothing left to attach, and the kiosk says why.
    looked = api.post(pickups + "/lookup", {"id_number": ID}, token=kiosk).get_json()
    assert looked["count"] == 0 and looked["already_taken"] == 1
    for who in ({"id_number": ID}, {"acceptance_no": case["acceptance_no"]}, {"code": code_of(api, case["id"])}):
        r = api.post(pickups, who, token=kiosk)
        assert r.status_code == 409 and r.get_json()["error"]["code"] == "already_on_ticket", who
        assert "已经取过号" in r.get_json()["error"]["message"]
    # The same press retried is the same ticket with the same result.
    again = api.post(pickups, {"id_number": ID}, token=kiosk, headers={"Idempotency-Key": "p-1"}).get_json()
    assert again["id"] == ticket["id"] and [c["id"] for c in again["cases"]] == [case["id"]]
    # The visitor left before the hand-over: once that ticket is finished the result may be collected again.
    api.sign_in("clerk12", 12)
    assert api.call("clerk12", 12)["ticket"]["id"] == ticket["id"]
    api.act("clerk12", ticket["id"], "finish", {"outcome": "completed"})
    assert api.post(pickups + "/lookup", {"id_number": ID}, token=kiosk).get_json()["count"] == 1
    second = api.post(pickups, {"acceptance_no": case["acceptance_no"]}, token=kiosk)
    assert second.status_code == 201 and [c["id"] for c in second.get_json()["cases"]] == [case["id"]]
    assert second.get_json()["id"] != ticket["id"]


def test_typed_numbers_are_limited_per_device_and_per_address(api, db):
    case = _ready(api)
    lookup = f"/api/v1/halls/{api.hall_id}/pickups/lookup"
    kiosk = api.tokens["kiosk"]
    numbers = [f"DEMO2026{n:06d}" for n in range(2, 2 + NUMBER_LOOKUPS_PER_DEVICE - 1)]
    for n in numbers:                                              # misses count as much as hits
        assert api.post(lookup, {"acceptance_no": n}, token=kiosk).get_json()["count"] == 0
    # A handover ticket asked by a typed number that finds nothing counts too (its 404 does not undo the count).
    r = api.post(f"/api/v1/halls/{api.hall_id}/pickups", {"acceptance_no": "DEMO2026999999"}, token=kiosk)
    assert r.status_code == 404
    r = api.post(lookup, {"acceptance_no": case["acceptance_no"]}, token=kiosk)
    assert r.status_code == 429
    assert r.get_json() == {"error": {"code": "too_many_lookups", "message": NUMBER_LOOKUP_BUSY_MESSAGE}}
    assert api.post(f"/api/v1/halls/{api.hall_id}/pickups", {"acceptance_no": case["acceptance_no"]},
                    token=kiosk).status_code == 429
    # The card and the receipt's QR cannot be walked: never limited.
    assert api.post(lookup, {"id_number": ID}, token=kiosk).get_json()["count"] == 1
    assert api.post(lookup, {"code": code_of(api, case["id"])}, token=kiosk).get_json()["count"] == 1
    # Other devices at the same address go on until the address's own limit.
    assert NUMBER_LOOKUPS_PER_ADDRESS == 3 * NUMBER_LOOKUPS_PER_DEVICE
    for who in ("manager", "clerk01"):
        for _ in range(NUMBER_LOOKUPS_PER_DEVICE):
            r = api.post(lookup, {"acceptance_no": case["acceptance_no"]}, token=api.token(who))
            assert r.status_code == 200 and r.get_json()["count"] == 1, who
    r = api.post(lookup, {"acceptance_no": case["acceptance_no"]}, token=api.token("clerk12"))
    assert r.status_code == 429 and r.get_json()["error"]["code"] == "too_many_lookups"
    # The window passes: the kiosk may look again, and its hits older than the window are gone.
    api.clock.advance(seconds=NUMBER_LOOKUP_WINDOW_S + 1)
    api._staff_tokens.clear()
    assert api.post(lookup, {"acceptance_no": case["acceptance_no"]}, token=kiosk).get_json()["count"] == 1
    with db.read() as s:
        def kept(scope: str) -> int:
            return s.scalar(select(func.count()).select_from(LookupHit).where(LookupHit.scope == scope))
        assert kept("address") == 1 and kept("device") == 1 + 2 * NUMBER_LOOKUPS_PER_DEVICE


def test_kiosks_pressing_at_once_attach_a_result_to_one_ticket_only(api, db, vault):
    case = _ready(api)
    started = threading.Barrier(6)
    now = api.clock.now()

    def press(n: int) -> str:
        started.wait(timeout=30)

        def do(s):
            hall = s.get(Hall, api.hall_id)
            issued, _, _ = handover.issue_pickup(s, hall, vault=vault, now=now, actor=SYSTEM, id_number=ID,
                                                 idempotency_key=f"press-{n}")
            return issued.id
        try:
            return f"ticket {db.run_write(do)}"
        except DomainError as e:
            return e.code

    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(press, range(6)))
    won = [a for a in answers if a.startswith("ticket")]
    assert len(won) == 1 and sorted(set(answers) - set(won)) == ["already_on_ticket"], answers
    with db.read() as s:
        assert f"ticket {s.get(Case, case['id']).pickup_ticket_id}" == won[0]
