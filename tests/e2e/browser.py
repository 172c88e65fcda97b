"""What the browser tests share: Debian's chromium (required in CI), a demo-hall server, logins, screenshots."""
from __future__ import annotations

import atexit
import json
import os
import shutil
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest
import requests

from hall_queue.entrypoints.demo.loader import DEMO_PASSWORD
from tests.conftest import CHEAP_TEST_HASHER
from tests.server import ServerProcess
from tests.server import (
    _build_template as build_instance_template,  # a fresh one: this worker rebuilds when stale
)

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


# `onevisit init` + `onevisit demo` as subprocesses cost two interpreter starts (~4.7 CPU-s); a worker builds the
# demo instance once, in-process (tests/server.py, ~1.2 CPU-s, the same files), and every module's server starts on
# its own copy of the files (fresh, as before).
_DEMO_FILES = ("onevisit.db", "demo-tokens.json")
_demo_built: dict[str, tuple[Path, float]] = {}
DEMO_TEMPLATE_MAX_AGE_S = 1800  # the demo hall's bookings are for "today": rebuild a template older than this


def fresh_demo_instance(instance: Path) -> None:
    built = _demo_built.get("template")
    if built is None or time.monotonic() - built[1] > DEMO_TEMPLATE_MAX_AGE_S:
        template = build_instance_template(demo=True)
        _cheap_demo_logins(template / "onevisit.db")
        _demo_built["template"] = built = (template, time.monotonic())
    for name in _DEMO_FILES:  # built with the WAL checkpointed: the .db file is the whole database
        shutil.copy2(built[0] / name, instance / name)


def _cheap_demo_logins(db: Path) -> None:
    """The demo staff get tests/conftest.py's cheap argon2id hash of the demo password, as in the other tests'
    templates: a server's login then costs it a millisecond instead of the production KDF's ~0.2 CPU-s (about a
    hundred logins over the browser tests). The server still verifies a real argon2id hash; accounts a test
    creates get the production hash; ONEVISIT_TEST_FULL_KDF=1 keeps the production hashes here too."""
    if os.environ.get("ONEVISIT_TEST_FULL_KDF") == "1":
        return
    with closing(sqlite3.connect(db)) as conn, conn:
        conn.execute("UPDATE staff SET password_hash = ?", (CHEAP_TEST_HASHER.hash(DEMO_PASSWORD),))


def demo_server(instance: Path, *, timeout: float = 90.0,
                prepare: Callable[[Path], None] | None = None, env: dict[str, str] | None = None) -> ServerProcess:
    """Start a real ``onevisit run`` on a fresh demo hall; ``srv.tokens`` holds the demo device tokens.

    ``prepare(instance)`` may change this module's copy of the demo database before the server starts;
    ``timeout`` is how long the server may take to answer (a busy machine needs more than an idle one);
    ``env`` adds settings for the server (``ONEVISIT_VOICE_SPEED``…). A plain demo server (no ``prepare``, no
    ``env``) may be one started in the background while the previous module ran (``_spare``): then
    ``srv.instance`` is that server's own fresh copy of the demo hall, not ``instance``.
    """
    plain = prepare is None and not env
    srv = _take_spare(timeout) if plain else None
    if srv is None:
        srv = _new_server(instance, env)
        fresh_demo_instance(instance)
        if prepare is not None:
            prepare(instance)
        try:
            srv.start(timeout=timeout)
        except RuntimeError:
            srv.stop()
            raise
    srv.tokens = json.loads((srv.instance / "demo-tokens.json").read_text())
    _start_spare()
    return srv


def _new_server(instance: Path, env: dict[str, str] | None) -> ServerProcess:
    # Plain http on 127.0.0.1: the development setting that turns the Secure cookie flag off.
    # The simulated document camera at 960×540 (as tests/e2e/test_kiosk_browser.py has it) instead of the demo
    # agent's 1280×720: about half the pixels to render, encode and find the page in, frame after frame; the
    # kiosk's scan flow is the same.
    return ServerProcess(instance, env={"ONEVISIT_COOKIE_SECURE": "0",
                                        "ONEVISIT_KIOSK_SCANNER": "sim://?width=960&height=540", **(env or {})})


# A module's server costs a few CPU-seconds to start, but 5–8 s of wall time on a loaded machine, in which its
# worker does nothing else. Under pytest-xdist (`make test`), while a module runs, the worker starts the next
# module's plain demo server in the background, on its own fresh copy of the demo hall: the next module that
# wants one gets it already answering. A spare that failed to start is dropped and a server started as before;
# the worker's last spare is killed when its session ends (end_spare: one unused server start per worker). A spare made from a template
# older than DEMO_TEMPLATE_MAX_AGE_S is dropped like the template.
SPARE_START_TIMEOUT_S = 180.0
_spare: list[tuple[ServerProcess, threading.Thread, list[BaseException], float]] = []


def _start_spare() -> None:
    if _spare or not os.environ.get("PYTEST_XDIST_WORKER"):
        return
    instance = Path(tempfile.mkdtemp(prefix="onevisit-e2e-spare-"))
    atexit.register(shutil.rmtree, instance, True)
    srv = _new_server(instance, None)
    fresh_demo_instance(instance)
    failed: list[BaseException] = []

    def start() -> None:
        try:
            srv.start(timeout=SPARE_START_TIMEOUT_S)
        except Exception as e:  # noqa: BLE001 - reported by _take_spare's fallback: a server started in place
            failed.append(e)

    thread = threading.Thread(target=start, name="spare-demo-server", daemon=True)
    thread.start()
    _spare.append((srv, thread, failed, _demo_built["template"][1]))


def _take_spare(timeout: float) -> ServerProcess | None:
    """The spare demo server once it answers (waiting at most ``timeout``), or None (then start one in place)."""
    if not _spare:
        return None
    srv, thread, failed, built = _spare.pop()
    thread.join(timeout)
    stale = time.monotonic() - built > DEMO_TEMPLATE_MAX_AGE_S  # its "today" too old, as for the template
    if stale or thread.is_alive() or failed or srv.proc is None or srv.proc.poll() is not None:
        srv.kill()
        return None
    return srv


def end_spare() -> None:
    """Kill the spare demo server, if any (at the end of the worker's session)."""
    while _spare:
        srv, thread, _, _ = _spare.pop()
        srv.kill()
        thread.join(5)
        srv.kill()  # a start still under way when first killed has its process by now


def end_server(srv: ServerProcess) -> None:
    """End a module's server at once (SIGKILL; its gunicorn worker dies with it).

    Its instance is thrown away, so nothing needs a clean shutdown; a graceful stop (``srv.stop()``) waits out
    gunicorn's graceful timeout for a worker that does not exit by itself (its arbiter SIGKILLs it in the end),
    about 9 s a module on a loaded machine.
    """
    srv.kill()


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


def hall_windows(srv: ServerProcess, token: str) -> dict[int, int]:
    """The demo hall's windows as number → id."""
    items = api_call(srv, "GET", f"/api/v1/halls/{srv.tokens['hall_id']}/windows", token)["items"]
    return {w["number"]: w["id"] for w in items}


def catalog_items(srv: ServerProcess) -> list[dict]:
    """The demo hall's public catalogue: the items a kiosk offers."""
    r = requests.get(srv.url + f"/api/v1/halls/{srv.tokens['hall_id']}/catalog", timeout=10)
    r.raise_for_status()
    return r.json()["items"]


def kiosk_ticket(srv: ServerProcess, body: dict) -> dict:
    """Issue a ticket as the demo kiosk does and return it."""
    return api_call(srv, "POST", f"/api/v1/halls/{srv.tokens['hall_id']}/tickets", srv.tokens["kiosk"], body)


# A staff login checks the password (argon2, on purpose slow) and lands on the dashboard, a page with a live
# connection: most tests go on to another page at once. The first staff_page of a user on a server drives the
# real login form (as login() does everywhere else); its session cookie is kept, and the next contexts of that
# user start logged in (Playwright's storage state) on the page the test wants.
_sessions: dict[tuple[str, str, str], dict] = {}


def staff_page(browser, srv: ServerProcess, username: str = "manager", *, size: tuple[int, int] = (1366, 768),
               locale: str | None = "zh-CN", timeout_ms: float | None = None, errors: list[str] | None = None,
               start: str | None = None, **context):
    """A fresh browser context of ``size`` with ``username`` logged in; returns (context, page).

    The page is on the dashboard, or on ``start`` (a path such as ``/admin/stats``) when given: a test that
    goes elsewhere first need not load the dashboard. ``locale=None`` keeps chromium's own; ``timeout_ms``
    becomes the page's default timeout; ``errors`` collects the page's script errors from the start;
    ``context`` goes to ``browser.new_context``.
    """
    if locale is not None:
        context["locale"] = locale
    key = (srv.url, str(srv.instance), username)
    state = _sessions.get(key)
    if state is not None:
        context["storage_state"] = state
    ctx = browser.new_context(viewport={"width": size[0], "height": size[1]}, **context)
    page = ctx.new_page()
    if timeout_ms is not None:
        page.set_default_timeout(timeout_ms)
    if errors is not None:
        page.on("pageerror", lambda e: errors.append(str(e)))
    if state is not None:
        page.goto(srv.url + (start or "/admin/dashboard"))
        if "/admin/login" not in page.url:  # the session still holds (a test may have ended it)
            return ctx, page
    login(page, srv, username)
    page.wait_for_url("**/admin/dashboard")
    # Only the session cookie: whatever a page later keeps in localStorage stays with its own context.
    _sessions[key] = {"cookies": ctx.storage_state()["cookies"], "origins": []}
    if start is not None:
        page.goto(srv.url + start)
    return ctx, page


def take_window(page, srv: ServerProcess, username: str, window_id: int) -> None:
    """Log a clerk in, take window ``window_id`` on the console and wait for its desk."""
    login(page, srv, username)
    page.wait_for_url("**/admin/console")
    page.click(f"button[data-window='{window_id}']")
    page.wait_for_selector("#desk:not([hidden])")


def call_next(page, number: str) -> None:
    """Press F1 (下一位) on the console and wait until ticket ``number`` is in hand."""
    page.keyboard.press("F1")
    page.wait_for_selector(f"#t-number:has-text('{number}')")


def assert_absent(text: str, words) -> None:
    """Fail on the first of ``words`` in ``text``: a Chinese page shows no English, codes or clause numbers."""
    for word in words:
        assert word not in text, word


def shot(page, area: str, name: str) -> None:
    folder = artifacts(area)
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)
