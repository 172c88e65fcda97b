"""Browser test of the configuration forms (issue 6) on a real server: a manager creates, changes and deletes
categories, items (materials as rows, guide, queues), queues, bundles (ordered items), windows (kind, served
queues, A/B clerks) and staff through labelled forms; server validation errors appear next to the form and what
was typed stays. Each change is read back through the API. Screenshots go to test-artifacts/manage/."""
from __future__ import annotations

import re
import time

import pytest
import requests

from tests.e2e.browser import (
    demo_server,
    end_server,
    require_chromium,
    shot,
    staff_page,
    staff_token,
)

require_chromium()
pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = demo_server(tmp_path_factory.mktemp("config-forms-e2e"))
    srv.manager = staff_token(srv, "manager")
    yield srv
    end_server(srv)


def _get(srv, path):
    r = requests.get(srv.url + path, headers={"Authorization": f"Bearer {srv.manager}"}, timeout=10)
    assert r.ok, r.text
    return r.json()


def _by(srv, what, key, value):
    rows = _get(srv, f"/api/v1/halls/{srv.tokens['hall_id']}/{what}")["items"]
    return next((r for r in rows if r[key] == value), None)


@pytest.fixture(scope="module")
def page(server, browser):
    errors: list[str] = []
    ctx, pg = staff_page(browser, server, size=(1366, 1000), timeout_ms=10000, errors=errors, start="/admin/config")
    pg.wait_for_selector("#settings-form[data-loaded='1']")
    yield pg
    assert not errors, errors
    ctx.close()


def _tab(pg, name):
    pg.click(f"button[data-tab='{name}']")
    pg.wait_for_selector(f"#tab-{name}[data-loaded='1']:not([hidden]) table tbody")


def _row(pg, tab, text):
    return pg.locator(f"#tab-{tab} table tbody tr", has=pg.locator(f"td:text-is('{text}')"))


def _save_ok(pg, entity):
    pg.click(f"#form-{entity} button.save")
    pg.wait_for_selector(f"#dlg-{entity}:not([open])", state="attached")
    pg.wait_for_selector(f"#tab-{entity}[data-loaded='1']")


def test_settings_hours_as_rows(server, page):
    hall = server.tokens["hall_id"]
    sat = page.locator(".periods[data-day='sat']")
    before = sat.locator(".period").count()
    page.click("button[data-add-period='sat']")
    new = sat.locator(".period").last
    new.locator("[name=p_from]").fill("09:00")
    new.locator("[name=p_to]").fill("12:00")
    page.fill("#wait_alert_s", "1500")
    page.click("#settings-form button[type=submit]")
    page.wait_for_selector("#toast:has-text('大厅设置已保存')")
    # After the save: a full-page screenshot resizes the page under Playwright, and a click right after it
    # can miss the button.
    shot(page, "manage", "config-settings")
    s = _get(server, f"/api/v1/halls/{hall}/settings")
    assert s["wait_alert_s"] == 1500 and ["09:00", "12:00"] in s["opening_hours"]["sat"]
    assert len(s["opening_hours"]["sat"]) == before + 1
    # A reversed period is refused by the server; the message is shown and the rows stay as typed.
    new.locator("[name=p_to]").fill("08:00")
    page.click("#settings-form button[type=submit]")
    page.wait_for_selector("#settings-error:not([hidden])")
    assert page.inner_text("#settings-error") == "填写的内容有误，请检查后重试"  # never the API's English
    assert page.locator("#hours .field-error").count() == 1
    assert page.inner_text("#hours .field-error") == "周六 09:00-08:00 不是有效的时段（结束须晚于开始）"
    assert new.locator("[name=p_to]").input_value() == "08:00"
    new.locator("[data-row=remove-period]").click()
    page.click("#settings-form button[type=submit]")
    page.wait_for_selector("#settings-error", state="hidden")  # hidden as the save starts, not when it ends
    deadline = time.monotonic() + 10
    while len(_get(server, f"/api/v1/halls/{hall}/settings")["opening_hours"]["sat"]) != before \
            and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(_get(server, f"/api/v1/halls/{hall}/settings")["opening_hours"]["sat"]) == before


def test_category_item_queue_bundle_forms(server, page):
    _tab(page, "categories")
    page.click("button[data-new='categories']")
    page.fill("#categories-code", "CFG")
    page.fill("#categories-name", "表单测试类")
    _save_ok(page, "categories")
    cat = _by(server, "categories", "code", "CFG")
    assert cat["name"] == "表单测试类" and _row(page, "categories", "CFG").count() == 1

    _tab(page, "items")
    page.click("button[data-new='items']")
    page.wait_for_selector("#dlg-items[open]")
    assert page.is_hidden("#items-promised_days")  # only for promised items
    page.fill("#items-code", "CFG001")
    page.fill("#items-name", "表单新办事项")
    page.fill("#items-name_en", "Form test item")
    page.select_option("#items-category_id", str(cat["id"]))
    page.select_option("#items-kind", "promised")
    page.fill("#items-promised_days", "7")
    page.fill("#items-typical_minutes", "12.5")
    page.locator("#form-items [data-checks=queues] label", has_text="A ").locator("input").check()
    page.click("[data-add-row=material]")
    row = page.locator(".material-row").last
    row.locator("[name=m_name]").fill("营业执照")
    row.locator("[name=m_form]").select_option("copy")
    row.locator("[name=m_count]").fill("2")
    row.locator("[name=m_deferrable]").check()
    page.fill("#items-guide-fees", "不收费")
    shot(page, "manage", "config-item-form")
    _save_ok(page, "items")
    item = _by(server, "items", "code", "CFG001")
    queue_a = _by(server, "queues", "prefix", "A")
    assert (item["kind"], item["promised_days"], item["typical_service_s"]) == ("promised", 7, 750)
    assert item["name_en"] == "Form test item"
    assert item["category_id"] == cat["id"] and item["queue_ids"] == [queue_a["id"]]
    assert item["materials"] == [
        {"name": "居民身份证", "form": "original", "count": 1, "required": True, "deferrable": False},
        {"name": "营业执照", "form": "copy", "count": 2, "required": True, "deferrable": True}]
    assert item["guide"] == {"fees": "不收费"}

    # Server validation: a taken code and an empty material name; the dialog stays open with what was typed.
    page.click("button[data-new='items']")
    page.fill("#items-code", "CFG001")
    page.fill("#items-name", "重复编码的事项")
    page.select_option("#items-category_id", str(cat["id"]))
    page.click("#form-items button.save")
    page.wait_for_selector("#form-items .form-error:not([hidden])")
    assert page.inner_text("#form-items .form-error") == "编码 CFG001 已被占用"
    assert page.get_attribute("#items-code", "aria-invalid") == "true"
    assert page.input_value("#items-name") == "重复编码的事项"
    page.fill("#items-code", "CFG002")
    page.click("[data-add-row=material]")  # left empty
    page.click("#form-items button.save")
    page.wait_for_selector("#form-items .material-row .field-error")
    assert page.inner_text("#form-items .material-row .field-error") == "必填"
    assert page.get_attribute(".material-row >> nth=1 >> [name=m_name]", "aria-invalid") == "true"
    page.locator(".material-row").nth(1).locator("[data-row=remove]").click()
    _save_ok(page, "items")
    assert _by(server, "items", "code", "CFG002")["name"] == "重复编码的事项"

    # Edit: an immediate item has no promised days; the field is hidden and not sent.
    _row(page, "items", "CFG001").locator("button.edit").click()
    assert page.input_value("#items-promised_days") == "7"
    page.select_option("#items-kind", "immediate")
    assert page.is_hidden("#items-promised_days")
    _save_ok(page, "items")
    item = _by(server, "items", "code", "CFG001")
    assert (item["kind"], item["promised_days"], len(item["materials"])) == ("immediate", None, 2)

    _tab(page, "queues")
    page.click("button[data-new='queues']")
    page.fill("#queues-prefix", "z")
    page.fill("#queues-name", "表单队列")
    page.fill("#queues-daily_cap", "80")
    for code in ("CFG001", "CFG002"):
        page.locator("#form-queues [data-checks=items] label", has_text=code).locator("input").check()
    _save_ok(page, "queues")
    q = _by(server, "queues", "prefix", "Z")
    ids = {_by(server, "items", "code", c)["id"] for c in ("CFG001", "CFG002")}
    assert q["name"] == "表单队列" and q["daily_cap"] == 80 and set(q["item_ids"]) == ids

    _tab(page, "bundles")
    page.click("button[data-new='bundles']")
    page.fill("#bundles-code", "CFGB")
    page.fill("#bundles-name", "表单一件事")
    page.select_option("#bundles-queue_id", str(q["id"]))
    first, second = (_by(server, "items", "code", c)["id"] for c in ("CFG001", "CFG002"))
    page.locator("#bundle-item-rows select").first.select_option(str(first))
    page.click("[data-add-row=bundle-item]")
    page.locator("#bundle-item-rows select").last.select_option(str(second))
    page.locator("#bundle-item-rows tr").last.locator("[data-row=up]").click()  # CFG002 first
    assert page.locator("#bundle-item-rows .pos").first.inner_text() == "1"
    _save_ok(page, "bundles")
    b = _by(server, "bundles", "code", "CFGB")
    assert b["item_ids"] == [second, first] and b["queue_id"] == q["id"]
    shot(page, "manage", "config-bundles")

    # Delete with confirmation: the bundle goes; a queue still used by it is refused with the reason.
    _tab(page, "queues")
    page.once("dialog", lambda d: d.accept())
    _row(page, "queues", "Z").locator("button.danger").click()
    page.wait_for_selector("#toast.flash-error:not([hidden])")
    refused = page.inner_text("#toast")
    assert "1 个一件事" in refused and refused.startswith("仍被 ") and not re.search(r"[A-Za-z]{3,}", refused), refused
    _tab(page, "bundles")
    _row(page, "bundles", "CFGB").locator("button.edit").click()
    page.once("dialog", lambda d: d.accept())
    page.click("#form-bundles button.delete")
    page.wait_for_selector("#dlg-bundles:not([open])", state="attached")
    page.wait_for_selector("#toast:has-text('一件事已删除')")
    assert _by(server, "bundles", "code", "CFGB") is None


def test_window_and_staff_forms(server, page):
    _tab(page, "staff")
    page.click("button[data-new='staff']")
    page.fill("#staff-username", "clerk-form")
    page.fill("#staff-display_name", "表单 新员")
    page.fill("#staff-employee_no", "7001")
    page.fill("#staff-password", "a-long-password")
    _save_ok(page, "staff")
    clerk = _by(server, "staff", "username", "clerk-form")
    assert (clerk["role"], clerk["employee_no"], clerk["active"]) == ("clerk", "7001", True)
    r = requests.post(server.url + "/api/v1/auth/login", json={"username": "clerk-form", "password": "a-long-password"},
                      timeout=10)
    assert r.ok
    clerk01 = _by(server, "staff", "username", "clerk01")

    _tab(page, "windows")
    page.click("button[data-new='windows']")
    assert page.input_value("#windows-number") == "13"  # the next free number
    page.select_option("#windows-kind", "on_the_spot")
    page.fill("#windows-area", "B区")
    page.select_option("#windows-a_clerk_id", str(clerk["id"]))
    page.select_option("#windows-b_clerk_id", str(clerk["id"]))
    qrow = page.locator(".window-queue-row", has_text="Z 表单队列")
    qrow.locator("[name=wq_on]").check()
    qrow.locator("[name=wq_role]").select_option("helper")
    page.click("#form-windows button.save")
    page.wait_for_selector("#form-windows .form-error:not([hidden])")
    assert page.inner_text("#form-windows .form-error") == "A岗和B岗须为两位不同的人员"
    page.select_option("#windows-b_clerk_id", str(clerk01["id"]))
    page.fill("#windows-break_plan", "15:00-15:15，11:45-12:45")
    shot(page, "manage", "config-window-form")
    _save_ok(page, "windows")
    w = _by(server, "windows", "number", 13)
    z = _by(server, "queues", "prefix", "Z")
    assert (w["kind"], w["a_clerk_id"], w["b_clerk_id"], w["area"]) == ("on_the_spot", clerk["id"], clerk01["id"], "B区")
    assert w["break_plan"] == [["11:45", "12:45"], ["15:00", "15:15"]]
    assert [(x["id"], x["role"]) for x in w["queues"]] == [(z["id"], "helper")]
    # Edit: serve A first, then Z; remove the B clerk.
    _row(page, "windows", "13").locator("button.edit").click()
    page.locator(".window-queue-row", has_text="A ").first.locator("[name=wq_on]").check()
    arow = page.locator(".window-queue-row", has_text="A ").first
    while page.locator(".window-queue-row").first.get_attribute("data-queue") != arow.get_attribute("data-queue"):
        arow.locator("[data-row=up]").click()
    page.select_option("#windows-b_clerk_id", "")
    assert page.input_value("#windows-break_plan") == "11:45-12:45，15:00-15:15"
    _save_ok(page, "windows")
    w = _by(server, "windows", "number", 13)
    assert [x["prefix"] for x in w["queues"]] == ["A", "Z"] and w["b_clerk_id"] is None

    # Staff: disable the new clerk (their logins end) and reset a password, all in the staff form.
    _tab(page, "staff")
    _row(page, "staff", "clerk-form").locator("button.edit").click()
    assert page.get_attribute("#staff-username", "readonly") is not None
    page.uncheck("#staff-active")
    _save_ok(page, "staff")
    assert _by(server, "staff", "username", "clerk-form")["active"] is False
    _row(page, "staff", "clerk01").locator("button.edit").click()
    page.fill("#new-password", "short")
    page.click("#password-form button[type=submit]")
    page.wait_for_selector("#password-form .error:not([hidden])")
    page.fill("#new-password", "another-long-pass")
    page.click("#password-form button[type=submit]")
    page.wait_for_selector("#toast:has-text('密码已重置')")
    page.click("#form-staff [data-close]")
    r = requests.post(server.url + "/api/v1/auth/login", json={"username": "clerk01", "password": "another-long-pass"},
                      timeout=10)
    assert r.ok
