"""Fixtures every browser test module shares: one chromium per worker, and one demo-hall server per module.

A module that needs another server (other settings, extra data) defines its own ``server`` fixture,
which takes precedence over this one. Playwright's driver and chromium cost a few CPU seconds to start:
a worker starts them once (``_playwright``, ``_chromium``) and every module gets the same browser
(``browser``), with the contexts and pages it opened closed at its end, so a module still starts from a
browser without its predecessors' pages. A module that needs other chromium flags launches its own browser
from ``_playwright`` (tests/e2e/test_display_screens.py). Under xdist the next module's plain demo server starts in
the background while a module runs (``demo_server`` in tests/e2e/browser.py); ``_spare_server`` ends the last one.
"""
from __future__ import annotations

import pytest

from tests.e2e.browser import (
    ARGS,
    CHROMIUM,
    demo_server,
    end_server,
    end_spare,
    require_chromium,
)


@pytest.fixture(scope="module")
def server(request, tmp_path_factory):
    """A real ``onevisit run`` on a fresh demo hall, for the whole module."""
    srv = demo_server(tmp_path_factory.mktemp(request.module.__name__.rsplit(".", 1)[-1]))
    yield srv
    end_server(srv)


@pytest.fixture(scope="session", autouse=True)
def _spare_server():
    """The worker's spare demo server (tests/e2e/browser.py) ends with its session, not left running."""
    yield
    end_spare()


@pytest.fixture(scope="session")
def _playwright():
    """Playwright's driver, once per worker (the sync API allows one per thread)."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p
        b = _shared.pop("chromium", None)
        if b is not None and b.is_connected():
            b.close()


_shared: dict[str, object] = {}


def _launch(playwright, args=ARGS):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=list(args))


@pytest.fixture(scope="module")
def browser(_playwright):
    """Debian's headless chromium through Playwright: one per worker, lent to each module in turn.

    The contexts (and so the pages) a module opens are closed when it ends; a browser that died is
    replaced, so one module's crash does not fail the next ones.
    """
    b = _shared.get("chromium")
    if b is None or not b.is_connected():
        b = _shared["chromium"] = _launch(_playwright)
    yield b
    if b.is_connected():  # a worker runs one module at a time: every context left open is this module's
        for ctx in b.contexts:
            ctx.close()

