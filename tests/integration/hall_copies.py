"""One app over many fresh copies of a prepared SQLite hall (the fuzzers and the role matrix).

Building the app (≈ 270 URL rules compiled, every blueprint registered) cost more than the requests of
one operation; the copies only need what the database holds to be fresh. ``HallCopies.fresh`` copies the
template file and gives the app a new runtime over it, built as ``create_app`` builds it: a new
database (new engines, so the per-engine caches of ``infrastructure.cache`` start empty), a new manual
clock at the template's time, no notifier yet. The routing, the blueprints and the secret key stay.
"""
from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

from hall_queue import create_app
from hall_queue.bootstrap import build_runtime
from hall_queue.domain.clock import ManualClock
from hall_queue.infrastructure.db import Database
from hall_queue.infrastructure.realtime import emit_to_room


class HallCopies:
    """The app, and the copy of ``template`` it runs on now."""

    def __init__(self, template: str | Path, directory: Path, now: datetime, *, data_key: str = "test-data-key"):
        self.template = Path(template)
        self.directory = directory
        self.now = now
        self.app = create_app({"DATABASE_URL": f"sqlite:///{self.template}", "DATA_KEY": data_key, "TESTING": True,
                               "CLOCK": ManualClock(now)})
        self.db: Database | None = None
        self._copies = 0

    def fresh(self, name: str = "") -> Database:
        """Point the app at a new copy of the template and return its database (the previous one is closed)."""
        self.close()
        self._copies += 1
        path = self.directory / f"{name or 'copy'}-{self._copies}.db"
        shutil.copyfile(self.template, path)
        self.db = Database(f"sqlite:///{path}")
        self.app.config.update({"DATABASE": self.db, "DATABASE_URL": self.db.url, "CLOCK": ManualClock(self.now)})
        runtime = build_runtime(self.app)
        runtime.emit = emit_to_room  # as create_app wires it
        self.app.extensions["onevisit"] = runtime
        return self.db

    def close(self) -> None:
        """Close the current copy's connections."""
        if self.db is not None:
            self.db.dispose()
            self.db = None
