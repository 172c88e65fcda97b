"""统一出件 at the handover window (001 §7.3): pickup by the receipt's code or the acceptance number, and the
handover clerk's desk — the results attached to the ticket in hand, the card checked per case, sign-off or courier."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from hall_queue.domain.models import CaseHandover
from tests.conftest import engines
from tests.integration.test_cases_api import ID, OTHER_ID, accept, step

pytestmark = pytest.mark.parametrize("db", engines(), indirect=True)


def ready(api, *codes, **kw):
    """Accept a case and bring it to result_ready (where it lies: 出件柜A-03); return the finish's case."""
    case = accept(api, *codes, **kw)["cases"][0]
    for path, body in (("take", {}), ("decide", {"decision": "approved"}),
                       ("result-ready", {"location": "出件柜A-03"})):
        step(api, "dept-ss", case["id"], path, body)
    return case


def lookup(api, body):
    return api.post(f"/api/v1/halls/{api.hall_id}/pickups/lookup", body, token=api.tokens["kiosk"])


def test_pickup_by_acceptance_number_or_receipt_code_and_a_wrong_number_learns_nothing(api, db):
    case = ready(api, "SS003")
    number = case["acceptance_no"]
    detail = api.get(f"/api/v1/cases/{case['id']}", token=api.token("clerk01")).get_json()
    code = detail["progress_path"].rsplit("/", 1)[1]
    # By the receipt's QR code: the titles are the visitor's own.
    r = lookup(api, {"code": code})
    assert r.get_json() == {"count": 1, "items": [{"title": "企业注销登记", "acceptance_no": number}], "already_taken": 0}
    # By a typed number (they run in sequence): ready or not, no title, no name.
    r = lookup(api, {"acceptance_no": number.lower()})
    assert r.get_json() == {"count": 1, "items": [{"acceptance_no": number}], "already_taken": 0}
    for wrong in ("DEMO2026000002", "DEMO2025000001", "XXXX"):
        r = lookup(api, {"acceptance_no": wrong})
        assert r.status_code == 200 and r.get_json() == {"count": 0, "items": [], "already_taken": 0}
    assert lookup(api, {"code": code[:-3] + "zzz"}).get_json() == {"count": 0, "items": [], "already_taken": 0}
    r = api.post(f"/api/v1/halls/{api.hall_id}/pickups", {"acceptance_no": "DEMO2026000099"}, token=api.tokens["kiosk"])
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "no_results"
    r = api.post(f"/api/v1/halls/{api.hall_id}/pickups", {"acceptance_no": number}, token=api.tokens["kiosk"])
    assert r.status_code == 201, r.get_json()
    ticket = r.get_json()
    assert ticket["number"].startswith("G") and ticket["cases"] == [{"id": case["id"], "acceptance_no": number}]
    assert "张" not in str(ticket) and "企业注销登记" not in str(ticket["cases"])


def test_handover_desk_checks_the_card_per_case_and_records_pickup_or_courier_at_the_window(api, db):
    first = ready(api, "SS003")
    second = ready(api, "SS003")
    issued = api.post(f"/api/v1/halls/{api.hall_id}/pickups", {"id_number": ID, "name": "张三丰"},
                      token=api.tokens["kiosk"]).get_json()
    assert sorted(c["id"] for c in issued["cases"]) == sorted([first["id"], second["id"]])
    other = ready(api, "SS003")  # the same applicant's third result, ready after the ticket was taken
    api.sign_in("clerk12", 12)
    assert api.call("clerk12", 12)["ticket"]["id"] == issued["id"]
    attached = api.get(f"/api/v1/tickets/{issued['id']}/pickup-cases", token=api.token("clerk12")).get_json()["items"]
    assert [(c["acceptance_no"], c["masked_name"], c["location"], c["handover"]) for c in attached] == [
        (first["acceptance_no"], "张*丰", "出件柜A-03", None), (second["acceptance_no"], "张*丰", "出件柜A-03", None)]
    assert ID not in str(attached)
    desk = {"ticket_id": issued["id"]}
    # A case that did not come with this ticket is not handed over at its desk.
    err = step(api, "clerk12", other["id"], "hand-over", {"method": "pickup", "id_number": ID, **desk}, expect=409)
    assert err["error"]["code"] == "not_on_ticket"
    # Another clerk cannot hand over on a ticket in hand at window 12.
    api.sign_in("clerk01", 1)
    err = step(api, "clerk01", first["id"], "hand-over", {"method": "pickup", "id_number": ID, **desk}, expect=403)
    assert err["error"]["code"] == "other_window"
    # A card that does not match: a clear error and nothing handed over.
    err = step(api, "clerk12", first["id"], "hand-over", {"method": "pickup", "id_number": OTHER_ID, **desk},
               expect=422)
    assert err["error"]["code"] == "card_mismatch"
    assert step(api, "clerk12", first["id"], "hand-over", {"method": "courier", "courier_company": "EMS", **desk},
                expect=422)["error"]["code"] == "tracking_required"
    with db.read() as s:
        assert s.scalars(select(CaseHandover)).all() == []
    out = step(api, "clerk12", first["id"], "hand-over", {"method": "pickup", "id_number": ID, **desk})
    assert out["state"] == "handed_over"
    step(api, "clerk12", second["id"], "hand-over",
         {"method": "courier", "courier_company": "中国邮政EMS", "tracking_no": "1187654321", **desk})
    # Handed over once: again is a 409 naming the state.
    assert step(api, "clerk12", first["id"], "hand-over", {"method": "pickup", "id_number": ID, **desk},
                expect=409)["error"]["code"] == "illegal_transition"
    attached = api.get(f"/api/v1/tickets/{issued['id']}/pickup-cases", token=api.token("clerk12")).get_json()["items"]
    assert [c["handover"] for c in attached] == [
        {"method": "pickup", "courier_company": "", "tracking_no": "", "id_checked": True},
        {"method": "courier", "courier_company": "中国邮政EMS", "tracking_no": "1187654321", "id_checked": False}]
    with db.read() as s:
        rows = s.scalars(select(CaseHandover).order_by(CaseHandover.id)).all()
        assert {(r.ticket_id, r.window_id) for r in rows} == {(issued["id"], api.windows[12])}
    done = api.act("clerk12", issued["id"], "finish", {"outcome": "completed"})
    assert done["cases"] == []
    # The ticket is finished: its desk hands nothing over any more.
    assert step(api, "clerk12", other["id"], "hand-over", {"method": "pickup", "id_number": ID, **desk},
                expect=409)["error"]["code"] == "not_on_ticket"
