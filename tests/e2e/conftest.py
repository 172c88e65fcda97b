"""Fixtures the browser tests share (a module may still define its own ``browser``)."""
from __future__ import annotations

import pytest

from tests.e2e.browser import ARGS, CHROMIUM


@pytest.fixture(scope="module")
def browser():
    """Debian's chromium, headless, for the module's tests."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()
