"""Fan-out benchmark: how long a call takes to reach every hall screen; prints JSON last.

    python -m bench.fanout_bench              # 300 screens, 40 calls
    python -m bench.fanout_bench --quick      # 100 screens, 15 calls, under a minute
    python -m bench.fanout_bench --clients 500 --calls 60
    python -m bench.fanout_bench --redis redis://127.0.0.1:6379/0 --clients 1000   # 2 processes

With ``--redis`` two server processes share one database (PostgreSQL when reachable on
127.0.0.1:5432, else one SQLite file) and the Socket.IO message queue on that Redis: half the
screens connect to each process and the clerk calls through process 2, so half the copies of each
event cross processes through Redis (reported separately as ``cross_process``).

Starts a real ``onevisit run`` server (SQLite, one process, Socket.IO in threading mode) on a
fresh instance directory, connects N python-socketio clients with a screen token, joins them
all to the hall room, then a clerk calls tickets one after another through the HTTP API. For
each call and client the latency is the time from the clerk's call-next request returning to
that client receiving ``ticket_called`` (the server publishes before it answers, so an event
may arrive first: that counts as 0 ms, and ``arrived_before_response`` says how often). The
``*_from_request_ms`` figures measure from the request being sent instead. ``server_cpu_ms_per_cycle`` is the
server processes' CPU per measured cycle (the call, its finish, and every copy of their events to every screen):
it moves far less with the machine's load than the latencies do.
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import json
import multiprocessing as mp
import os
import queue
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import requests
import socketio

from bench.harness import ServerProcess, free_port, pg_admin
from bench.http_bench import server_cpu_s
from hall_queue.access.auth import issue_token
from hall_queue.domain.clock import SystemClock
from hall_queue.infrastructure.db import Database
from hall_queue.entrypoints.demo.loader import DEMO_PASSWORD, load_simple_hall
from hall_queue.domain.models import Base

EVENT_TIMEOUT_S = 10.0


def _percentile(values: list[float], q: float) -> float:
    """Return the q-th percentile (nearest rank) of ``values``."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-q * len(ordered) // 100))))
    return ordered[rank - 1]


class Server(ServerProcess):
    """A real ``onevisit run`` process on its own instance directory, deaf to the caller's database and queue."""

    def __init__(self, instance: Path, port: int, env: dict[str, str] | None = None,
                 extra_args: tuple[str, ...] = ()) -> None:
        super().__init__(instance, env=env, port=port, args=extra_args)
        for key in ("DATABASE_URL", "SOCKETIO_MESSAGE_QUEUE"):
            if key not in (env or {}):
                self.env.pop(key, None)

    def start(self, timeout: float = 60.0) -> Server:
        return super().start(timeout)


def _prepare(server: Server, url: str | None = None) -> tuple[int, str, str]:
    """Create the schema and a one-window hall; return (hall id, kiosk token, screen token)."""
    server.cli("init")
    db = Database(url or f"sqlite:///{server.instance / 'onevisit.db'}")
    Base.metadata.create_all(db.writer)  # tables not yet in a migration
    now = SystemClock().now()

    def build(s):
        hall = load_simple_hall(s, code="fanout", now=now, windows=1)
        return (hall.id, issue_token(s, kind="kiosk", hall_id=hall.id, now=now),
                issue_token(s, kind="screen", hall_id=hall.id, now=now, name="bench screen"))

    try:
        return db.run_write(build)
    finally:
        db.dispose()


class Screens:
    """Socket.IO screens joined to the hall room, recording when each ``ticket_called`` arrives.

    The screens of one client process share one asyncio loop (python-socketio's ``AsyncClient``):
    a thread per simulated screen would measure the client process's GIL, not the server.
    Times are ``time.monotonic()`` (CLOCK_MONOTONIC), comparable across the worker processes.
    """

    def __init__(self, url: str, token: str, hall_id: int, n: int, done: mp.Queue | None = None) -> None:
        self.url, self.token, self.hall_id, self.n = url, token, hall_id, n
        self.clients: list[socketio.AsyncClient] = []
        self.arrivals: dict[int, list[float]] = defaultdict(list)
        self.done = done

    async def _connect_one(self, gate: asyncio.Semaphore) -> socketio.AsyncClient:
        c = socketio.AsyncClient(reconnection=False)
        joined = asyncio.Event()

        @c.on("snapshot")
        async def _snapshot(_data):
            joined.set()

        @c.on("ticket_called")
        async def _called(data):
            t = time.monotonic()
            tid = data["ticket"]["id"]
            self.arrivals[tid].append(t)
            if len(self.arrivals[tid]) == self.n and self.done is not None:
                self.done.put(("complete", tid))

        async with gate:
            await c.connect(self.url, auth={"token": self.token}, transports=["websocket"], wait_timeout=30)
            ack = await c.call("join", {"hall": self.hall_id}, timeout=30)
            if not (isinstance(ack, dict) and ack.get("ok")):
                raise RuntimeError(f"join failed: {ack}")
            await asyncio.wait_for(joined.wait(), 30)
        return c

    async def connect(self) -> None:
        gate = asyncio.Semaphore(16)
        self.clients = list(await asyncio.gather(*(self._connect_one(gate) for _ in range(self.n))))

    async def close(self) -> None:
        await asyncio.gather(*(c.disconnect() for c in self.clients), return_exceptions=True)


def _worker(url: str, token: str, hall_id: int, n: int, done: mp.Queue, stop: mp.Event, index: int = 0) -> None:
    """One client process: connect ``n`` screens, report readiness, then report every complete call."""
    asyncio.run(_screens(url, token, hall_id, n, done, stop, index))


async def _screens(url: str, token: str, hall_id: int, n: int, done: mp.Queue, stop: mp.Event, index: int) -> None:
    screens = Screens(url, token, hall_id, n, done)
    try:
        await screens.connect()
    except Exception as e:  # noqa: BLE001 - tell the coordinator instead of hanging it
        done.put(("failed", repr(e)))
        return
    # No collection of this process's garbage while calls arrive: a full pass over hundreds of connected
    # clients stalls the loop and would be measured as the server's fan-out latency (as in http_bench).
    gc.collect()
    gc.freeze()
    gc.disable()
    done.put(("ready", n))
    while not stop.is_set():
        await asyncio.sleep(0.05)
    gc.enable()
    done.put(("arrivals", (index, dict(screens.arrivals))))
    await screens.close()


class ClientPool:
    """Screens spread over a few processes, so one client process's GIL does not weigh on the figures.

    With several server ``urls``, client process i connects to ``urls[i % len(urls)]``.
    """

    def __init__(self, urls: list[str], token: str, hall_id: int, clients: int, procs: int) -> None:
        self.procs = max(1, min(procs, clients))
        self.done: mp.Queue = mp.Queue()
        self.stop = mp.Event()
        shares = [clients // self.procs + (i < clients % self.procs) for i in range(self.procs)]
        self.worker_urls = [urls[i % len(urls)] for i in range(self.procs)]
        self.workers = [mp.Process(target=_worker, args=(self.worker_urls[i], token, hall_id, k, self.done, self.stop,
                                                         i), daemon=True)
                        for i, k in enumerate(shares)]
        self.pending: dict[int, int] = defaultdict(int)

    def start(self) -> None:
        for w in self.workers:
            w.start()
        ready = 0
        while ready < self.procs:
            kind, value = self.done.get(timeout=120)
            if kind == "failed":
                raise RuntimeError(f"a client process failed: {value}")
            if kind == "ready":
                ready += 1

    def wait_call(self, ticket_id: int, timeout: float) -> bool:
        """Wait until every process has all its screens' copies of ``ticket_id``'s call."""
        deadline = time.monotonic() + timeout
        while self.pending[ticket_id] < self.procs:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            try:
                kind, value = self.done.get(timeout=left)
            except queue.Empty:
                return False
            if kind == "complete":
                self.pending[value] += 1
        return True

    def finish(self) -> dict[str, dict[int, list[float]]]:
        """Return every call's arrival times per server URL the screens were connected to."""
        self.stop.set()
        merged: dict[str, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
        got = 0
        while got < self.procs:
            kind, value = self.done.get(timeout=120)
            if kind == "arrivals":
                got += 1
                index, arrivals = value
                for tid, times in arrivals.items():
                    merged[self.worker_urls[index]][tid] += times
        for w in self.workers:
            w.join(timeout=30)
        return merged


def _pg_url() -> str | None:
    """A fresh PostgreSQL database on this machine for the two-process run, or None."""
    try:
        import uuid

        name = f"ov_fanout_{uuid.uuid4().hex[:8]}"
        with pg_admin(connect_timeout=3) as admin:
            admin.execute(f"CREATE DATABASE {name}")
        return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    except Exception:  # noqa: BLE001 - fall back to one SQLite file shared by both processes
        return None


def run(clients: int, calls: int, procs: int, redis_url: str | None = None, dev: bool = False) -> dict:
    """Run the benchmark and return its summary."""
    instance = Path(tempfile.mkdtemp(prefix="onevisit-fanout-"))
    servers: list[Server] = []
    db_url = None
    extra = ("--dev",) if dev else ()
    if redis_url:
        import uuid

        db_url = _pg_url() or f"sqlite:///{instance / 'onevisit.db'}"
        env = {"DATABASE_URL": db_url, "SOCKETIO_MESSAGE_QUEUE": redis_url,
               "SOCKETIO_CHANNEL": f"onevisit-fanout-{uuid.uuid4().hex[:8]}"}
        servers = [Server(instance, free_port(), env, extra), Server(instance, free_port(), env, ("--no-duties",) + extra)]
    else:
        servers = [Server(instance, free_port(), extra_args=extra)]
    server = servers[-1]  # the clerk and the kiosk talk to the last process
    hall_id, kiosk, screen = _prepare(server, db_url)
    for srv in servers:
        srv.start()
    pool = None
    try:
        base = server.url
        item = requests.get(f"{base}/api/v1/halls/{hall_id}/catalog", timeout=30).json()["items"][0]["id"]
        k = requests.Session()
        k.headers["Authorization"] = f"Bearer {kiosk}"
        for _ in range(calls):
            assert k.post(f"{base}/api/v1/halls/{hall_id}/tickets", json={"item_ids": [item]}, timeout=30).status_code == 201
        login = requests.post(f"{base}/api/v1/auth/login", json={"username": "fanout-c01", "password": DEMO_PASSWORD},
                              timeout=30).json()
        clerk = requests.Session()
        clerk.headers["Authorization"] = f"Bearer {login['token']}"
        wid = clerk.get(f"{base}/api/v1/halls/{hall_id}/windows", timeout=30).json()["items"][0]["id"]
        assert clerk.post(f"{base}/api/v1/windows/{wid}/sign-in", timeout=30).ok

        t = time.monotonic()
        pool = ClientPool([srv.url for srv in servers], screen, hall_id, clients, procs)
        pool.start()
        connect_s = time.monotonic() - t
        print(f"{clients} screens in {pool.procs} processes connected and joined in {connect_s:.1f} s", file=sys.stderr)
        warm = clerk.post(f"{base}/api/v1/windows/{wid}/call-next", timeout=30).json()["ticket"]  # not measured
        pool.wait_call(warm["id"], EVENT_TIMEOUT_S)
        clerk.post(f"{base}/api/v1/tickets/{warm['id']}/finish", json={"outcome": "completed"}, timeout=30)

        timing: dict[int, tuple[float, float]] = {}
        cpu_before = sum(server_cpu_s(srv.proc.pid)[0] for srv in servers)
        for _ in range(calls - 1):
            sent = time.monotonic()
            r = clerk.post(f"{base}/api/v1/windows/{wid}/call-next", timeout=30)
            returned = time.monotonic()
            ticket = r.json()["ticket"]
            if ticket is None:
                break
            timing[ticket["id"]] = (sent, returned)
            pool.wait_call(ticket["id"], EVENT_TIMEOUT_S)
            clerk.post(f"{base}/api/v1/tickets/{ticket['id']}/finish", json={"outcome": "completed"}, timeout=30)
            time.sleep(0.05)
        # Every server process's CPU over the measured cycles (call, finish and their copies to every screen),
        # per cycle: the work behind the latencies, which moves far less with the machine's load than they do.
        cpu_ms = (sum(server_cpu_s(srv.proc.pid)[0] for srv in servers) - cpu_before) * 1000 / max(1, len(timing))
        by_server = pool.finish()
        pool = None
        from_return: list[float] = []
        from_request: list[float] = []
        cross: list[float] = []
        missing = early = 0
        for tid, (sent, returned) in timing.items():
            got = [(url, a) for url, arrivals in by_server.items() for a in arrivals.get(tid, [])]
            missing += clients - len(got)
            for url, a in got:
                early += a < returned
                from_return.append(max(0.0, a - returned) * 1000)
                from_request.append((a - sent) * 1000)
                if url != base:
                    cross.append(max(0.0, a - returned) * 1000)
        measured = len(timing)
        if not from_return:
            raise RuntimeError("no event arrived")
        return {
            "p50_ms": round(_percentile(from_return, 50), 1),
            "p99_ms": round(_percentile(from_return, 99), 1),
            "max_ms": round(max(from_return), 1),
            "clients": clients,
            "calls": measured,
            "missing": missing,
            "arrived_before_response": early,
            "p50_from_request_ms": round(_percentile(from_request, 50), 1),
            "p99_from_request_ms": round(_percentile(from_request, 99), 1),
            "max_from_request_ms": round(max(from_request), 1),
            "mean_ms": round(statistics.fmean(from_return), 1),
            "server_cpu_ms_per_cycle": round(cpu_ms, 1),
            "connect_s": round(connect_s, 1),
            "client_processes": procs,
            **({"server_processes": 2, "redis": redis_url, "database": db_url.split("://")[0],
                "cross_process": {"events": len(cross), "p50_ms": round(_percentile(cross, 50), 1),
                                  "p99_ms": round(_percentile(cross, 99), 1), "max_ms": round(max(cross), 1)}
                if cross else None,
                "server": "2 x onevisit run sharing the database and a Redis message queue"}
               if redis_url else
               {"server": "onevisit run (SQLite, 1 process, Socket.IO threading mode, websocket transport)"}),
        }
    finally:
        if pool is not None:
            pool.stop.set()
            for w in pool.workers:
                w.join(timeout=30)
        for srv in servers:
            srv.stop()
        if db_url and db_url.startswith("postgresql"):
            with pg_admin() as admin:
                admin.execute(f"DROP DATABASE IF EXISTS {db_url.rsplit('/', 1)[1]} WITH (FORCE)")


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments, run the benchmark and print the JSON summary as the last line."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="100 screens and 15 calls (under a minute)")
    ap.add_argument("--clients", type=int, default=None, help="number of screens (default 300; --quick 100)")
    ap.add_argument("--calls", type=int, default=None, help="number of calls (default 40; --quick 15)")
    ap.add_argument("--procs", type=int, default=4, help="client processes the screens are spread over (default 4)")
    ap.add_argument("--dev", action="store_true", help="serve through werkzeug (`onevisit run --dev`) to compare")
    ap.add_argument("--redis", default=None, metavar="URL",
                    help="two server processes sharing this Redis message queue (screens split between them)")
    args = ap.parse_args(argv)
    clients = args.clients or (100 if args.quick else 300)
    calls = args.calls or (15 if args.quick else 40)
    if clients < 1 or calls < 2:
        ap.error("need at least 1 client and 2 calls (the first call warms up)")
    summary = run(clients, calls, args.procs, args.redis, args.dev)
    summary["server"] = "werkzeug (--dev)" if args.dev else "gunicorn gthread"
    summary["load_average"] = os.getloadavg()
    print(f"ticket_called to {summary['clients']} screens over {summary['calls']} calls: "
          f"p50 {summary['p50_ms']} ms, p99 {summary['p99_ms']} ms, max {summary['max_ms']} ms "
          f"(target p99 < 250 ms)", file=sys.stderr)
    print(json.dumps(summary, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
