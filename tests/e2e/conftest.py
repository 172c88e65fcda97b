"""Fixtures every browser test module shares: one chromium and one demo-hall server per module.

A module that needs another server (other settings, extra data) defines its own ``server`` fixture,
which takes precedence over this one.
"""
from __future__ import annotations

import pytest

from tests.e2e.browser import ARGS, CHROMIUM, demo_server, require_chromium


@pytest.fixture(scope="module")
def server(request, tmp_path_factory):
    """A real ``onevisit run`` on a fresh demo hall, for the whole module."""
    srv = demo_server(tmp_path_factory.mktemp(request.module.__name__.rsplit(".", 1)[-1]))
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def browser():
    """Debian's headless chromium through Playwright, for the whole module."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()
