"""The kiosk agent's 补交材料 (000 §9.3.6) with the simulated card reader and document camera, in-process: the
card shown (a typed number needs it), the owed materials listed, a page captured, sent and the material supplied
once however often the press is retried, and the server's refusals in the visitor's words."""
from __future__ import annotations

from datetime import date, timedelta

from devices.idcard.simulator import SAMPLE_CARDS
from tests.integration.test_kiosk_agent import _wait, kiosk  # noqa: F401 - the shared kiosk fixture

RESIDENT = SAMPLE_CARDS["resident"]


def _deferred_case(api) -> dict:
    t = api.issue("SS003", name=RESIDENT.name, id_number=RESIDENT.id_number)
    api.sign_in("clerk01", 1)
    assert api.call("clerk01", 1)["ticket"]["id"] == t["id"]
    due = (date.fromisoformat(api.clock.now().date().isoformat()) + timedelta(days=7)).isoformat()
    done = api.act("clerk01", t["id"], "finish", {"outcome": "deferred", "deferred_materials": [
        {"name": "清税证明", "due_date": due}, {"name": "经营场所平面图", "due_date": due}]})
    return done["cases"][0]


def test_agent_scans_and_hands_in_an_owed_material(kiosk, api):  # noqa: F811
    case = _deferred_case(api)
    number = case["acceptance_no"]
    r = kiosk.get(f"/kiosk/agent/supply?acceptance_no={number}")
    assert r.status_code == 409 and r.get_json()["error"]["message"] == "请先刷身份证核对身份"
    kiosk.post("/kiosk/agent/sim/swipe", json={"card": "resident"})
    _wait(lambda: kiosk.get("/kiosk/agent/state").get_json()["card"], timeout=20)
    found = kiosk.get(f"/kiosk/agent/supply?acceptance_no={number.lower()}").get_json()
    assert found["count"] == 2 and RESIDENT.id_number not in str(found)
    first, second = found["cases"][0]["materials"]
    assert kiosk.post("/kiosk/agent/supply/scan/start", json={"material_id": first["id"]}).status_code == 200
    _wait(lambda: kiosk.get("/kiosk/agent/scan/state").get_json()["status"] == "confirm", timeout=30)
    assert kiosk.post("/kiosk/agent/scan/confirm").get_json()["pages"] == 1
    body = {"request_id": "supply-press-01", "material_id": first["id"], "acceptance_no": number}
    r = kiosk.post("/kiosk/agent/supply", json=body)
    assert r.status_code == 200 and r.get_json()["pages_sent"] == 1, r.get_json()
    assert kiosk.get("/kiosk/agent/scan/state").get_json()["pages"] == 0    # sent: nothing kept
    again = kiosk.post("/kiosk/agent/supply", json=body)                     # the press retried
    assert again.status_code == 200 and again.get_json()["pages_sent"] == 0
    detail = api.get(f"/api/v1/cases/{case['id']}", token=api.token("dept-ss")).get_json()
    assert [p["material"] for p in detail["supplied_pages"]] == ["清税证明"]
    assert [m["state"] for m in detail["deferred_materials"]] == ["supplied", "owed"]
    # Handed in without a page: the server says no, the visitor reads why.
    r = kiosk.post("/kiosk/agent/supply", json={"request_id": "supply-press-02", "material_id": second["id"]})
    assert r.status_code == 422 and r.get_json()["error"]["message"] == "请先把这份材料放在高拍仪下扫描"
    assert kiosk.get("/kiosk/agent/supply").get_json()["count"] == 1       # the card alone
    kiosk.post("/kiosk/agent/session/reset")
    assert kiosk.get("/kiosk/agent/supply").status_code == 409              # the visitor is forgotten
