"""One front-end module style (issue 21): every page script is an ES module on the shared helpers in
``hall_queue/static/ov/`` (api, live, dom, time, i18n); Socket.IO event names come from the server's
``/ov/vocabulary.js`` and are written nowhere else; no page carries its own fetch, Socket.IO or i18n copy."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from hall_queue.domain.events import JOIN, SNAPSHOT, event_names

ROOT = Path(__file__).resolve().parents[2]
PAGE_SCRIPTS = sorted(p for area in ("kiosk", "display", "hall_admin") for p in (ROOT / area / "static").rglob("*.js")
                      if "vendor" not in p.parts)
SHARED = ROOT / "hall_queue" / "static" / "ov"
TEMPLATES = sorted(p for area in ("kiosk", "display", "hall_admin") for p in (ROOT / area / "templates").rglob("*.html"))


def _exports(js: str) -> dict:
    return {m.group(1): json.loads(m.group(2)) for m in re.finditer(r"export const (\w+) = Object\.freeze\((.*)\);", js)}


def test_vocabulary_module_is_served_from_the_server_names(client):
    r = client.get("/ov/vocabulary.js")
    assert r.status_code == 200 and r.mimetype == "text/javascript"
    out = _exports(r.get_data(as_text=True))
    assert sorted(out["EVENTS"]) == event_names()
    assert {"ticket_called", "queue_stats", "notice_changed", "alert"} <= set(out["EVENTS"])
    assert out["CONTROL"] == {"join": JOIN, "snapshot": SNAPSHOT}
    assert out["VOCABULARY"]["near_turn_ahead"] >= 1


def test_shared_modules_are_served_to_every_blueprint(client):
    for name in ("api", "live", "dom", "time", "i18n"):
        r = client.get(f"/static/ov/{name}.js")
        assert r.status_code == 200, name


def test_every_import_of_a_page_script_resolves(client):
    """An import path that 404s kills the whole page script; each one is served."""
    for p in PAGE_SCRIPTS + sorted(SHARED.glob("*.js")):
        for path in re.findall(r'^import .* from "([^"]+)";$', p.read_text(), flags=re.MULTILINE):
            if path.startswith("./"):
                continue  # beside the importer, in the same static folder
            assert client.get(path).status_code == 200, (p.name, path)


@pytest.mark.parametrize("script", PAGE_SCRIPTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_page_scripts_use_the_shared_helpers(script):
    js = script.read_text()
    assert '"use strict"' not in js and not re.search(r"^\(function \(\) \{|^\(\(\) => \{", js, flags=re.MULTILINE), \
        "an ES module, not a script wrapped in an IIFE"
    # The announcer fetches sound (audio bytes, not a JSON answer); it is another helper's ground (the voice).
    assert "fetch(" not in js or script.name == "announcer.js", "API calls go through /static/ov/api.js"
    assert not re.search(r"\bio\(\{", js), \
        "Socket.IO goes through /static/ov/live.js"
    assert "socket.on(" not in js and '"join"' not in js, "event handlers are given to live()"
    assert "OV." not in js and "window.OV" not in js, "no global helper object"
    assert not re.search(r"^const \$ = \(id\) =>", js, flags=re.MULTILINE), "$ comes from /static/ov/dom.js"


def test_no_page_script_hides_a_shared_helper_it_calls():
    """A parameter or variable named like an imported helper (``el``, ``api``, …) hides it in its scope; a call
    of the helper there fails at run time ("el is not a function"), so a script that imports a helper does not
    reuse its name where it also calls it."""
    for p in PAGE_SCRIPTS:
        js = p.read_text()
        imported = {n.strip() for group in re.findall(r"^import \{([^}]*)\} from", js, flags=re.M)
                    for n in group.split(",")}
        for name in imported - {"$"}:
            for m in re.finditer(r"function \w*\s*\(([^)]*)\)\s*\{", js):
                params = {x.strip().split("=")[0].strip() for x in m.group(1).split(",")}
                if name in params:
                    body = js[m.end():m.end() + 2000].split("\n}")[0]
                    assert f"{name}(" not in body, (p.name, name)


def test_templates_load_page_scripts_as_modules():
    for t in TEMPLATES:
        for tag in re.findall(r"<script[^>]*\bsrc=[^>]*>", t.read_text()):
            if "vendor/" in tag:
                continue  # socket.io and ECharts stay as their publishers shipped them
            assert 'type="module"' in tag, (t.name, tag)


def test_friendly_error_pages_use_the_shared_head(client):
    """An expired phone link answers a Chinese page with a viewport (the shared <head>), not Werkzeug's English."""
    r = client.get("/kiosk/follow/NO-SUCH-CODE")
    html = r.get_data(as_text=True)
    assert r.status_code == 404 and "链接已失效或页面不存在" in html
    assert 'name="viewport"' in html and 'rel="icon"' in html and "Not Found" not in html
