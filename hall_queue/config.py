"""Configuration from the environment (12-factor), with embedded defaults for a single hall PC."""
from __future__ import annotations

import os
from pathlib import Path

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
        "PUBLIC_BASE_URL": os.environ.get("ONEVISIT_PUBLIC_URL", ""),
    }
