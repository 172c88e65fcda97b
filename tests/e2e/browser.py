"""What the browser tests share: Debian's chromium (required in CI), a demo-hall server, logins, screenshots."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import requests

from hall_queue.entrypoints.demo.loader import DEMO_PASSWORD
from tests.server import ServerProcess

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


def require_chromium() -> None:
    """Skip the calling test module without Debian's chromium; fail it instead when CI requires browsers."""
    if Path(CHROMIUM).exists():
        return
    if os.environ.get("ONEVISIT_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{CHROMIUM} is missing and ONEVISIT_REQUIRE_BROWSER=1", pytrace=False)
    pytest.skip(f"browser tests need Debian chromium at {CHROMIUM} (apt-get install chromium)",
                allow_module_level=True)


def artifacts(area: str) -> Path:
    """Where a test area's screenshots go (kept by CI for a look after a failure)."""
    return Path(__file__).resolve().parents[2] / "test-artifacts" / area


def demo_server(instance: Path) -> ServerProcess:
    """Start a real ``onevisit run`` on a fresh demo hall; ``srv.tokens`` holds the demo device tokens."""
    # Plain http on 127.0.0.1: the development setting that turns the Secure cookie flag off.
    srv = ServerProcess(instance, env={"ONEVISIT_COOKIE_SECURE": "0"})
    srv.cli("init")
    srv.cli("demo")
    srv.start()
    srv.tokens = json.loads((instance / "demo-tokens.json").read_text())
    return srv


def staff_token(srv: ServerProcess, username: str) -> str:
    """Log a demo staff member in over the API and return the bearer token."""
    r = requests.post(srv.url + "/api/v1/auth/login", json={"username": username, "password": DEMO_PASSWORD},
                      timeout=10)
    r.raise_for_status()
    return r.json()["token"]


def api_call(srv: ServerProcess, method: str, path: str, token: str | None, body=None):
    """Call the server's API with a bearer token and return the JSON answer (asserting success)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    r = requests.request(method, srv.url + path, json=body, headers=headers, timeout=10)
    assert r.ok, r.text
    return r.json()


def login(page, srv: ServerProcess, username: str) -> None:
    """Log in on the staff login page."""
    page.goto(srv.url + "/admin/login")
    page.fill("#username", username)
    page.fill("#password", DEMO_PASSWORD)
    page.click("#login-submit")


def shot(page, area: str, name: str) -> None:
    folder = artifacts(area)
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)
