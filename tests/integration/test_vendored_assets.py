"""Vendored front-end assets stay as their publishers shipped them (issue 21), and the favicon is served."""
from __future__ import annotations

import hashlib
from pathlib import Path

ECHARTS = Path(__file__).resolve().parents[2] / "hall_admin" / "static" / "vendor" / "echarts"
# sha256 of dist/echarts.min.js in the npm package echarts 6.1.0 (the file is vendored unmodified).
ECHARTS_SHA256 = "b66b25aeb4df84e33199dc21694014d336d222cbd9deb0e5a7c14bd6aa0d0fd0"


def test_echarts_is_the_unmodified_release_with_its_licence():
    assert hashlib.sha256((ECHARTS / "echarts.min.js").read_bytes()).hexdigest() == ECHARTS_SHA256
    licence = (ECHARTS / "LICENSE").read_text()
    assert "Apache License" in licence and "Version 2.0" in licence
    assert "Apache ECharts" in (ECHARTS / "NOTICE").read_text()
    assert "BSD" in (ECHARTS / "LICENSE-d3").read_text() or "Copyright" in (ECHARTS / "LICENSE-d3").read_text()


def test_favicon_is_served(tmp_path):
    from hall_queue import create_app

    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "DATA_KEY": "k", "TESTING": True})
    r = app.test_client().get("/favicon.ico")
    assert r.status_code == 200 and r.data[:4] == b"\x00\x00\x01\x00"  # an ICO header
