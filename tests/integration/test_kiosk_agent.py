"""The kiosk agent API (``/kiosk/agent/…``) with real simulated devices: a pty ID-card reader, the
virtual printer and the simulated document camera, proxying in-process to the queue API."""
from __future__ import annotations

import socket
import threading
import time
from typing import ClassVar

import pytest

from hall_queue.domain.models import Hall
from kiosk.agent import AgentConfig, KioskAgent
from kiosk.upstream import HttpUpstream


@pytest.fixture
def kiosk(app, api, tmp_path):
    app.config.update(KIOSK_TOKEN=api.tokens["kiosk"], KIOSK_PRINTER=f"virtual://?dir={tmp_path / 'printouts'}",
                      KIOSK_SCANNER="sim://?width=640&height=360", KIOSK_HEALTH_S="3600", KIOSK_PUBLIC_URL="https://hall.example")
    client = app.test_client()
    yield client
    provider = app.extensions.get("kiosk_agent_provider")
    agent = provider() if provider else None
    if agent is not None:
        agent.stop()


def _agent(app) -> KioskAgent:
    return app.extensions["kiosk_agent_provider"]()


def _wait(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def test_state_and_catalog(kiosk):
    st = kiosk.get("/kiosk/agent/state").get_json()
    assert st["server_ok"] is True and st["sim"] is True and st["hall"]["name"] == "示例市政务服务中心"
    assert st["devices"]["printer"]["state"] == "online"
    cat = kiosk.get("/kiosk/agent/catalog").get_json()
    assert len(cat["items"]) == 31 and {b["code"] for b in cat["bundles"]} == {"B01", "B02"}
    assert cat["open_now"] is True and cat["waiting"]


def test_issue_prints_the_slip_with_number_materials_and_follow_qr(kiosk, api, app):
    r = kiosk.post("/kiosk/agent/tickets", json={"request_id": "req-item-0001", "item_ids": [api.items["SS001"]]})
    assert r.status_code == 201, r.get_json()
    out = r.get_json()
    number = out["ticket"]["number"]
    assert out["printed"] is True and out["print_error"] is None
    assert out["follow_url"] == f"https://hall.example/t/{out['ticket']['follow_code']}"
    printed = kiosk.get("/kiosk/agent/sim/last-printout").get_json()
    assert any(number in line for line in printed["text_lines"])
    assert any("一次性告知" in line for line in printed["text_lines"])
    assert any("公司章程" in line for line in printed["text_lines"])
    assert printed["qr_codes"] == [out["follow_url"]]
    assert printed["png"].endswith(".png")


def test_same_request_id_never_issues_twice(kiosk, api):
    body = {"request_id": "same-visitor-req", "bundle_id": api.bundles["B02"]}
    first = kiosk.post("/kiosk/agent/tickets", json=body).get_json()
    second = kiosk.post("/kiosk/agent/tickets", json=body).get_json()
    assert first["ticket"]["id"] == second["ticket"]["id"] and second["ticket"]["replayed"] is True
    other = kiosk.post("/kiosk/agent/tickets", json={**body, "request_id": "other-visitor-1"}).get_json()
    assert other["ticket"]["id"] != first["ticket"]["id"]


BAD_BODIES = [
    {}, {"request_id": "short"}, {"request_id": "ok-request-id"},
    {"request_id": "ok-request-id", "item_ids": [1], "bundle_id": 1},
    {"request_id": "ok-request-id", "item_ids": "1"}, {"request_id": "ok-request-id", "item_ids": [0]},
    {"request_id": "ok-request-id", "item_ids": [True]}, {"request_id": "ok-request-id", "item_ids": list(range(1, 13))},
    {"request_id": "ok-request-id", "item_ids": [1], "phone": "12345"},
    {"request_id": "ok-request-id", "item_ids": [1], "green_reason": "vip"},
    {"request_id": "bad id with spaces", "item_ids": [1]},
]


def test_issue_validation_never_500(kiosk):
    for body in BAD_BODIES:
        r = kiosk.post("/kiosk/agent/tickets", json=body)
        assert r.status_code == 422, (body, r.get_json())
        assert r.get_json()["error"]["code"] == "validation_error"


def test_malformed_bodies_and_unknown_items(kiosk):
    assert kiosk.post("/kiosk/agent/tickets", data="[1,2]", content_type="application/json").status_code == 400
    r = kiosk.post("/kiosk/agent/tickets", json={"request_id": "unknown-item-1", "item_ids": [99999]})
    assert r.status_code == 404
    assert kiosk.post("/kiosk/agent/checkin", json={"request_id": "x"}).status_code == 422
    assert kiosk.get("/kiosk/agent/qr.svg?path=https://evil.example/").status_code == 422
    assert kiosk.get("/kiosk/agent/qr.svg?path=/t/abc").mimetype == "image/svg+xml"
    assert kiosk.post("/kiosk/agent/sim/swipe", json={"card": "nobody"}).status_code == 422
    assert kiosk.post("/kiosk/agent/sim/printer", json={"fault": "on_fire"}).status_code == 422
    assert kiosk.post("/kiosk/agent/scan/confirm").status_code == 409
    assert kiosk.get("/kiosk/agent/scan/pages/3.jpg").status_code == 404


def test_swiped_card_goes_on_the_ticket_masked(kiosk, api, app):
    assert kiosk.post("/kiosk/agent/tickets", json={"request_id": "no-card-yet-1", "item_ids": [api.items["SB002"]],
                                                    "with_identity": True}).status_code == 409
    kiosk.post("/kiosk/agent/sim/swipe", json={"card": "resident"})
    card = _wait(lambda: kiosk.get("/kiosk/agent/state").get_json()["card"])
    assert card["masked_name"] == "张*三" and card["masked_id"].startswith("110101********")
    events = _agent(app).bus.since(0)
    assert any(e.name == "card" for e in events)
    assert all("110101199003071233" not in str(e.data) and "张晓三" not in str(e.data) for e in events)
    r = kiosk.post("/kiosk/agent/tickets", json={"request_id": "with-card-0001", "item_ids": [api.items["SB002"]],
                                                 "with_identity": True})
    assert r.status_code == 201, r.get_json()
    text = r.get_data(as_text=True)
    assert "张晓三" not in text and "110101199003071233" not in text
    t = r.get_json()["ticket"]
    assert t["masked_name"] == "张*三" and t["masked_id"] == card["masked_id"]
    lines = kiosk.get("/kiosk/agent/sim/last-printout").get_json()["text_lines"]
    assert any(card["masked_id"] in line for line in lines)
    assert not any("110101199003071233" in line or "张晓三" in line for line in lines)
    kiosk.post("/kiosk/agent/session/reset")
    assert kiosk.get("/kiosk/agent/state").get_json()["card"] is None


def test_bad_read_and_silent_reader_are_reported(kiosk, app):
    kiosk.get("/kiosk/agent/state")
    agent = _agent(app)
    seq = agent.bus.last_seq
    kiosk.post("/kiosk/agent/sim/bad-read")
    _wait(lambda: any(e.name == "card_failed" for e in agent.bus.since(seq)))
    seq = agent.bus.last_seq
    kiosk.post("/kiosk/agent/sim/unplug")
    _wait(lambda: kiosk.get("/kiosk/agent/state").get_json()["devices"]["idcard"]["state"] == "offline", timeout=8)
    kiosk.post("/kiosk/agent/sim/plug")
    _wait(lambda: kiosk.get("/kiosk/agent/state").get_json()["devices"]["idcard"]["state"] == "online", timeout=8)
    kiosk.post("/kiosk/agent/sim/swipe", json={"card": "resident_long_term"})
    _wait(lambda: kiosk.get("/kiosk/agent/state").get_json()["card"])


def test_printer_out_of_paper_still_issues_and_alerts_managers(kiosk, api):
    assert kiosk.post("/kiosk/agent/sim/printer", json={"fault": "paper_out"}).get_json()["printer"]["state"] == "fault"
    r = kiosk.post("/kiosk/agent/tickets", json={"request_id": "no-paper-0001", "item_ids": [api.items["SS001"]]})
    assert r.status_code == 201
    out = r.get_json()
    assert out["printed"] is False and out["print_error"] == "paper_out" and out["ticket"]["number"]
    alerts = api.get(f"/api/v1/halls/{api.hall_id}/alerts", token=api.token("manager")).get_json()["items"]
    assert any(a["kind"] == "device_fault" and "缺纸" in a["message"] for a in alerts)
    kiosk.post("/kiosk/agent/sim/printer", json={"fault": None})
    ok = kiosk.post("/kiosk/agent/tickets", json={"request_id": "paper-back-01", "item_ids": [api.items["SS001"]]})
    assert ok.get_json()["printed"] is True
    alerts = api.get(f"/api/v1/halls/{api.hall_id}/alerts", token=api.token("manager")).get_json()["items"]
    assert not any(a["kind"] == "device_fault" for a in alerts)


def test_hall_closed_offers_booking(kiosk, api, db):
    def close(s):
        s.get(Hall, api.hall_id).opening_hours = {}
    db.run_write(close)
    r = kiosk.post("/kiosk/agent/tickets", json={"request_id": "after-hours-1", "item_ids": [api.items["SS001"]]})
    assert r.status_code == 409
    err = r.get_json()["error"]
    assert err["code"] == "hall_closed" and err["book_url"] == f"https://hall.example/book/{api.hall_id}"


def test_scanned_pages_are_attached_to_the_ticket(kiosk, api):
    assert kiosk.post("/kiosk/agent/scan/start").status_code == 200
    _wait(lambda: kiosk.get("/kiosk/agent/scan/state").get_json()["status"] == "confirm", timeout=15)
    assert kiosk.get("/kiosk/agent/scan/preview.jpg").mimetype == "image/jpeg"
    assert kiosk.get("/kiosk/agent/scan/pending.jpg").data[:2] == b"\xff\xd8"
    assert kiosk.post("/kiosk/agent/scan/confirm").get_json()["pages"] == 1
    _wait(lambda: kiosk.get("/kiosk/agent/scan/state").get_json()["status"] == "confirm", timeout=15)
    kiosk.post("/kiosk/agent/scan/confirm")
    kiosk.post("/kiosk/agent/scan/stop")
    r = kiosk.post("/kiosk/agent/tickets", json={"request_id": "with-pages-01", "item_ids": [api.items["SS001"]]})
    out = r.get_json()
    assert out["pages_attached"] == 2 and out["pages_error"] is None
    pages = api.get(f"/api/v1/tickets/{out['ticket']['id']}/attachments", token=api.token("manager")).get_json()["items"]
    assert [p["position"] for p in pages] == [1, 2] and all(p["page_size_name"] == "A4" for p in pages)
    assert kiosk.get("/kiosk/agent/scan/state").get_json()["pages"] == 0  # nothing kept for the next visitor


def test_agent_says_paused_when_the_server_is_unreachable(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once the socket is closed
    agent = KioskAgent(HttpUpstream(f"http://127.0.0.1:{port}", "token", timeout=0.5),
                       AgentConfig(idcard_url=None, printer_url=f"virtual://?dir={tmp_path}", scanner_url=None,
                                   health_every_s=3600))
    from flask import Flask
    from kiosk import pages

    app = Flask("k")
    app.register_blueprint(pages.bp)
    pages.set_agent_provider(app, lambda: agent)
    agent.start()
    try:
        c = app.test_client()
        r = c.post("/kiosk/agent/tickets", json={"request_id": "offline-req-1", "item_ids": [1]})
        assert r.status_code == 503
        assert r.get_json()["error"] == {"code": "server_unreachable", "message": "暂停取号，请稍候"} or \
            r.get_json()["error"]["code"] == "server_unreachable"
        st = c.get("/kiosk/agent/state").get_json()
        assert st["server_ok"] is False and st["devices"]["idcard"]["reason"] == "not_configured"
        assert c.post("/kiosk/agent/sim/swipe", json={"card": "resident"}).status_code == 404
    finally:
        agent.stop()


def test_swipe_card_and_check_in_for_an_appointment(kiosk, api, clock):
    from devices.idcard.simulator import SAMPLE_CARDS

    card = SAMPLE_CARDS["resident"]
    booked = api.post(f"/api/v1/halls/{api.hall_id}/appointments",
                      {"item_id": api.items["SB002"], "slot": "2026-03-03T10:00", "name": card.name,
                       "id_number": card.id_number, "phone": "13900139000"})
    assert booked.status_code == 201, booked.get_json()
    clock.advance(hours=23, minutes=50)  # Tuesday 09:50 in the hall: on time for 10:00
    kiosk.post("/kiosk/agent/sim/swipe", json={"card": "resident"})
    _wait(lambda: kiosk.get("/kiosk/agent/state").get_json()["card"])
    items = kiosk.get("/kiosk/agent/appointments").get_json()["items"]
    assert [a["id"] for a in items] == [booked.get_json()["id"]]
    assert items[0]["masked_id"] == "110101********1233" and card.id_number not in str(items)
    r = kiosk.post("/kiosk/agent/checkin", json={"request_id": "checkin-req-01", "appointment_id": items[0]["id"]})
    assert r.status_code == 201, r.get_json()
    out = r.get_json()
    assert out["ticket"]["priority_class"] == "appointment" and out["late"] is False and out["printed"] is True
    lines = kiosk.get("/kiosk/agent/sim/last-printout").get_json()["text_lines"]
    assert any(out["ticket"]["number"] in line for line in lines)
    assert not any(card.id_number in line for line in lines)


# ---------------------------------------------------------------- device fault drills (issue 9)
# Each fault must end in a clear state on the page, a device_fault alert on the floor dashboard, and
# a kiosk that still issues tickets: never a hang.

def _device_alerts(api, label: str) -> list[dict]:
    items = api.get(f"/api/v1/halls/{api.hall_id}/alerts", token=api.token("manager")).get_json()["items"]
    return [a for a in items if a["kind"] == "device_fault" and label in a["message"]]


def _front(app, api, tmp_path, **config):
    """A kiosk agent with the given device URLs in front of ``app``, and the pages it serves."""
    from flask import Flask

    from kiosk import pages
    from kiosk.upstream import InProcessUpstream

    cfg = {"idcard_url": None, "printer_url": f"virtual://?dir={tmp_path / 'printouts'}", "scanner_url": None,
           "health_every_s": 3600, **config}
    agent = KioskAgent(InProcessUpstream(app, api.tokens["kiosk"]), AgentConfig(**cfg))
    front = Flask("kiosk-front")
    front.register_blueprint(pages.bp)
    pages.set_agent_provider(front, lambda: agent)
    agent.start()
    return agent, front.test_client()


def test_reader_unplugged_mid_read_goes_offline_alerts_and_recovers(kiosk, api, app):
    from devices.idcard.simulator import Fault

    assert kiosk.get("/kiosk/agent/state").get_json()["hall"]
    agent = _agent(app)
    sim = agent.simulator()
    _wait(lambda: agent.reader_state[0] == "online", timeout=8)
    # The SAM falls silent in the middle of reading the card, and then the cable is pulled.
    sim.inject(Fault.NO_ANSWER, command=(0x30, 0x01), times=None)
    sim.present("resident")
    _wait(lambda: any(c.cmd == 0x30 for c in sim.requests), timeout=8)
    sim.stop()
    st = _wait(lambda: (s := kiosk.get("/kiosk/agent/state").get_json())["devices"]["idcard"]["state"] == "offline"
               and s, timeout=8)
    assert st["card"] is None  # no half-read identity is kept
    alerts = _wait(lambda: _device_alerts(api, "身份证阅读器"), timeout=8)
    assert alerts[0]["message"].endswith("身份证阅读器离线")
    # The kiosk goes on without its reader: walk-in tickets still print.
    r = kiosk.post("/kiosk/agent/tickets", json={"request_id": "no-reader-01", "item_ids": [api.items["SS001"]]})
    assert r.status_code == 201 and r.get_json()["printed"] is True
    # Plugged back in (a udev link keeps the name on a kiosk PC; here the new pty's path).
    sim.clear_faults()
    sim.start()
    agent.reader.port_url = sim.device
    _wait(lambda: kiosk.get("/kiosk/agent/state").get_json()["devices"]["idcard"]["state"] == "online", timeout=10)
    card = _wait(lambda: kiosk.get("/kiosk/agent/state").get_json()["card"], timeout=8)
    assert card["masked_name"] == "张*三"
    _wait(lambda: not _device_alerts(api, "身份证阅读器"), timeout=8)


class _NetPrinter:
    """A TCP ESC/POS printer (port 9100) whose paper runs out after ``paper_bytes`` bytes of a job."""

    HEALTHY: ClassVar[dict[int, int]] = {1: 0x12, 2: 0x12, 3: 0x12, 4: 0x12}
    PAPER_OUT: ClassVar[dict[int, int]] = {1: 0x1A, 2: 0x32, 3: 0x12, 4: 0x7E}  # offline, paper-end stop, sensors

    def __init__(self, paper_bytes: int) -> None:
        self.paper_left = paper_bytes
        self.answers = dict(self.HEALTHY)
        self.jobs_bytes = 0
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.1)
        self.stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"escpos-net://127.0.0.1:{self.server.getsockname()[1]}?status_timeout=0.3&timeout=2"

    def refill(self, paper_bytes: int) -> None:
        self.paper_left, self.answers = paper_bytes, dict(self.HEALTHY)

    def _serve(self) -> None:
        while not self.stop:
            try:
                conn, _ = self.server.accept()
            except (TimeoutError, OSError):
                continue
            with conn:
                conn.settimeout(0.1)
                pending = b""
                while not self.stop:
                    try:
                        chunk = conn.recv(65536)
                    except TimeoutError:
                        continue
                    except OSError:
                        break
                    if not chunk:
                        break
                    pending += chunk
                    reply = b""
                    while (at := pending.find(b"\x10\x04")) >= 0 and at + 2 < len(pending):
                        self._print(at)
                        reply += bytes([self.answers[pending[at + 2]]]) if pending[at + 2] in self.answers else b""
                        pending = pending[at + 3:]
                    if len(pending) > 2:
                        self._print(len(pending) - 2)
                        pending = pending[-2:]
                    if reply:
                        conn.sendall(reply)

    def _print(self, n: int) -> None:
        self.jobs_bytes += n
        self.paper_left -= n
        if self.paper_left < 0:
            self.answers = dict(self.PAPER_OUT)  # the roll ended in the middle of this slip

    def close(self) -> None:
        self.stop = True
        self.thread.join(2)
        self.server.close()


def test_printer_paper_out_mid_ticket_is_not_taken_for_a_printed_slip(app, api, tmp_path):
    printer = _NetPrinter(paper_bytes=200)  # a slip is well over 200 bytes
    agent, page = _front(app, api, tmp_path, printer_url=printer.url)
    try:
        assert agent.printer_state == ("online", None)
        r = page.post("/kiosk/agent/tickets", json={"request_id": "mid-ticket-01", "item_ids": [api.items["SS001"]]})
        assert r.status_code == 201, r.get_json()
        out = r.get_json()
        assert printer.jobs_bytes > 200  # the job went out, and the paper ended inside it
        # The ticket exists; the page shows its number on screen instead of claiming a printed slip.
        assert out["ticket"]["number"] and out["printed"] is False and out["print_error"] == "paper_out"
        st = page.get("/kiosk/agent/state").get_json()
        assert st["devices"]["printer"] == {"state": "fault", "reason": "paper_out"}
        assert _device_alerts(api, "小票打印机缺纸")
        # The next visitor is told at once (the pre-job status check), without a hang.
        again = page.post("/kiosk/agent/tickets", json={"request_id": "mid-ticket-02", "item_ids": [api.items["SS001"]]})
        assert again.status_code == 201 and again.get_json()["print_error"] == "paper_out"
        printer.refill(10**6)
        ok = page.post("/kiosk/agent/tickets", json={"request_id": "mid-ticket-03", "item_ids": [api.items["SS001"]]})
        assert ok.get_json()["printed"] is True
        assert not _device_alerts(api, "小票打印机")
    finally:
        agent.stop()
        printer.close()


def test_camera_vanishing_mid_scan_ends_in_a_clear_state_and_an_alert(app, api, tmp_path):
    import shutil

    import cv2
    import numpy as np

    shots = tmp_path / "camera"
    shots.mkdir()
    desk = np.full((360, 640, 3), 90, np.uint8)
    cv2.rectangle(desk, (180, 60), (460, 320), (245, 245, 245), -1)
    for i in range(2):
        cv2.imwrite(str(shots / f"frame{i}.png"), desk)
    agent, page = _front(app, api, tmp_path, scanner_url=f"file://{shots}")
    try:
        assert page.get("/kiosk/agent/state").get_json()["hall"]
        assert page.post("/kiosk/agent/scan/start").status_code == 200
        _wait(lambda: page.get("/kiosk/agent/scan/state").get_json()["status"] not in ("idle", "error"), timeout=8)
        shutil.rmtree(shots)  # the camera's USB cable is pulled: no frame comes any more
        _wait(lambda: page.get("/kiosk/agent/scan/state").get_json()["status"] == "error", timeout=8)
        st = _wait(lambda: (s := page.get("/kiosk/agent/state").get_json())["devices"]["scanner"]["state"] == "fault"
                   and s, timeout=8)
        assert st["devices"]["scanner"]["reason"] in ("timeout", "offline")
        assert _wait(lambda: page.get("/kiosk/agent/state") and _device_alerts(api, "高拍仪"), timeout=8)
        # Nothing hangs: the visitor can stop scanning and still take a ticket.
        assert page.post("/kiosk/agent/scan/stop").status_code == 200
        r = page.post("/kiosk/agent/tickets", json={"request_id": "no-camera-01", "item_ids": [api.items["SS001"]]})
        assert r.status_code == 201 and r.get_json()["pages_attached"] == 0
        # The camera comes back: the next scan works and the alert clears.
        shots.mkdir()
        cv2.imwrite(str(shots / "frame0.png"), desk)
        assert page.post("/kiosk/agent/scan/start").status_code == 200
        _wait(lambda: page.get("/kiosk/agent/state").get_json()["devices"]["scanner"]["state"] == "online", timeout=8)
        _wait(lambda: page.get("/kiosk/agent/state") and not _device_alerts(api, "高拍仪"), timeout=8)
        page.post("/kiosk/agent/scan/stop")
    finally:
        agent.stop()


def test_slip_lists_the_servers_merged_materials(kiosk, api):
    # 出生医学证明 is a copy for SB005 and an original for HZ003: the merged list asks for the original
    # once (003 §3.8), and the slip must list what the clerk's console shows, not a list of its own.
    r = kiosk.post("/kiosk/agent/tickets", json={"request_id": "req-merge-0001",
                                                 "item_ids": [api.items["SB005"], api.items["HZ003"]]})
    assert r.status_code == 201, r.get_json()
    out = r.get_json()
    server = out["ticket"]["materials"]
    assert out["materials"] == server
    birth = [m for m in server if m["name"] == "出生医学证明"]
    assert len(birth) == 1 and birth[0]["form"] == "original" and sorted(birth[0]["for_items"]) == ["HZ003", "SB005"]
    # The clerk's view of the same ticket carries the same list.
    seen = api.get(f"/api/v1/tickets/{out['ticket']['id']}", token=api.token("manager"))
    if seen.status_code == 200:
        assert seen.get_json()["materials"] == server


@pytest.mark.parametrize("query, idle, refresh", [
    ("?idle=2&refresh=1", "2.0", "1.0"),  # a drill's short timers
    ("?idle=nan&refresh=inf", "", "15"),  # not numbers a timer can run on: the page's own defaults
    ("?idle=-5&refresh=0", "", "15"),
    ("?idle=1e9&refresh=86400", "", "15"),
])
def test_page_timer_overrides_are_bounded_numbers(kiosk, query, idle, refresh):
    html = kiosk.get("/kiosk/" + query).get_data(as_text=True)
    assert f'data-idle="{idle}"' in html and f'data-refresh="{refresh}"' in html
