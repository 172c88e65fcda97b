"""``onevisit install-service``: unit files checked by ``systemd-analyze verify``; nothing is enabled or started."""
from __future__ import annotations

import configparser
import shutil
import subprocess

import pytest

from hall_queue.entrypoints import cli

ANALYZE = shutil.which("systemd-analyze")


def _install(tmp_path, monkeypatch, kind: str, *extra: str):
    monkeypatch.setenv("ONEVISIT_INSTANCE", str(tmp_path / "inst"))
    for name in ("ONEVISIT_SECRET_KEY", "ONEVISIT_DATA_KEY", "ONEVISIT_METRICS_TOKEN", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    out = tmp_path / kind
    assert cli.main(["install-service", kind, "--dir", str(out), "--user", "onevisit", *extra]) == 0
    return out


def _unit(path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read(path)
    return parser


def _verify(*paths) -> subprocess.CompletedProcess:
    return subprocess.run([ANALYZE, "verify", *map(str, paths)], capture_output=True, text=True, timeout=60,
                          check=False)


@pytest.mark.parametrize("kind,units", [("server", ["onevisit-server.service"]),
                                        ("duties", ["onevisit-duties.service"]),
                                        ("kiosk", ["onevisit-kiosk-agent.service", "onevisit-kiosk-browser.service"])])
def test_units_restart_log_to_the_journal_and_read_the_environment_file(tmp_path, monkeypatch, capsys, kind, units):
    out = _install(tmp_path, monkeypatch, kind, "--url", "http://127.0.0.1:5100/kiosk/?hall=1")
    printed = capsys.readouterr().out
    assert "systemctl daemon-reload && systemctl enable --now" in printed  # said, not done
    for name in units:
        unit = _unit(out / name)
        svc = unit["Service"]
        assert svc["Restart"] == "always" and unit["Unit"]["StartLimitIntervalSec"] == "0"
        assert svc["StandardOutput"] == "journal" and svc["SyslogIdentifier"] == name.removesuffix(".service")
        assert svc["User"] == "onevisit"
    first = _unit(out / units[0])["Service"]
    assert first["EnvironmentFile"] == ("/etc/onevisit/kiosk.env" if kind == "kiosk" else "/etc/onevisit/onevisit.env")
    verb = {"server": " run --host", "duties": " duties", "kiosk": " kiosk --host"}[kind]
    assert verb in first["ExecStart"]
    env = (out / ("kiosk.env" if kind == "kiosk" else "onevisit.env"))
    assert oct(env.stat().st_mode & 0o777) == "0o600"
    assert "SystemMaxUse=" in (out / "journald-onevisit.conf").read_text()
    if kind == "kiosk":
        browser = _unit(out / "onevisit-kiosk-browser.service")["Service"]
        assert "--kiosk" in browser["ExecStart"] and browser["ExecStart"].endswith("http://127.0.0.1:5100/kiosk/?hall=1")
        assert "services wait http://127.0.0.1:5100/kiosk/?hall=1" in browser["ExecStartPre"]
    else:
        text = env.read_text()
        assert "ONEVISIT_ENV=production" in text and "onevisit-demo" not in text
        keys = dict(line.split("=", 1) for line in text.splitlines() if "=" in line and not line.startswith("#"))
        assert len(keys["ONEVISIT_DATA_KEY"]) >= 32 and len(keys["ONEVISIT_SECRET_KEY"]) >= 32


def test_an_existing_environment_file_is_never_overwritten(tmp_path, monkeypatch, capsys):
    out = _install(tmp_path, monkeypatch, "server")
    before = (out / "onevisit.env").read_text()
    _install(tmp_path, monkeypatch, "server")
    assert (out / "onevisit.env").read_text() == before  # a second run must not replace the data key
    assert "kept" in capsys.readouterr().out


@pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze is not installed (apt-get install systemd provides it)")
@pytest.mark.parametrize("kind", ["server", "duties", "kiosk"])
def test_systemd_analyze_verify_accepts_the_units(tmp_path, monkeypatch, kind):
    out = _install(tmp_path, monkeypatch, kind)
    units = sorted(out.glob("*.service"))
    r = _verify(*units)
    assert r.returncode == 0 and r.stderr.strip() == "", r.stderr
    # The check is real: the same verify rejects a unit with a bad restart policy and a missing program.
    broken = out / "broken.service"
    broken.write_text(units[0].read_text().replace("Restart=always", "Restart=sometimes")
                      .replace("ExecStart=", "ExecStart=/nonexistent/onevisit ", 1))
    bad = _verify(broken)
    assert bad.returncode != 0 and "restart" in bad.stderr.lower()


def test_wait_for_gives_up_on_a_closed_port_and_returns_on_an_answer(tmp_path):
    import socket
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    from hall_queue.entrypoints.services import wait_for

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    assert wait_for(f"http://127.0.0.1:{closed}/kiosk/", timeout_s=1.5) == 1

    class Hello(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Hello)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        assert wait_for(f"http://127.0.0.1:{server.server_address[1]}/kiosk/", timeout_s=5) == 0
    finally:
        server.shutdown()
        server.server_close()
