"""Configuration from the environment (12-factor), with embedded defaults for a single hall PC."""
from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

DEMO_SECRET_KEY = "onevisit-demo-secret-do-not-use-in-production"
DEMO_DATA_KEY = "onevisit-demo-data-key-do-not-use-in-production"


def instance_dir() -> Path:
    path = Path(os.environ.get("ONEVISIT_INSTANCE", Path.cwd() / "instance"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def from_env() -> dict:
    """Read settings from ``ONEVISIT_*`` / ``DATABASE_URL`` / ``SOCKETIO_MESSAGE_QUEUE``."""
    db_url = os.environ.get("DATABASE_URL") or f"sqlite:///{instance_dir() / 'onevisit.db'}"
    return {
        "DATABASE_URL": db_url,
        "SECRET_KEY": os.environ.get("ONEVISIT_SECRET_KEY", DEMO_SECRET_KEY),
        "DATA_KEY": os.environ.get("ONEVISIT_DATA_KEY", DEMO_DATA_KEY),
        "SOCKETIO_MESSAGE_QUEUE": os.environ.get("SOCKETIO_MESSAGE_QUEUE") or None,
        "SOCKETIO_CHANNEL": os.environ.get("SOCKETIO_CHANNEL", "onevisit"),
        "MAX_CONTENT_LENGTH": int(os.environ.get("ONEVISIT_MAX_BODY", 1024 * 1024)),
        "PUBLIC_BASE_URL": os.environ.get("ONEVISIT_PUBLIC_URL", "").strip().rstrip("/"),
        "TRUSTED_PROXIES": os.environ.get("ONEVISIT_TRUSTED_PROXIES", ""),  # entrypoints/trusted_proxies.py
        "ENV": os.environ.get("ONEVISIT_ENV", "development"),
        # The kiosk agent inside the server (kiosk/guard.py): "1" on, "0" off; unset = on only in development.
        "INPROCESS_AGENT": os.environ.get("ONEVISIT_INPROCESS_AGENT", ""),
        "KIOSK_ADDRESSES": os.environ.get("ONEVISIT_KIOSK_ADDRESSES", ""),
        # Operating the hall (README "Operating a hall"): the nightly backup is a server setting, not a
        # hall setting — one backup copies the whole database, every hall in it, onto this server's disk.
        "BACKUP_DIR": os.environ.get("ONEVISIT_BACKUP_DIR") or str(instance_dir() / "backups"),
        "BACKUP_AT": os.environ.get("ONEVISIT_BACKUP_AT", "02:30"),  # local time; "off" turns it off
        "BACKUP_TZ": os.environ.get("ONEVISIT_BACKUP_TZ", "Asia/Shanghai"),
        "BACKUP_KEEP": int(os.environ.get("ONEVISIT_BACKUP_KEEP", "14")),
        "METRICS_TOKEN": os.environ.get("ONEVISIT_METRICS_TOKEN", ""),
        "METRICS_ALLOW": os.environ.get("ONEVISIT_METRICS_ALLOW", "127.0.0.1,::1"),
    }


def public_url(settings: dict) -> str:
    """The base of every absolute link and QR code (slips, booking, pads): ``ONEVISIT_PUBLIC_URL``.

    Never the request's Host header, which any client sets (issue 13, finding 3). Without the setting
    (development only: production refuses to start) links point at this PC's own server.
    """
    configured = str(settings.get("PUBLIC_BASE_URL") or "").rstrip("/")
    return configured or f"http://127.0.0.1:{os.environ.get('ONEVISIT_PORT', '5000')}"


def inprocess_agent_enabled(settings: dict) -> bool:
    """Whether ``onevisit run`` mounts the kiosk agent (``/kiosk/agent/…``): development, or asked for."""
    value = str(settings.get("INPROCESS_AGENT") or "").strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    return settings.get("ENV") != "production"


class InsecureConfig(RuntimeError):
    """Production settings that would expose the hall (demo keys)."""


def check_production(settings: dict) -> None:
    """Refuse demo keys when ``ONEVISIT_ENV=production``: anyone could forge sessions or read ID numbers."""
    if settings.get("ENV") != "production":
        return
    bad = [name for name, value, demo in (("ONEVISIT_SECRET_KEY", settings.get("SECRET_KEY"), DEMO_SECRET_KEY),
                                          ("ONEVISIT_DATA_KEY", settings.get("DATA_KEY"), DEMO_DATA_KEY))
           if not value or value == demo or len(value) < 32]
    if bad:
        raise InsecureConfig(f"refusing to start in production with demo or short keys: set {', '.join(bad)} "
                             f"to long random values (e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`)")
    url = urlsplit(str(settings.get("PUBLIC_BASE_URL") or ""))
    if url.scheme not in ("http", "https") or not url.netloc or url.query or url.fragment:
        raise InsecureConfig("refusing to start in production without ONEVISIT_PUBLIC_URL: set it to the address "
                             "visitors' phones open, e.g. https://zwfw.example.gov.cn (every QR code and link uses it)")
