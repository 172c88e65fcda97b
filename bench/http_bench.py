"""HTTP throughput of ticket issue and call-next, against a bare Flask endpoint on the same stack.

Starts a real ``onevisit run`` process per engine (SQLite file; PostgreSQL when reachable), builds
a 16-window hall in its database, then drives it with concurrent HTTP clients (one keep-alive
session per client thread):

* ``bare``  – ``GET /healthz``: a bare Flask JSON endpoint, the ceiling of this server stack;
* ``issue`` – ``POST /api/v1/halls/<id>/tickets`` from C kiosk clients;
* ``call``  – C clerks at their own windows, each ``call-next`` then ``finish``; the figure is
  completed calls per second and the latency of ``call-next`` itself.

Prints one JSON object as its last line: per engine ``issue_per_s``, ``call_per_s``,
``bare_per_s``, ``issue_vs_bare``, ``call_vs_bare``, ``p50_ms``/``p99_ms`` of each.
Usage: ``python -m bench.http_bench [--quick] [--clients 8] [--engines sqlite,postgresql]``.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import requests

from bench.harness import ServerProcess
from hall_queue.access.auth import issue_token
from hall_queue.domain.clock import SystemClock
from hall_queue.infrastructure.db import Database
from hall_queue.entrypoints.demo.loader import DEMO_PASSWORD, load_simple_hall

PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


def _run_clients(n_clients: int, per_client: int, work) -> tuple[float, list[float]]:
    """Run ``await work(client_index, session) -> latency_ms`` ``per_client`` times per client; return (req/s, latencies).

    The clients are coroutines on one asyncio loop, each with its own keep-alive connection
    (aiohttp): a thread per client with ``requests`` spends more CPU per request than the server's
    bare endpoint and, on a 2-core machine, would measure the client instead of the server.
    """
    import aiohttp

    async def main() -> tuple[float, list[float]]:
        sessions = [aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1),
                                          timeout=aiohttp.ClientTimeout(total=30)) for _ in range(n_clients)]
        try:
            for i, s in enumerate(sessions):  # open every connection before the clock starts
                async with s.get(_BASES[i % len(_BASES)] + "/healthz") as r:
                    await r.read()

            async def worker(i: int) -> list[float]:
                return [await work(i, sessions[i]) for _ in range(per_client)]
            t0 = time.perf_counter()
            results = await asyncio.gather(*(worker(i) for i in range(n_clients)))
            elapsed = time.perf_counter() - t0
        finally:
            await asyncio.gather(*(s.close() for s in sessions))
        lat = [ms for mine in results for ms in mine]
        return len(lat) / elapsed, lat

    return asyncio.run(main())


_BASES: list[str] = []  # the server processes; client i talks to _BASES[i % len(_BASES)]


async def _timed(session, method: str, url: str, **kw) -> tuple[float, dict]:
    """Send one request; return (latency ms, JSON answer); raise on an error status."""
    t0 = time.perf_counter()
    async with session.request(method, url, **kw) as r:
        body = await r.read()
        ms = (time.perf_counter() - t0) * 1000
        if r.status >= 400:
            raise RuntimeError(f"{r.status}: {body[:200]!r}")
    return ms, (json.loads(body) if body else {})


def bench_engine(engine: str, clients: int, requests_per_client: int, workers: int = 1) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix=f"ov-http-{engine}-"))
    env = {}
    db_name = None
    if engine == "postgresql":
        import psycopg

        db_name = f"ov_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f"CREATE DATABASE {db_name}")
        env["DATABASE_URL"] = f"postgresql+psycopg://postgres@127.0.0.1:5432/{db_name}"
    if workers > 1:  # `onevisit run --workers N`: processes on consecutive ports sharing events through Redis
        env["SOCKETIO_MESSAGE_QUEUE"] = "redis://127.0.0.1:6379/0"
        env["SOCKETIO_CHANNEL"] = f"onevisit-bench-{uuid.uuid4().hex[:8]}"
    server = ServerProcess(tmp, env=env, args=("--workers", str(workers)) if workers > 1 else ())
    try:
        server.cli("init")
        url = env.get("DATABASE_URL") or f"sqlite:///{tmp / 'onevisit.db'}"
        db = Database(url)
        now = SystemClock().now()

        def build(s):
            hall = load_simple_hall(s, code="bench", now=now, windows=max(clients, 1))
            return hall.id, issue_token(s, kind="kiosk", hall_id=hall.id, now=now)

        hall_id, kiosk = db.run_write(build)
        db.dispose()
        server.start()
        base = server.url
        bases = [f"http://127.0.0.1:{server.port + i}" for i in range(workers)]
        for b in bases[1:]:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    if requests.get(b + "/healthz", timeout=1).ok:
                        break
                except requests.RequestException:
                    time.sleep(0.2)
        item = requests.get(f"{base}/api/v1/halls/{hall_id}/catalog", timeout=10).json()["items"][0]["id"]
        for _ in range(20):  # warm up connections, caches and the SQLite page cache
            requests.get(base + "/healthz", timeout=10)

        _BASES[:] = bases

        async def bare(i, sess):
            return (await _timed(sess, "GET", bases[i % workers] + "/healthz"))[0]
        bare_rate, bare_lat = _run_clients(clients, requests_per_client, bare)

        kiosk_h = {"Authorization": f"Bearer {kiosk}"}

        async def issue(i, sess):
            return (await _timed(sess, "POST", f"{bases[i % workers]}/api/v1/halls/{hall_id}/tickets", json={"item_ids": [item]},
                                 headers=kiosk_h))[0]
        issue_rate, issue_lat = _run_clients(clients, requests_per_client, issue)

        tokens = []
        windows = None
        for i in range(clients):
            r = requests.post(f"{base}/api/v1/auth/login", json={"username": f"bench-c{i + 1:02d}",
                                                                 "password": DEMO_PASSWORD}, timeout=30)
            if r.status_code != 200:
                raise RuntimeError(f"login failed: {r.status_code} {r.text[:200]}")
            tokens.append(r.json()["token"])
            if windows is None:
                windows = requests.get(f"{base}/api/v1/halls/{hall_id}/windows",
                                       headers={"Authorization": f"Bearer {tokens[0]}"}, timeout=10).json()["items"]
            requests.post(f"{base}/api/v1/windows/{windows[i]['id']}/sign-in",
                          headers={"Authorization": f"Bearer {tokens[i]}"}, timeout=10).raise_for_status()
        call_lat: list[float] = []

        async def call_once(i: int, sess) -> float:
            h = {"Authorization": f"Bearer {tokens[i]}"}
            at = bases[i % workers]
            ms, answer = await _timed(sess, "POST", f"{at}/api/v1/windows/{windows[i]['id']}/call-next", headers=h)
            t = answer["ticket"]
            if t is None:
                raise RuntimeError("backlog ran out")
            await _timed(sess, "POST", f"{at}/api/v1/tickets/{t['id']}/finish", json={"outcome": "completed"},
                         headers=h)
            call_lat.append(ms)
            return ms

        call_rate, _ = _run_clients(clients, requests_per_client, call_once)
        return {
            "clients": clients,
            "requests_per_client": requests_per_client,
            "server_processes": workers,
            "bare_per_s": round(bare_rate, 1), "bare_p50_ms": round(_pct(bare_lat, .5), 2),
            "bare_p99_ms": round(_pct(bare_lat, .99), 2),
            "issue_per_s": round(issue_rate, 1), "issue_p50_ms": round(_pct(issue_lat, .5), 2),
            "p99_ms": round(_pct(issue_lat, .99), 2),
            "call_per_s": round(call_rate, 1), "call_p50_ms": round(_pct(call_lat, .5), 2),
            "call_p99_ms": round(_pct(call_lat, .99), 2),
            "issue_vs_bare": round(issue_rate / bare_rate, 3),
            "call_vs_bare": round(call_rate / bare_rate, 3),
            "issue_mean_ms": round(statistics.fmean(issue_lat), 2),
        }
    finally:
        server.stop()
        if db_name:
            import psycopg

            with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
                admin.execute(f"DROP DATABASE IF EXISTS {db_name} WITH (FORCE)")


def _pg_reachable() -> bool:
    try:
        import psycopg

        psycopg.connect(PG_ADMIN, connect_timeout=3).close()
        return True
    except Exception:  # noqa: BLE001
        return False


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="fewer requests (smoke run, < 1 min)")
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--requests", type=int, default=None, help="requests per client per phase")
    p.add_argument("--engines", default="sqlite,postgresql")
    p.add_argument("--workers", type=int, default=1,
                   help="server processes (`onevisit run --workers N`, events through the local Redis)")
    args = p.parse_args(argv)
    per_client = args.requests or (40 if args.quick else 250)
    out: dict = {"clients": args.clients, "requests_per_client": per_client}
    for engine in args.engines.split(","):
        if engine == "postgresql" and not _pg_reachable():
            out[engine] = {"skipped": "PostgreSQL not reachable on 127.0.0.1:5432"}
            continue
        out[engine] = bench_engine(engine, args.clients, per_client, args.workers)
        print(f"{engine}: {json.dumps(out[engine])}", file=sys.stderr)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
