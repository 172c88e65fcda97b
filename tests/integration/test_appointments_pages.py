"""The public booking pages and the managers' appointment pages, through the Flask test client."""
from __future__ import annotations

import re

import pytest

from hall_queue.entrypoints.demo.loader import DEMO_PASSWORD
from tests.conftest import engines
from tests.integration.test_appointments_booking import ID_A, ID_B, book


def _hidden_csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _login(client, username: str):
    html = client.get("/admin/login").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)
    r = client.post("/admin/login", data={"username": username, "password": DEMO_PASSWORD, "csrf_token": token})
    assert r.status_code == 302, r.get_data(as_text=True)[:300]


def test_public_pages_book_show_the_code_and_cancel(api, app):
    c = app.test_client()
    h = api.hall_id
    item = api.items["SS001"]
    page = c.get(f"/book/{h}").get_data(as_text=True)
    assert "企业设立登记" in page and "企业开办一件事" in page and 'name="viewport"' in page
    page = c.get(f"/book/{h}/slots?matter=i{item}&date=2026-03-03").get_data(as_text=True)
    assert 'data-slot="2026-03-03T10:00"' in page and "余 2" in page
    r = c.get(f"/book/{h}/form?matter=i{item}&slot=2026-03-03T10:00")
    assert r.status_code == 200
    csrf = _hidden_csrf(r.get_data(as_text=True))
    form = {"matter": f"i{item}", "slot": "2026-03-03T10:00", "name": "王小明", "id_number": ID_A,
            "phone": "13800138000", "csrf_token": csrf}
    r = c.post(f"/book/{h}/form", data=form)                          # no consent ticked
    assert r.status_code == 422 and "同意" in r.get_data(as_text=True)
    r = c.post(f"/book/{h}/form", data={**form, "csrf_token": "forged", "consent": "1"})
    assert r.status_code == 400
    r = c.post(f"/book/{h}/form", data={**form, "consent": "1"})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/book/{h}/done")
    done = c.get(f"/book/{h}/done").get_data(as_text=True)
    code = re.search(r'id="code">([A-Z0-9]{8})<', done).group(1)
    assert "预约成功" in done and "110101********1234" in done and ID_A not in done and "王*明" in done
    r = c.post(f"/book/{h}/form", data={**form, "consent": "1"})       # 000 §8.2.3 said in Chinese
    assert r.status_code == 422 and "已预约" in r.get_data(as_text=True)
    assert app.test_client().get(f"/book/{h}/done").status_code == 302   # another browser sees nothing
    page = c.get(f"/book/{h}/cancel?code={code}").get_data(as_text=True)
    r = c.post(f"/book/{h}/cancel", data={"code": code, "id_number": ID_B, "csrf_token": _hidden_csrf(page)})
    assert r.status_code == 422 and "不匹配" in r.get_data(as_text=True)
    r = c.post(f"/book/{h}/cancel", data={"code": code, "id_number": ID_A, "csrf_token": _hidden_csrf(page)})
    assert r.status_code == 200 and "已取消" in r.get_data(as_text=True)


def test_manager_pages_need_a_manager_and_show_identity_masked(api, app):
    b = book(api, "2026-03-02T11:00")
    manager, clerk = app.test_client(), app.test_client()
    _login(manager, "manager")
    _login(clerk, "clerk01")
    for path in ("/admin/appointments", "/admin/appointments/capacity", "/admin/appointments/holidays",
                 "/admin/appointments/no-shows"):
        assert clerk.get(path).status_code == 403, path
        assert app.test_client().get(path).status_code == 302, path
        r = manager.get(path)
        assert r.status_code == 200, path
        assert ID_A not in r.get_data(as_text=True)
    today = manager.get("/admin/appointments").get_data(as_text=True)
    assert b["code"] in today and "110101********1234" in today and "已预约" in today
    # The live table reads the JSON API with the session cookie.
    assert manager.get(f"/api/v1/halls/{api.hall_id}/appointments").get_json()["summary"]["booked"] == 1
    page = manager.get("/admin/appointments/capacity").get_data(as_text=True)
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    item = api.items["SS001"]
    r = manager.post("/admin/appointments/capacity", data={"csrf_token": csrf, "matter": f"i{item}", "day": "mon",
                                                          "time": "11:00", "capacity": "8"})
    assert r.status_code == 302
    cal = manager.get(f"/admin/appointments/capacity?matter=i{item}&start=2026-03-02").get_data(as_text=True)
    assert "<strong>1</strong>/4" in cal and "号源规则已保存" in cal
    r = manager.post("/admin/appointments/capacity", data={"csrf_token": csrf, "action": "settings",
                                                          "booking_share_pct": "75", "reminder_minutes": "120,30"})
    assert r.status_code == 302
    assert api.get(f"/api/v1/halls/{api.hall_id}/appointments/settings", token=api.token("manager")).get_json()[
        "reminder_minutes"] == [120, 30]
    r = manager.post("/admin/appointments/holidays", data={"csrf_token": csrf, "day": "2026-03-02",
                                                          "kind": "holiday", "name": "测试"})
    assert "当天已有 1 个有效预约" in manager.get(r.headers["Location"]).get_data(as_text=True)
    r = manager.post(f"/admin/appointments/{b['id']}/cancel", data={"csrf_token": csrf})
    assert r.status_code == 302
    assert "已取消" in manager.get("/admin/appointments?date=2026-03-02").get_data(as_text=True)
    assert manager.post("/admin/appointments/holidays", data={"day": "2026-03-09"}).status_code == 400   # CSRF


def test_slots_page_opens_on_the_first_day_with_a_seat_left(api, app, clock):
    """Late in the day (every time of today passed) the page opens on the next day with seats, not on an empty today."""
    c = app.test_client()
    h, item = api.hall_id, api.items["SS001"]
    page = c.get(f"/book/{h}/slots?matter=i{item}").get_data(as_text=True)   # Monday 10:00: today still has times
    assert 'class="day on" data-date="2026-03-02"' in page and 'class="slot" href=' in page
    clock.advance(hours=13, minutes=50)                                      # 23:50 local: today is over
    page = c.get(f"/book/{h}/slots?matter=i{item}").get_data(as_text=True)
    assert 'data-date="2026-03-02"' in page and 'class="day on" data-date="2026-03-02"' not in page
    assert 'class="day on" data-date="2026-03-03"' in page and 'class="slot" href=' in page
    asked = c.get(f"/book/{h}/slots?matter=i{item}&date=2026-03-02").get_data(as_text=True)  # asked for: shown
    assert 'class="day on" data-date="2026-03-02"' in asked and 'class="slot" href=' not in asked


@pytest.mark.parametrize("db", engines(), indirect=True)
def test_hostile_form_values_answer_the_pages_own_way(api, app):
    """Found by test_fuzz_beyond_openapi: a 70,000-character matter went whole into the Location header (clients
    refuse a header line over 64 KiB); a capacity of 5,000 digits, a matter key i9999999999 (PostgreSQL's int4)
    and a next= of any length reached code that could not hold them."""
    h, long = api.hall_id, "x" * 70000
    c = app.test_client()
    for matter in (long, "i9999999999", "i\u0661\u0662"):
        r = c.post(f"/book/{h}/form", data={"matter": matter, "slot": "not-a-time"})
        assert r.status_code == 302 and len(r.headers["Location"]) < 200, (matter[:20], r.status_code)
        r = c.get(f"/book/{h}/slots?matter={matter[:5000]}")
        assert r.status_code == 302, (matter[:20], r.status_code)
    m = app.test_client()
    _login(m, "manager")
    csrf = _hidden_csrf(m.get("/admin/appointments/capacity").get_data(as_text=True))
    for form in ({"matter": long, "capacity": "abc"}, {"matter": "i1", "capacity": "9" * 5000},
                 {"matter": "i1", "capacity": "\u0661\u0662"}, {"matter": "i1", "capacity": "3", "time": "1\u0660:00"},
                 {"action": "settings", "matter": long, "slot_minutes": "x"}):
        r = m.post("/admin/appointments/capacity", data={**form, "csrf_token": csrf})
        assert r.status_code == 302 and len(r.headers["Location"]) < 200, (str(form)[:60], r.status_code)
    assert "号源数请填写" in m.get("/admin/appointments/capacity").get_data(as_text=True)
    html = c.get("/admin/login").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)
    r = c.post("/admin/login", data={"username": "manager", "password": DEMO_PASSWORD, "csrf_token": token,
                                      "next": "/admin/" + long})
    assert r.status_code == 302 and len(r.headers["Location"]) < 200
