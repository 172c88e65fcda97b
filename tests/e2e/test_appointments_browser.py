"""Book on the public phone page → check in at the kiosk by ID card → the appointment is called first.

Real server (``onevisit run``) with simulated kiosk devices, headless Debian chromium. The hall's
hours are set so that the current slot began a minute ago: booking into the running slot is allowed
(``book_close_minutes`` < 0) and check-in is on time, so calling order can be checked at once.
"""
from __future__ import annotations

import json
import os
import re
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import requests

from tests.e2e.browser import end_server, fresh_demo_instance
from tests.server import ServerProcess

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "appointments"
SIM_CARD_ID = "110101199003071233"  # the kiosk simulator's sample resident card (made up)

if not os.path.exists(CHROMIUM):
    if os.environ.get("ONEVISIT_REQUIRE_BROWSER") == "1":
        raise RuntimeError(f"{CHROMIUM} is missing and ONEVISIT_REQUIRE_BROWSER=1")
    pytest.skip(f"{CHROMIUM} is not installed: browser tests need Debian's chromium", allow_module_level=True)

from playwright.sync_api import expect

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _local_now(tz: str = "Asia/Shanghai") -> datetime:
    return datetime.now(ZoneInfo(tz)).replace(tzinfo=None)


def _prepare(instance: Path) -> tuple[ServerProcess, int, int]:
    """Demo hall whose hours today start a minute ago; returns the server, hall id and slot length."""
    from sqlalchemy import create_engine, text

    from hall_queue.domain.models import Base

    # No duty round: the manager's list must show a finished ticket's booking as served before any sweep records it.
    srv = ServerProcess(instance, env={"ONEVISIT_KIOSK_HEALTH_S": "1"}, args=("--no-duties",))
    fresh_demo_instance(instance)
    engine = create_engine(f"sqlite:///{instance / 'onevisit.db'}")
    Base.metadata.create_all(engine)      # tables newer than the migrations (the lead generates those)
    tz = "Asia/Shanghai"
    now = _local_now(tz)
    if 24 * 60 - (now.hour * 60 + now.minute) < 8:  # too close to midnight for a slot: the hall keeps Tokyo's
        tz = "Asia/Tokyo"                               # clock, where the new day began an hour ago (no waiting)
        now = _local_now(tz)
    start = now - timedelta(minutes=1)
    slot = min(30, 24 * 60 - (start.hour * 60 + start.minute))
    hours = {d: [["00:00", "24:00"]] for d in WEEKDAYS}
    hours[WEEKDAYS[start.weekday()]] = [[start.strftime("%H:%M"), "24:00"]]
    with engine.begin() as conn:
        conn.execute(text("UPDATE halls SET opening_hours = :h, timezone = :tz WHERE code = 'demo'"),
                     {"h": json.dumps(hours), "tz": tz})
        hall_id = conn.execute(text("SELECT id FROM halls WHERE code = 'demo'")).scalar_one()
    engine.dispose()
    return srv, hall_id, slot


def _api(srv, method: str, path: str, token: str | None = None, body=None, expect_status=(200, 201)):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    r = requests.request(method, srv.url + path, json=body, headers=headers, timeout=15)
    assert r.status_code in expect_status, r.text
    return r.json()


@pytest.mark.browser
def test_book_on_the_phone_check_in_at_the_kiosk_and_be_called_first(tmp_path, browser):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    srv, hall_id, slot_minutes = _prepare(tmp_path)
    srv.start()
    try:
        tokens = json.loads((tmp_path / "demo-tokens.json").read_text())
        manager = _api(srv, "POST", "/api/v1/auth/login", body={"username": "manager", "password": "onevisit-demo"})
        _api(srv, "PUT", f"/api/v1/halls/{hall_id}/appointments/settings", manager["token"], {
            "slot_minutes": slot_minutes, "book_close_minutes": -(slot_minutes - 1),
            "checkin_early_minutes": 30, "checkin_grace_minutes": slot_minutes})
        catalog = _api(srv, "GET", f"/api/v1/halls/{hall_id}/catalog")
        item = next(i["id"] for i in catalog["items"] if i["code"] == "SS001")
        walk_ins = [_api(srv, "POST", f"/api/v1/halls/{hall_id}/tickets", tokens["kiosk"], {"item_ids": [item]})
                    for _ in range(2)]
        phone = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN",
                                    device_scale_factor=2, is_mobile=True, has_touch=True).new_page()
        phone.goto(f"{srv.url}/book/{hall_id}")
        phone.fill("#q", "qysl")
        expect(phone.locator(".matter:visible")).to_have_count(1)
        phone.screenshot(path=str(ARTIFACTS / "01-choose.png"), full_page=False)
        phone.click(".matter:visible")
        first = phone.locator("a.slot").first
        expect(first).to_be_visible()
        phone.screenshot(path=str(ARTIFACTS / "02-slots.png"))
        first.click()
        phone.fill("#name", "张晓三")
        phone.fill("#id_number", SIM_CARD_ID)
        phone.fill("#phone", "13800138000")
        phone.check("input[name=consent]")
        phone.screenshot(path=str(ARTIFACTS / "03-form.png"))
        phone.click("button.primary")
        expect(phone.locator(".success h1")).to_have_text("预约成功")
        code = phone.locator("#code").inner_text()
        assert len(code) == 8 and SIM_CARD_ID not in phone.content()
        phone.screenshot(path=str(ARTIFACTS / "04-done.png"), full_page=True)

        # The kiosk: swipe the (simulated) ID card, pick the booking, check in.
        kiosk = browser.new_context(viewport={"width": 1080, "height": 1920}, locale="zh-CN").new_page()
        kiosk.goto(f"{srv.url}/kiosk/")
        kiosk.click("#go-card")
        kiosk.click("#sim-swipe")
        booking = kiosk.locator("#appt-list [data-appointment]")
        expect(booking).to_have_count(1)
        expect(booking).to_contain_text("企业设立登记")
        # With a booking today, checking in is the big primary action; walking in is the plain one.
        expect(booking).to_have_class(re.compile(r"\bprimary\b"))
        expect(kiosk.locator("#card-walkin")).not_to_have_class(re.compile(r"\bprimary\b"))
        kiosk.screenshot(path=str(ARTIFACTS / "05-kiosk-bookings.png"))
        booking.click()
        expect(kiosk.locator("#r-number")).not_to_be_empty()
        number = kiosk.locator("#r-number").inner_text().strip()
        kiosk.screenshot(path=str(ARTIFACTS / "06-kiosk-checked-in.png"))
        assert SIM_CARD_ID not in kiosk.content()

        # Managers see the check-in on the live list.
        admin = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN").new_page()
        admin.goto(f"{srv.url}/admin/login")
        admin.fill("#username", "manager")
        admin.fill("#password", "onevisit-demo")
        admin.click("#login-submit")
        admin.goto(f"{srv.url}/admin/appointments")
        expect(admin.locator("#bookings tbody tr[data-status=checked_in]")).to_have_count(1)
        expect(admin.locator("#bookings")).to_contain_text(number)
        admin.screenshot(path=str(ARTIFACTS / "07-manager-today.png"), full_page=True)
        admin.goto(f"{srv.url}/admin/appointments/capacity")
        admin.screenshot(path=str(ARTIFACTS / "08-manager-capacity.png"), full_page=True)
        for page in (phone, kiosk):
            page.context.close()

        # The clerk calls: the checked-in appointment (its slot has begun) before the earlier walk-ins.
        clerk = _api(srv, "POST", "/api/v1/auth/login", body={"username": "clerk01", "password": "onevisit-demo"})
        snap = _api(srv, "GET", f"/api/v1/halls/{hall_id}/snapshot", tokens["screen"])
        window = next(w["id"] for w in snap["windows"] if w["number"] == 1)
        _api(srv, "POST", f"/api/v1/windows/{window}/sign-in", clerk["token"])
        called = _api(srv, "POST", f"/api/v1/windows/{window}/call-next", clerk["token"])
        assert called["ticket"]["number"] == number and called["ticket"]["priority_class"] == "appointment"
        _api(srv, "POST", f"/api/v1/tickets/{called['ticket']['id']}/finish", clerk["token"], {"outcome": "completed"})
        # The booking reads 已办结 from its finished ticket at once, though no sweep has recorded it yet.
        admin.goto(f"{srv.url}/admin/appointments")
        expect(admin.locator("#bookings tbody tr[data-status=served]")).to_have_count(1)
        expect(admin.locator("#bookings tbody tr[data-status=served]")).to_contain_text("已办结")
        admin.screenshot(path=str(ARTIFACTS / "09-manager-today-served.png"), full_page=True)
        admin.context.close()
        nxt = _api(srv, "POST", f"/api/v1/windows/{window}/call-next", clerk["token"])
        assert nxt["ticket"]["id"] == walk_ins[0]["id"]
        day = _api(srv, "GET", f"/api/v1/halls/{hall_id}/appointments", manager["token"])
        assert day["items"][0]["code"] == code and day["items"][0]["ticket_number"] == number
        assert SIM_CARD_ID not in (tmp_path / f"server-{srv.port}.log").read_text()
    finally:
        end_server(srv)
