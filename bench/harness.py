"""Run the real server as a separate process (``onevisit run``): used by benchmarks and by tests."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

# The local PostgreSQL the benchmarks and the tests create their throw-away databases on.
PG_ADMIN_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"


def pg_admin(*, connect_timeout: int = 5):
    """Open an autocommit connection to the local server's ``postgres`` database (CREATE/DROP DATABASE)."""
    import psycopg

    return psycopg.connect(PG_ADMIN_DSN, autocommit=True, connect_timeout=connect_timeout)


def postgres_available() -> bool:
    """Tell whether the local PostgreSQL answers (within three seconds)."""
    try:
        pg_admin(connect_timeout=3).close()
        return True
    except Exception:  # noqa: BLE001 - psycopg missing, nothing listening, auth refused: all mean "not here"
        return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def answers_health(url: str) -> bool:
    """Tell whether the server at ``url`` answers ``GET /healthz`` with success within a second."""
    try:
        return requests.get(url + "/healthz", timeout=1).ok
    except requests.RequestException:
        return False


class ServerProcess:
    def __init__(self, instance: Path, *, env: dict[str, str] | None = None, port: int | None = None,
                 args: tuple[str, ...] = ()) -> None:
        self.instance = instance
        self.args = args
        self.port = port or free_port()
        self.env = {**os.environ, "ONEVISIT_INSTANCE": str(instance), **(env or {})}
        self.proc: subprocess.Popen | None = None
        self.log = instance / f"server-{self.port}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "hall_queue.entrypoints.cli", *args], env=self.env, capture_output=True,
                              text=True, timeout=120, check=True)

    def start(self, timeout: float = 90.0) -> "ServerProcess":  # a loaded 2-core machine needs more than 30 s
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "hall_queue.entrypoints.cli", "run", "--port", str(self.port),
                                          *self.args],
                                         env=self.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-2000:]}")
            if answers_health(self.url):
                return self
            time.sleep(0.1)
        self.stop()  # not left behind holding its port (and its database) for the rest of the run
        raise RuntimeError(f"server did not start in {timeout:g} s: {self.log.read_text()[-2000:]}")

    def kill(self) -> None:
        """Stop the server the hard way (SIGKILL), as a power cut would."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
