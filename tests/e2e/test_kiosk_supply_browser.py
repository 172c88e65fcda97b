"""Browser test of 容缺 materials brought back to the kiosk (000 §9.3.6): the applicant types the acceptance number,
is asked for the ID card, swipes the simulated card, sees the owed materials in Chinese, scans one on the simulated
document camera and hands it in; the case gets the page and the material is supplied. Portrait 1080×1920 and
landscape 1920×1080 (English mode, by the receipt's QR), nothing under the footer. Screenshots in
test-artifacts/kiosk-supply/."""
from __future__ import annotations

from datetime import date, timedelta

import requests
from playwright.sync_api import expect

from devices.idcard.simulator import SAMPLE_CARDS
from tests.e2e.browser import api_call, require_chromium, shot, staff_token

require_chromium()

AREA = "kiosk-supply"
PORTRAIT = {"width": 1080, "height": 1920}
LANDSCAPE = {"width": 1920, "height": 1080}
RESIDENT = SAMPLE_CARDS["resident"]
ENGLISH_CODES = ("undefined", "null", "owed", "supplied", "not_the_applicant", "pages_required", "Error", "§")


def _deferred_case(server) -> dict:
    """A 容缺 case of the simulated card's holder with two owed materials (clerk01 at window 1, over the API)."""
    hall = server.tokens["hall_id"]
    manager = staff_token(server, "manager")
    windows = {w["number"]: w["id"] for w in api_call(server, "GET", f"/api/v1/halls/{hall}/windows", manager)["items"]}
    catalog = requests.get(server.url + f"/api/v1/halls/{hall}/catalog", timeout=10).json()
    item = next(i["id"] for i in catalog["items"] if i["code"] == "SS003")
    issued = api_call(server, "POST", f"/api/v1/halls/{hall}/tickets", server.tokens["kiosk"],
                      {"item_ids": [item], "name": RESIDENT.name, "id_number": RESIDENT.id_number})
    clerk = staff_token(server, "clerk01")
    api_call(server, "POST", f"/api/v1/windows/{windows[1]}/sign-in", clerk, {})
    called = api_call(server, "POST", f"/api/v1/windows/{windows[1]}/call-next", clerk, {})["ticket"]
    assert called["id"] == issued["id"]
    due = (date.today() + timedelta(days=7)).isoformat()
    done = api_call(server, "POST", f"/api/v1/tickets/{issued['id']}/finish", clerk, {
        "outcome": "deferred", "deferred_materials": [{"name": "清税证明", "due_date": due, "promise": "七日内补交"},
                                                      {"name": "经营场所平面图", "due_date": due}]})
    return done["cases"][0]


def _in_sight(page, selector: str) -> list[str]:
    """The visible buttons matching ``selector`` that, scrolled into view, are not fully in sight above the footer."""
    out = []
    for i in range(page.locator(selector).count()):
        b = page.locator(selector).nth(i)
        if not b.is_visible():
            continue
        b.scroll_into_view_if_needed()
        hidden = page.evaluate("""(b) => {
            const r = b.getBoundingClientRect(), main = document.querySelector('main').getBoundingClientRect();
            const foot = document.querySelector('footer').getBoundingClientRect();
            const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
            return r.top < main.top || r.bottom > Math.min(main.bottom, foot.top) + 0.5 || !(hit && (hit === b || b.contains(hit)));
        }""", b.element_handle())
        if hidden:
            out.append(b.inner_text())
    return out


def _kiosk(browser, server, viewport):
    ctx = browser.new_context(viewport=viewport, locale="zh-CN")
    page = ctx.new_page()
    page.goto(server.url + "/kiosk/")
    expect(page.locator("#go-supply")).to_be_visible()
    requests.post(server.url + "/kiosk/agent/session/reset", timeout=5)
    requests.post(server.url + "/kiosk/agent/sim/remove", timeout=5)
    return page


def _scan_one_page_and_hand_in(page, done_text: str) -> None:
    """On the scan screen: wait for the simulated sheet, keep it, hand it in; back on 补交材料 with ``done_text``."""
    expect(page.locator("#scan-confirm")).to_be_visible(timeout=30_000)
    assert _in_sight(page, "#s-scan .actions button") == []
    page.click("#scan-ok")
    expect(page.locator("#scan-thumbs figure")).to_have_count(1)
    page.click("#scan-done")
    expect(page.locator("#s-supply")).to_be_visible()
    expect(page.locator("#supply-done")).to_contain_text(done_text)


def test_kiosk_scans_a_deferred_material_and_the_case_gets_it(server, browser):
    case = _deferred_case(server)
    page = _kiosk(browser, server, PORTRAIT)
    assert _in_sight(page, "#s-home .home-grid .big") == []      # eight entries, none under the footer
    shot(page, AREA, "home-portrait")
    page.click("#go-supply")
    for key in case["acceptance_no"]:
        page.click(f"#supply-keys [data-key='{key}']")
    page.click("#supply-find")
    expect(page.locator("#supply-msg")).to_contain_text("请刷身份证核对身份")   # a typed number alone lists nothing
    assert page.locator(".supply-row").count() == 0
    page.click("#sim-swipe")
    rows = page.locator(".supply-row")
    expect(rows).to_have_count(2)
    text = page.locator("#supply-list").inner_text()
    assert "企业注销登记" in text and case["acceptance_no"] in text and "清税证明" in text and "经营场所平面图" in text
    assert "前补交" in text and RESIDENT.id_number not in page.content()
    for word in ENGLISH_CODES:
        assert word not in page.locator("main").inner_text(), word
    assert _in_sight(page, "#s-supply button.big") == []
    shot(page, AREA, "owed-portrait")

    page.click(".supply-row:has-text('清税证明') button[data-supply]")
    expect(page.locator("#s-scan h2")).to_have_text("扫描补交：清税证明")
    expect(page.locator("#scan-done")).to_have_text("提交补交材料")
    expect(page.locator("#scan-confirm")).to_be_visible(timeout=30_000)
    shot(page, AREA, "scan-confirm-portrait")
    _scan_one_page_and_hand_in(page, "“清税证明”已补交（1 页）")
    expect(page.locator(".supply-row")).to_have_count(1)
    assert "经营场所平面图" in page.locator("#supply-list").inner_text()
    shot(page, AREA, "supplied-portrait")

    # The department sees the page with the case; the material is supplied from the kiosk, audited as a step.
    detail = api_call(server, "GET", f"/api/v1/cases/{case['id']}", staff_token(server, "dept-ss"))
    supplied = {m["name"]: m for m in detail["deferred_materials"]}
    assert supplied["清税证明"]["state"] == "supplied" and supplied["经营场所平面图"]["state"] == "owed"
    [scan] = detail["supplied_pages"]
    assert scan["material"] == "清税证明"
    img = requests.get(server.url + scan["url"], headers={"Authorization": f"Bearer {staff_token(server, 'dept-ss')}"},
                       timeout=10)
    assert img.ok and img.headers["content-type"] == "image/jpeg" and len(img.content) > 10_000
    [ev] = [e for e in detail["events"] if e["action"] == "material_supplied"]
    assert ev["detail"]["via"] == "kiosk" and detail["visits"] == 2

    # The last one, scanned and handed in: nothing is owed any more.
    page.click(".supply-row button[data-supply]")
    _scan_one_page_and_hand_in(page, "全部补交")
    expect(page.locator(".supply-row")).to_have_count(0)
    shot(page, AREA, "all-supplied-portrait")
    page.context.close()


def test_landscape_english_by_the_receipt_qr(server, browser):
    case = _deferred_case(server)
    code = api_call(server, "GET", f"/api/v1/cases/{case['id']}", staff_token(server, "clerk01"))["progress_path"]
    page = _kiosk(browser, server, LANDSCAPE)
    assert _in_sight(page, "#s-home .home-grid .big") == []
    shot(page, AREA, "home-landscape")
    page.click("#btn-lang")
    page.click("#go-supply")
    expect(page.locator("#s-supply h2")).to_have_text("Hand in missing materials")
    # The scanner types the receipt's URL and Enter into the focused field; no card needed, the code leaves the screen.
    page.locator("#supply-input").fill("http://hall.example/c/" + code.rsplit("/", 1)[1])
    page.locator("#supply-input").press("Enter")
    expect(page.locator(".supply-row")).to_have_count(2)
    assert page.locator("#supply-input").input_value() == ""
    text = page.locator("#s-supply").inner_text()
    assert "Due by" in text and "Scan" in text and "请" not in text and "补交" not in text
    assert _in_sight(page, "#s-supply button.big") == []
    shot(page, AREA, "owed-landscape-english")
    page.click(".supply-row:has-text('清税证明') button[data-supply]")
    expect(page.locator("#s-scan h2")).to_have_text("Scan: 清税证明")
    _scan_one_page_and_hand_in(page, "handed in (1 page(s))")
    expect(page.locator(".supply-row")).to_have_count(1)
    shot(page, AREA, "supplied-landscape-english")
    page.context.close()
