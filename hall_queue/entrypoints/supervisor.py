"""``onevisit run --workers N``: N servers (gunicorn, one gthread worker each) on consecutive ports, one duty loop.

Flask-SocketIO keeps a client's session in the process that accepted it, so processes are not
pooled behind one port: each listens on its own port, a load balancer with sticky sessions
(nginx ``ip_hash``; config written next to the database) spreads clients, and Redis
(``SOCKETIO_MESSAGE_QUEUE``) carries every event to every process. The periodic duties (A/B
post checks, reminders) run once, here, and publish through the same message queue.
"""
from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

log = logging.getLogger("onevisit.supervisor")

NGINX_TEMPLATE = """# OneVisit: {n} server processes behind nginx with sticky sessions (Socket.IO needs them).
# Start the servers with ONEVISIT_TRUSTED_PROXIES=1 (this one nginx): they then take each client's
# address from the last X-Forwarded-For entry, which nginx itself adds; without it every client is nginx.
upstream onevisit {{
    ip_hash;
{servers}
    keepalive 64;  # reuse connections to the servers (each is gunicorn with HTTP keep-alive)
}}
server {{
    listen 80;
    client_max_body_size 2m;
    location / {{
        proxy_pass http://onevisit;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
    }}
    location /socket.io {{
        proxy_pass http://onevisit/socket.io;
        proxy_http_version 1.1;
        proxy_buffering off;
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection "Upgrade";
        proxy_set_header Host $host;
        proxy_read_timeout 3600s;
    }}
}}
"""


def nginx_config(host: str, ports: list[int]) -> str:
    servers = "\n".join(f"    server {host}:{p};" for p in ports)
    return NGINX_TEMPLATE.format(n=len(ports), servers=servers)


def supervise(*, host: str, port: int, workers: int, instance: Path, access_log: bool = False,
              dev: bool = False) -> int:
    """Run ``workers`` server processes and the duty loop until SIGTERM/SIGINT; restart crashed ones."""
    if workers > 1 and not os.environ.get("SOCKETIO_MESSAGE_QUEUE"):
        print("error: --workers > 1 needs SOCKETIO_MESSAGE_QUEUE (e.g. redis://127.0.0.1:6379/0) so every process "
              "sees every event", file=sys.stderr)
        return 2
    ports = [port + i for i in range(workers)]
    conf = instance / "nginx-onevisit.conf"
    conf.write_text(nginx_config(host, ports))
    procs: dict[int, subprocess.Popen] = {}
    stopping = threading.Event()

    def spawn(p: int) -> subprocess.Popen:
        cmd = [sys.executable, "-m", "hall_queue.entrypoints.cli", "run", "--host", host, "--port", str(p), "--no-duties"]
        if access_log:
            cmd.append("--access-log")
        if dev:
            cmd.append("--dev")
        return subprocess.Popen(cmd)

    for p in ports:
        procs[p] = spawn(p)
    print(f"OneVisit: {workers} processes on {host}:{ports[0]}-{ports[-1]}; nginx example: {conf}", flush=True)

    def stop(*_args) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    from hall_queue import config as config_mod
    from hall_queue import create_app
    from hall_queue.entrypoints.duties import run_duty_round
    from hall_queue.infrastructure.backup import hold_server_lock

    hold_server_lock(config_mod.from_env()["DATABASE_URL"], instance)  # the duty loop runs here
    app = create_app()
    last = 0.0
    while not stopping.is_set():
        for p, proc in list(procs.items()):
            if proc.poll() is not None:
                log.error("server on port %d exited with %s; restarting", p, proc.returncode)
                procs[p] = spawn(p)
        if time.monotonic() - last >= 5.0:
            last = time.monotonic()
            try:
                run_duty_round(app)
            except Exception:  # noqa: BLE001 - the duty loop outlives a database hiccup
                log.exception("duty round failed")
        stopping.wait(0.5)
    for proc in procs.values():
        proc.terminate()
    for proc in procs.values():
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
    return 0
