"""Issue 13, findings 1, 3 and 12: the kiosk agent is not open to the network, links never follow Host.

Findings as an outside tester saw them: anonymous ``POST /kiosk/agent/sim/swipe`` then
``POST /kiosk/agent/tickets`` issued tickets in a visitor's name on a production server; a forged
``Host`` became the base of every slip QR; the standalone agent answered any Host (DNS rebinding).
"""
from __future__ import annotations

import re

import pytest

from hall_queue import create_app
from hall_queue.access.auth import issue_token

PUBLIC = "https://zwfw.example.gov.cn"
PROD = {"ENV": "production", "SECRET_KEY": "s" * 40, "DATA_KEY": "d" * 40, "PUBLIC_BASE_URL": PUBLIC}


def _kiosk_token(db, hall_id, clock) -> str:
    return db.run_write(lambda s: issue_token(s, kind="kiosk", hall_id=hall_id, now=clock.now(), name="1号取号机"))


def _app(db, clock, tmp_path, **config):
    return create_app({"DATABASE": db, "DATABASE_URL": db.url, "CLOCK": clock, "TESTING": True,
                       "KIOSK_PRINTER": f"virtual://?dir={tmp_path / 'printouts'}", "KIOSK_SCANNER": "",
                       "KIOSK_HEALTH_S": "3600", **config})


def _stop_agent(app) -> None:
    provider = app.extensions.get("kiosk_agent_provider")
    if provider is not None:
        try:
            provider().stop()
        except Exception:  # noqa: BLE001 - never started
            pass


def _item(client, hall_id) -> int:
    return client.get(f"/api/v1/halls/{hall_id}/catalog").get_json()["items"][0]["id"]


ATTACK = [("POST", "/kiosk/agent/sim/swipe", {"card": "resident"}),
          ("POST", "/kiosk/agent/tickets", {"request_id": "attacker-0001", "item_ids": [1], "with_identity": True,
                                            "phone": "13800000000"}),
          ("GET", "/kiosk/agent/state", None), ("GET", "/kiosk/agent/sim/last-printout", None)]


def test_production_server_has_no_agent_even_with_a_kiosk_token(db, clock, hall_id, tmp_path):
    app = _app(db, clock, tmp_path, **PROD, KIOSK_TOKEN=_kiosk_token(db, hall_id, clock))
    client = app.test_client()
    for method, path, body in ATTACK:
        r = client.open(path, method=method, json=body)
        assert r.status_code == 404, (path, r.get_json())
        assert r.get_json()["error"]["code"] == "not_found"
    assert app.extensions.get("kiosk_agent_provider") is None  # nothing started, no device opened
    assert client.get("/kiosk/").status_code == 200  # the page itself is static; it only reaches no agent


@pytest.fixture
def single_pc(db, clock, hall_id, tmp_path):
    """A production single-PC hall: the agent enabled explicitly (``ONEVISIT_INPROCESS_AGENT=1``)."""
    app = _app(db, clock, tmp_path, **PROD, INPROCESS_AGENT="1", KIOSK_TOKEN=_kiosk_token(db, hall_id, clock),
               KIOSK_IDCARD="sim://")
    yield app
    _stop_agent(app)


def _page_key(client) -> str:
    page = client.get("/kiosk/")
    m = re.search(r'<meta name="kiosk-key" content="([^"]+)">', page.get_data(as_text=True))
    assert m, "the kiosk page carries the per-boot key"
    assert "ov_kiosk_key=" in page.headers["Set-Cookie"] and "HttpOnly" in page.headers["Set-Cookie"]
    assert "SameSite=Strict" in page.headers["Set-Cookie"]
    return m.group(1)


def test_single_pc_agent_is_refused_anonymously_and_from_elsewhere(single_pc, hall_id):
    outside = single_pc.test_client()
    outside.environ_base["REMOTE_ADDR"] = "203.0.113.7"
    for method, path, body in ATTACK:
        r = outside.open(path, method=method, json=body)
        assert r.status_code in (403, 404), (path, r.status_code)
    # Another address never receives the key with the page.
    assert 'name="kiosk-key"' not in outside.get("/kiosk/").get_data(as_text=True)
    assert "Set-Cookie" not in outside.get("/kiosk/").headers

    local = single_pc.test_client()  # the kiosk's own address, but no key: a script, not the page
    r = local.post("/kiosk/agent/tickets", json=ATTACK[1][2])
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "kiosk_key_required"
    assert local.get("/kiosk/agent/state").status_code == 403
    assert local.post("/kiosk/agent/tickets", json=ATTACK[1][2], headers={"X-Kiosk-Key": "guess"}).status_code == 403


def test_single_pc_agent_serves_its_own_page_and_has_no_sim(single_pc, hall_id):
    kiosk = single_pc.test_client()
    key = _page_key(kiosk)
    assert kiosk.get("/kiosk/agent/state").status_code == 200  # the cookie from the page (EventSource, <img>)
    # Demo drills never exist in production, not even for the kiosk itself.
    r = kiosk.post("/kiosk/agent/sim/swipe", json={"card": "resident"}, headers={"X-Kiosk-Key": key})
    assert r.status_code == 404
    # A POST needs the header the page's script sends; the cookie alone (a form on another site) is not enough.
    body = {"request_id": "kiosk-visitor-01", "item_ids": [_item(kiosk, hall_id)]}
    assert kiosk.post("/kiosk/agent/tickets", json=body).status_code == 403
    r = kiosk.post("/kiosk/agent/tickets", json=body, headers={"X-Kiosk-Key": key})
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["follow_url"].startswith(PUBLIC + "/t/")
    # Through a proxy on the same PC every visitor would look like loopback: refused.
    r = kiosk.get("/kiosk/agent/state", headers={"X-Kiosk-Key": key, "X-Forwarded-For": "198.51.100.4"})
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "proxied"
    # DNS rebinding: a page of evil.example resolved to 127.0.0.1 sends its own Host and Origin.
    assert kiosk.get("/kiosk/agent/state", headers={"Host": "evil.example", "X-Kiosk-Key": key}).status_code == 403
    r = kiosk.post("/kiosk/agent/tickets", json=body, headers={"Origin": "http://evil.example", "X-Kiosk-Key": key})
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "bad_origin"


def test_a_new_boot_makes_a_new_key(db, clock, hall_id, tmp_path):
    first = _app(db, clock, tmp_path, **PROD, INPROCESS_AGENT="1")
    second = _app(db, clock, tmp_path, **PROD, INPROCESS_AGENT="1")
    assert _page_key(first.test_client()) != _page_key(second.test_client())


def test_a_forged_host_changes_no_link(db, clock, hall_id, tmp_path, api):
    """Finding 3: the first request's Host used to become the base of every slip QR and booking link."""
    app = _app(db, clock, tmp_path, PUBLIC_BASE_URL="https://hall.example", KIOSK_TOKEN=api.tokens["kiosk"])
    try:
        forged = app.test_client()
        for path in ("/kiosk/agent/state", "/kiosk/agent/qr.svg?path=/book/1"):
            forged.get(path, headers={"Host": "evil.example"})
            forged.get(path, base_url="http://evil.example")
        kiosk = app.test_client()
        issued = kiosk.post("/kiosk/agent/tickets", json={"request_id": "visitor-after-1",
                                                          "item_ids": [api.items["SS001"]]}).get_json()
        assert issued["follow_url"] == f"https://hall.example/t/{issued['ticket']['follow_code']}"
        printout = kiosk.get("/kiosk/agent/sim/last-printout").get_json()
        assert printout["qr_codes"] == [issued["follow_url"]]
        assert kiosk.get("/kiosk/agent/state").get_json()["book_url"] == f"https://hall.example/book/{hall_id}"
        svg = kiosk.get("/kiosk/agent/qr.svg?path=/t/abc").get_data(as_text=True)
        assert svg.startswith("<?xml") and "evil" not in svg
        # The rating pad's address a manager is given follows the setting too, whatever Host the request had.
        manager = api.token("manager")
        r = forged.post(f"/api/v1/windows/{api.windows[1]}/pad-token", json={}, base_url="http://evil.example",
                        headers={"Authorization": f"Bearer {manager}"})
        assert r.status_code == 201 and r.get_json()["url"].startswith("https://hall.example/admin/pad/")
    finally:
        _stop_agent(app)


def test_development_links_never_take_the_host_header(db, clock, hall_id, tmp_path, api, monkeypatch):
    monkeypatch.delenv("ONEVISIT_PUBLIC_URL", raising=False)
    monkeypatch.setenv("ONEVISIT_PORT", "5123")
    app = _app(db, clock, tmp_path, PUBLIC_BASE_URL="", KIOSK_TOKEN=api.tokens["kiosk"])
    try:
        client = app.test_client()
        client.get("/kiosk/agent/state", base_url="http://evil.example")
        issued = client.post("/kiosk/agent/tickets", json={"request_id": "visitor-dev-01",
                                                           "item_ids": [api.items["SS001"]]}).get_json()
        assert issued["follow_url"].startswith("http://127.0.0.1:5123/t/")
    finally:
        _stop_agent(app)


# ---------------------------------------------------------------- the standalone agent (finding 12)

@pytest.fixture
def standalone(tmp_path, api):
    """``onevisit kiosk`` on a kiosk PC, port 5100 (its queue server away: the guard answers first)."""
    from kiosk.agent import AgentConfig
    from kiosk.standalone import create_kiosk_app

    config = AgentConfig(idcard_url="sim://", printer_url=f"virtual://?dir={tmp_path / 'slips'}", scanner_url=None,
                         health_every_s=3600, public_url="https://hall.example")
    app = create_kiosk_app(server="http://127.0.0.1:9", token=api.tokens["kiosk"], config=config, port=5100)
    yield app
    app.extensions["kiosk_agent"].stop()


@pytest.mark.parametrize("host", ["localhost:5100", "127.0.0.1:5100", "[::1]:5100"])
def test_standalone_agent_answers_its_own_host(standalone, host):
    r = standalone.test_client().get("/kiosk/agent/state", headers={"Host": host})
    assert r.status_code == 200, r.get_json()
    r = standalone.test_client().post("/kiosk/agent/session/reset", headers={"Host": host,
                                                                               "Origin": f"http://{host}"})
    assert r.status_code == 200


@pytest.mark.parametrize("headers, code", [
    ({"Host": "evil.example:5100"}, "bad_host"),        # DNS rebinding: evil.example resolved to 127.0.0.1
    ({"Host": "evil.example"}, "bad_host"),
    ({"Host": "127.0.0.1:5101"}, "bad_host"),           # another local port, e.g. another program's page
    ({"Host": "127.0.0.1.evil.example:5100"}, "bad_host"),
    ({"Host": "localhost:5100", "Origin": "http://evil.example"}, "bad_origin"),
    ({"Host": "localhost:5100", "Origin": "null"}, "bad_origin"),
    ({"Host": "localhost:5100", "Origin": "http://localhost:8080"}, "bad_origin"),
])
def test_standalone_agent_refuses_foreign_host_or_origin(standalone, headers, code):
    client = standalone.test_client()
    for method, path in (("GET", "/kiosk/agent/state"), ("POST", "/kiosk/agent/sim/swipe"),
                         ("GET", "/kiosk/agent/sim/last-printout")):
        r = client.open(path, method=method, json={} if method == "POST" else None, headers=headers)
        assert r.status_code == 403, (headers, path, r.get_json())
        assert r.get_json()["error"]["code"] == code


def test_standalone_agent_refuses_other_addresses(standalone):
    client = standalone.test_client()
    client.environ_base["REMOTE_ADDR"] = "192.168.1.20"
    r = client.get("/kiosk/agent/state", headers={"Host": "127.0.0.1:5100"})
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "not_kiosk_address"



def test_a_bad_kiosk_address_setting_stops_start_up(db, clock, tmp_path):
    from hall_queue.config import InsecureConfig

    with pytest.raises(InsecureConfig, match="ONEVISIT_KIOSK_ADDRESSES"):
        _app(db, clock, tmp_path, KIOSK_ADDRESSES="kiosk-1")
