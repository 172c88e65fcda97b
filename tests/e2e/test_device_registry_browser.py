"""Browser test of device registration on the configuration page (issue 13, finding 2), on a real server:
a manager registers a screen, sees its token once in a dialog, finds it listed without the token, and
revokes it; the token works until then and is refused at once after. Screenshots: test-artifacts/manage/."""
from __future__ import annotations

import re

import pytest
import requests

from tests.e2e.browser import require_chromium, shot, staff_page

require_chromium()
pytest.importorskip("playwright.sync_api")


def _snapshot(srv, token):
    return requests.get(f"{srv.url}/api/v1/halls/{srv.tokens['hall_id']}/snapshot",
                        headers={"Authorization": f"Bearer {token}"}, timeout=10)


def test_register_token_once_listed_revoke(server, browser):
    errors: list[str] = []
    ctx, page = staff_page(browser, server, timeout_ms=10000, errors=errors, start="/admin/config")
    page.on("dialog", lambda d: d.accept())  # the 停用 confirmation
    page.click(".tabs button[data-tab=devices]")
    page.wait_for_selector("#tab-devices[data-loaded='1']")

    # A window screen needs its window: the select appears with the role.
    page.select_option("#device-role", "window_screen")
    assert page.is_visible("#device-window")
    page.select_option("#device-role", "hall_screen")
    assert not page.is_visible("#device-window")
    page.fill("#device-name", "东厅综合屏")
    page.click("#device-submit")
    page.wait_for_selector("#dlg-device-token[open]")
    token = page.input_value("#device-token")
    assert token.startswith("ovsc_")
    assert page.input_value("#device-page") == (f"{server.url}/display/hall/{server.tokens['hall_id']}"
                                                f"?token={token}")
    dialog_text = page.inner_text("#dlg-device-token")
    assert "只显示这一次" in dialog_text and not re.search(r"[A-Za-z]{3,}", dialog_text)
    shot(page, "manage", "device-token-once")
    assert _snapshot(server, token).status_code == 200  # the new screen works at once

    page.click("#device-token-close")
    page.wait_for_selector("#dlg-device-token", state="hidden")
    page.wait_for_selector("#device-table tr:has-text('东厅综合屏')")
    # Listed, and the token is nowhere on the page any more (nor in the list the server sends).
    assert token not in page.content()
    assert page.input_value("#device-token") == ""
    row = page.locator("#device-table tr", has_text="东厅综合屏")
    assert "大厅综合屏" in row.inner_text() and "在用" in row.inner_text()
    tab_text = page.inner_text("#tab-devices")
    assert not re.search(r"[A-Za-z]{3,}", tab_text), tab_text  # no English on a manager's page
    shot(page, "manage", "devices-1366x768")

    row.locator("button.revoke").click()
    page.wait_for_selector("#device-table tr.inactive:has-text('东厅综合屏')")
    assert "已停用" in page.locator("#device-table tr", has_text="东厅综合屏").inner_text()
    assert _snapshot(server, token).status_code == 401  # refused at once
    assert not errors, errors
    ctx.close()
