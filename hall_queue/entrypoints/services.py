"""``onevisit install-service server|kiosk|duties``: systemd units that start OneVisit on boot.

The files are written to a directory (default ``<instance>/systemd``), never installed or started
here: the hall's IT person copies them to ``/etc`` and enables them (README "Operating a hall").
Every unit restarts its process when it exits (``Restart=always``, no start limit) and logs to the
journal under its own name (``journalctl -u onevisit-server``); ``journald-onevisit.conf`` caps the
journal's size and age, journald rotates it. An environment file holds the settings; it is written
once, mode 0600, and never overwritten (it holds the data key: losing it makes ID numbers unreadable).
"""
from __future__ import annotations

import os
import secrets
import shutil
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from hall_queue import config as config_mod

KIOSK_URL = "http://127.0.0.1:5100/kiosk/"
# chromium as a kiosk: full screen, no bars, no "restore pages?" bubble, no translation or update prompts,
# no swipe-back; the pinch zoom stays off so a visitor cannot push the page off the screen.
CHROMIUM_FLAGS = ("--kiosk --noerrdialogs --disable-infobars --no-first-run --disable-session-crashed-bubble "
                  "--disable-features=Translate --overscroll-history-navigation=0 --disable-pinch "
                  "--check-for-update-interval=31536000 --password-store=basic")

UNIT = """[Unit]
Description={description}
After={after}
Wants={wants}
StartLimitIntervalSec=0

[Service]
Type=simple
User={user}
WorkingDirectory={workdir}
EnvironmentFile={env_file}
ExecStart={exec_start}
Restart=always
RestartSec=3
TimeoutStopSec=20
StandardOutput=journal
StandardError=journal
SyslogIdentifier={name}
LimitNOFILE=65536
NoNewPrivileges=yes
PrivateTmp=yes
ProtectSystem=full

[Install]
WantedBy=multi-user.target
"""

BROWSER_UNIT = """[Unit]
Description=OneVisit kiosk touch screen (chromium in kiosk mode)
After=graphical.target onevisit-kiosk-agent.service
Wants=onevisit-kiosk-agent.service
StartLimitIntervalSec=0

[Service]
Type=simple
User={user}
Environment=DISPLAY=:0
Environment=XAUTHORITY=%h/.Xauthority
StateDirectory=onevisit-kiosk
ExecStartPre={python} -m hall_queue.entrypoints.services wait {url}
ExecStart={chromium} {flags} --user-data-dir=/var/lib/onevisit-kiosk/chromium {url}
Restart=always
RestartSec=2
StandardOutput=journal
StandardError=journal
SyslogIdentifier=onevisit-kiosk-browser

[Install]
WantedBy=graphical.target
"""

JOURNALD = """# OneVisit: keep the journal within 1 GB and half a year; journald rotates it.
# Copy to /etc/systemd/journald.conf.d/onevisit.conf, then `systemctl restart systemd-journald`.
[Journal]
Storage=persistent
SystemMaxUse=1G
MaxRetentionSec=6month
"""


def _cli() -> str:
    return f"{sys.executable} -m hall_queue.entrypoints.cli"


def _server_env() -> str:
    env = config_mod.from_env()
    demo = {config_mod.DEMO_SECRET_KEY, config_mod.DEMO_DATA_KEY}
    secret = env["SECRET_KEY"] if env["SECRET_KEY"] not in demo else secrets.token_urlsafe(48)
    data_key = env["DATA_KEY"] if env["DATA_KEY"] not in demo else secrets.token_urlsafe(48)
    lines = ["# OneVisit server settings (README: settings). Mode 0600: it holds the keys.",
             "# Keep a copy of this file apart from the backups: without ONEVISIT_DATA_KEY a backup's",
             "# ID numbers cannot be read. If this hall already ran with another data key, put that key",
             "# here, or move to this one with `onevisit keys rotate`.",
             f"ONEVISIT_INSTANCE={config_mod.instance_dir()}",
             f"DATABASE_URL={env['DATABASE_URL']}",
             "ONEVISIT_ENV=production",
             f"ONEVISIT_SECRET_KEY={secret}",
             f"ONEVISIT_DATA_KEY={data_key}",
             f"ONEVISIT_BACKUP_DIR={env['BACKUP_DIR']}",
             f"ONEVISIT_BACKUP_AT={env['BACKUP_AT']}",
             f"ONEVISIT_BACKUP_KEEP={env['BACKUP_KEEP']}",
             f"ONEVISIT_METRICS_TOKEN={env['METRICS_TOKEN'] or secrets.token_urlsafe(32)}"]
    if env["SOCKETIO_MESSAGE_QUEUE"]:
        lines.append(f"SOCKETIO_MESSAGE_QUEUE={env['SOCKETIO_MESSAGE_QUEUE']}")
    if env["PUBLIC_BASE_URL"]:
        lines.append(f"ONEVISIT_PUBLIC_URL={env['PUBLIC_BASE_URL']}")
    return "\n".join(lines) + "\n"


def _kiosk_env() -> str:
    get = os.environ.get
    return "\n".join([
        "# OneVisit kiosk agent settings (README: kiosk). Mode 0600: it holds the kiosk's device token.",
        f"ONEVISIT_SERVER={get('ONEVISIT_SERVER', 'https://hall.example.gov.cn')}",
        f"ONEVISIT_KIOSK_TOKEN={get('ONEVISIT_KIOSK_TOKEN', '')}",
        f"ONEVISIT_KIOSK_IDCARD={get('ONEVISIT_KIOSK_IDCARD', 'serial:///dev/ttyUSB0')}",
        f"ONEVISIT_KIOSK_PRINTER={get('ONEVISIT_KIOSK_PRINTER', 'escpos-usb://0416:5011')}",
        f"ONEVISIT_KIOSK_SCANNER={get('ONEVISIT_KIOSK_SCANNER', 'camera://0')}",
        f"ONEVISIT_KIOSK_NAME={get('ONEVISIT_KIOSK_NAME', '')}"]) + "\n"


def write_units(kind: str, directory: Path, *, user: str, url: str | None, host: str, port: int,
                env_file: Path | None) -> tuple[list[Path], list[str]]:
    """Write the unit files, environment file and journald drop-in for ``kind``; return them and the next steps."""
    directory.mkdir(parents=True, exist_ok=True)
    env_name = "kiosk.env" if kind == "kiosk" else "onevisit.env"
    env_path = env_file or Path("/etc/onevisit") / env_name
    workdir = config_mod.instance_dir()
    files: dict[str, str] = {}
    if kind == "server":
        files["onevisit-server.service"] = UNIT.format(
            description="OneVisit queue server (API, pages, live events, duties)", name="onevisit-server",
            after="network-online.target postgresql.service redis-server.service", wants="network-online.target",
            user=user, workdir=workdir, env_file=env_path, exec_start=f"{_cli()} run --host {host} --port {port}")
    elif kind == "duties":
        files["onevisit-duties.service"] = UNIT.format(
            description="OneVisit periodic duties (A/B posts, long waits, reminders, audit, nightly backup)",
            name="onevisit-duties", after="network-online.target postgresql.service redis-server.service",
            wants="network-online.target", user=user, workdir=workdir, env_file=env_path,
            exec_start=f"{_cli()} duties")
    else:
        files["onevisit-kiosk-agent.service"] = UNIT.format(
            description="OneVisit kiosk agent (ID-card reader, printer, camera, touch pages)", name="onevisit-kiosk-agent",
            after="network-online.target", wants="network-online.target", user=user, workdir=workdir,
            env_file=env_path, exec_start=f"{_cli()} kiosk --host 127.0.0.1 --port 5100")
        chromium = shutil.which("chromium") or shutil.which("chromium-browser") or "/usr/bin/chromium"
        files["onevisit-kiosk-browser.service"] = BROWSER_UNIT.format(
            user=user, python=sys.executable, chromium=chromium, flags=CHROMIUM_FLAGS, url=url or KIOSK_URL)
    files["journald-onevisit.conf"] = JOURNALD
    written = []
    for name, content in files.items():
        path = directory / name
        path.write_text(content)
        written.append(path)
    env_out = directory / env_name
    notes = []
    if env_out.exists():
        notes.append(f"kept {env_out} as it was (it may hold this hall's keys)")
    else:
        env_out.write_text(_kiosk_env() if kind == "kiosk" else _server_env())
        os.chmod(env_out, 0o600)
        written.append(env_out)
    units = " ".join(n for n in files if n.endswith(".service"))
    notes += ["next, as root:",
              f"  install -d -m 700 -o {user} {env_path.parent} && install -m 600 -o {user} {env_out} {env_path}",
              f"  cp {' '.join(str(directory / n) for n in files if n.endswith('.service'))} /etc/systemd/system/",
              f"  install -D -m 644 {directory / 'journald-onevisit.conf'} /etc/systemd/journald.conf.d/onevisit.conf",
              f"  systemctl daemon-reload && systemctl enable --now {units}"]
    if kind == "duties":
        notes.append("the duties unit is for servers run without duties (gunicorn, or `run --no-duties`); "
                     "`onevisit run` alone already runs them")
    if kind == "kiosk":
        notes.append(f"fill ONEVISIT_SERVER and ONEVISIT_KIOSK_TOKEN in {env_path}; the browser opens {url or KIOSK_URL} "
                     f"on display :0 as {user} (set the PC to log {user} in automatically)")
    return written, notes


def wait_for(url: str, timeout_s: float = 120.0) -> int:
    """Wait until ``url`` answers (the kiosk agent is up) so chromium never shows an error page; 0 when it did."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return 0
        except urllib.error.HTTPError:
            return 0  # it answers
        except (urllib.error.URLError, OSError):
            time.sleep(1)
    return 1


if __name__ == "__main__":  # ExecStartPre of the kiosk browser: `python -m hall_queue.entrypoints.services wait URL`
    if len(sys.argv) == 3 and sys.argv[1] == "wait":
        raise SystemExit(wait_for(sys.argv[2]))
    raise SystemExit("usage: python -m hall_queue.entrypoints.services wait URL")
