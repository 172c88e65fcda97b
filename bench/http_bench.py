"""HTTP throughput of ticket issue and call-next, against a bare Flask endpoint on the same stack.

Starts a real ``onevisit run`` process per engine (SQLite file; PostgreSQL when reachable), builds
a 16-window hall in its database, then drives it with concurrent HTTP clients (one keep-alive
session per client thread):

* ``bare``  – ``GET /healthz``: a bare Flask JSON endpoint, the ceiling of this server stack;
* ``issue`` – ``POST /api/v1/halls/<id>/tickets`` from C kiosk clients, each request with its own
  ``Idempotency-Key`` as the kiosk agent sends it (``kiosk/agent.py``);
* ``call2`` – C clerks at their own windows, each cycle two requests: ``call-next`` then ``finish``;
* ``call1`` – the same cycle in one request: ``finish-and-call-next`` (the console's 下一位 with a
  ticket in hand). Both report completed cycles per second and the latency of the whole cycle.

Then, in this process, the statements one issue and one call cycle send to the database
(SQLAlchemy ``before_cursor_execute`` events over the Flask app's engines, through its test client,
after-commit handlers included, ``BEGIN`` not counted): ``statements_per_issue``, ``statements_per_call_two_requests``,
``statements_per_call_one_request``, each also split into ``…_in_transaction`` (under the writer lock).

Prints one JSON object as its last line: per engine ``bare_per_s``, ``issue_per_s``,
``call2_per_s``, ``call1_per_s`` with ``…_p50_ms``/``…_p99_ms``, ``issue_vs_bare``, ``call1_vs_bare``,
``call1_vs_call2`` and the statement counts. ``server_cpu_ms_per_bare``, ``…_per_issue``, ``…_per_call2``,
``…_per_call1`` (and ``…_per_call2_case``/``…_nocase`` with ``--cases``): the server processes' CPU time
(user + system, ``/proc/<pid>/stat`` of ``onevisit run`` and every process under it) over the phase, per request
or per cycle, without the periodic duties' thread (every 5 s whatever the load: its CPU over each phase is
``duties_cpu_ms_during_*``) — load on a shared machine moves it far less than the rates. On PostgreSQL also
``database_cpu_ms_per_*``: the CPU of the machine's ``postgres`` processes over the phase, per request or cycle. ``call_per_s``/``call_p99_ms`` repeat the one-request cycle.
With ``--cases``: the two-request cycle finished as 受理 (``accepted``: the finish opens a case with its
acceptance number and 受理通知书) and as 咨询 (``consultation``: no case), run in turns (ABBA) in the same
run: ``call2_case_*``, ``call2_nocase_*``, ``case_cycle_ratio`` (no-case rate ÷ case rate; target ≤ 1.5)
and ``case_p50_ratio``.
Usage: ``python -m bench.http_bench [--quick] [--clients 8] [--engines sqlite,postgresql] [--dev] [--cases]``
(``--dev`` serves through ``onevisit run --dev``, werkzeug, for comparison).
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import requests

from bench.harness import ServerProcess, answers_health, pg_admin, postgres_available
from hall_queue.access.auth import issue_token
from hall_queue.domain.clock import SystemClock
from hall_queue.entrypoints.demo.loader import DEMO_PASSWORD, load_simple_hall
from hall_queue.entrypoints.duties import DUTIES_THREAD
from hall_queue.infrastructure.db import Database


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
            # This process's own garbage collector stays off while the clock runs: a full collection of the
            # client's heap (the app's modules, imported to build the hall) took 120–160 ms and was measured as
            # the server's latency by every request in flight — the PostgreSQL cycle's p99 was mostly that.
            gc.collect()
            gc.disable()
            try:
                t0 = time.perf_counter()
                results = await asyncio.gather(*(worker(i) for i in range(n_clients)))
                elapsed = time.perf_counter() - t0
            finally:
                gc.enable()
        finally:
            await asyncio.gather(*(s.close() for s in sessions))
        lat = [ms for mine in results for ms in mine]
        return len(lat) / elapsed, lat

    return asyncio.run(main())


_BASES: list[str] = []  # the server processes; client i talks to _BASES[i % len(_BASES)]
_CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def server_cpu_s(root_pid: int) -> tuple[float, float]:
    """CPU seconds (user + system) spent so far by ``root_pid`` and every live process under it (Linux ``/proc``):
    (all but the periodic duties' thread, that thread) — the duties run every few seconds whatever the load."""
    parent: dict[int, int] = {}
    ticks: dict[int, int] = {}
    for pid, stat in _processes():
        parent[pid] = _stat_fields(stat)[1]
        ticks[pid] = _stat_ticks(stat)
    tree, frontier = {root_pid}, [root_pid]
    while frontier:
        pid = frontier.pop()
        for child, ppid in parent.items():
            if ppid == pid and child not in tree:
                tree.add(child)
                frontier.append(child)
    duties = 0
    for pid in tree:
        try:
            tasks = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in tasks:
            try:
                with open(f"/proc/{pid}/task/{tid}/comm") as f:
                    if f.read().strip() != DUTIES_THREAD:
                        continue
                with open(f"/proc/{pid}/task/{tid}/stat", "rb") as f:
                    duties += _stat_ticks(f.read())
            except OSError:
                continue
    total = sum(ticks.get(pid, 0) for pid in tree)
    return (total - duties) / _CLK_TCK, duties / _CLK_TCK


def _processes():
    """(pid, ``/proc/<pid>/stat``) of every live process."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                yield int(entry), f.read()
        except OSError:  # gone since the listing
            continue


def _stat_fields(stat: bytes) -> list[int]:
    # The fields after the command name, which may hold spaces: state(0) ppid(1) ... utime(11) stime(12).
    return [int(x) if x.lstrip(b"-").isdigit() else 0 for x in stat[stat.rindex(b")") + 2:].split()[:13]]


def _stat_ticks(stat: bytes) -> int:
    fields = _stat_fields(stat)
    return fields[11] + fields[12]


def database_cpu_s() -> float:
    """CPU seconds spent so far by the machine's PostgreSQL processes (``postgres`` and its backends; 0 when none
    run): the database's share of a request, which shares the cores with the server on one machine."""
    ticks = 0
    for _pid, stat in _processes():
        if stat[stat.index(b"(") + 1:stat.rindex(b")")] == b"postgres":
            ticks += _stat_ticks(stat)
    return ticks / _CLK_TCK


_SERVER_PID: list[int] = []  # ``onevisit run`` of the engine being measured
_MEASURE_DB: list[bool] = []  # [True] while PostgreSQL is the engine measured
_CPU_MS: dict[str, float] = {}  # phase → server CPU ms per request (or per cycle), the duties' thread apart
_DUTIES_MS: dict[str, float] = {}  # phase → CPU ms of the periodic duties' thread during the phase
_DB_MS: dict[str, float] = {}  # phase → PostgreSQL's CPU ms per request (or per cycle)


def _measured(phase: str, n_clients: int, per_client: int, work) -> tuple[float, list[float]]:
    """``_run_clients`` with the server's CPU time over the phase recorded per request in ``_CPU_MS[phase]``
    (the periodic duties' thread apart, in ``_DUTIES_MS[phase]``, ms over the whole phase)."""
    before = server_cpu_s(_SERVER_PID[0]) if _SERVER_PID else (0.0, 0.0)
    db_before = database_cpu_s() if _MEASURE_DB else 0.0
    rate, lat = _run_clients(n_clients, per_client, work)
    if _MEASURE_DB:
        _DB_MS[phase] = _DB_MS.get(phase, 0.0) + (database_cpu_s() - db_before) * 1000 / len(lat)
    if _SERVER_PID:
        after = server_cpu_s(_SERVER_PID[0])
        _CPU_MS[phase] = _CPU_MS.get(phase, 0.0) + (after[0] - before[0]) * 1000 / len(lat)
        _DUTIES_MS[phase] = _DUTIES_MS.get(phase, 0.0) + (after[1] - before[1]) * 1000
    return rate, lat


async def _timed(session, method: str, url: str, **kw) -> tuple[float, dict]:
    """Send one request; return (latency ms, JSON answer); raise on an error status."""
    t0 = time.perf_counter()
    async with session.request(method, url, **kw) as r:
        body = await r.read()
        ms = (time.perf_counter() - t0) * 1000
        if r.status >= 400:
            raise RuntimeError(f"{r.status}: {body[:200]!r}")
    return ms, (json.loads(body) if body else {})


def count_statements(url: str, hall_id: int, item: int, kiosk: str, token: str, window_id: int, held: dict,
                     rounds: int = 20) -> dict:
    """Statements per issue and per call cycle, counted in this process through the app's test client."""
    from sqlalchemy import event

    from hall_queue import create_app
    from hall_queue.bootstrap import runtime

    app = create_app({"DATABASE_URL": url, "TESTING": True})
    db = runtime(app).db
    counts = {"all": 0, "locked": 0}
    in_tx = {"on": False}
    from contextlib import contextmanager

    def counted(real_write):
        @contextmanager
        def counted_write(**kwargs):
            with real_write(**kwargs) as s:
                in_tx["on"] = True
                try:
                    yield s
                finally:
                    in_tx["on"] = False
        return counted_write
    db.write = counted(db.write)  # type: ignore[method-assign]
    if db._group is not None:  # PostgreSQL's grouped writes open their sessions on their own engine
        db._group._sessions = counted(db._group._sessions)

    def on_execute(_conn, _cursor, statement, *_a):
        if statement.startswith("BEGIN"):
            return  # transaction control (SQLite BEGIN IMMEDIATE / a reader's BEGIN) is not counted
        counts["all"] += 1
        counts["locked"] += int(in_tx["on"])
    engines = db.engines
    for e in engines:
        event.listen(e, "before_cursor_execute", on_execute)
    c = app.test_client()
    kh = {"Authorization": f"Bearer {kiosk}"}
    ch = {"Authorization": f"Bearer {token}"}

    def measure(fn) -> tuple[float, float]:
        fn()  # warm: caches, compiled statements
        counts.update(all=0, locked=0)
        for _ in range(rounds):
            fn()
        return counts["all"] / rounds, counts["locked"] / rounds

    def ok(r):
        if r.status_code >= 400:
            raise RuntimeError(f"{r.status_code}: {r.get_data()[:200]!r}")
        return r.get_json()

    keys = itertools.count()

    def issue():
        ok(c.post(f"/api/v1/halls/{hall_id}/tickets", json={"item_ids": [item]},
                  headers={**kh, "Idempotency-Key": f"count-{next(keys)}"}))
    in_hand: dict = {"t": held}  # the ticket the clerk holds at the end of the HTTP phases

    def two_requests(outcome: str = "completed"):
        t = ok(c.post(f"/api/v1/windows/{window_id}/call-next", headers=ch))["ticket"]
        ok(c.post(f"/api/v1/tickets/{t['id']}/finish", json={"outcome": outcome}, headers=ch))

    def one_request():
        in_hand["t"] = ok(c.post(f"/api/v1/windows/{window_id}/finish-and-call-next",
                                 json={"outcome": "completed", "ticket_id": in_hand["t"]["id"]}, headers=ch))["ticket"]
    for _ in range(5 * rounds + 6):  # the backlog the cycles below take
        issue()
    out = {}
    out["statements_per_issue"], out["statements_per_issue_in_transaction"] = measure(issue)
    out["statements_per_call_one_request"], out["statements_per_call_one_request_in_transaction"] = \
        measure(one_request)
    ok(c.post(f"/api/v1/tickets/{in_hand['t']['id']}/finish", json={"outcome": "completed"}, headers=ch))
    out["statements_per_call_two_requests"], out["statements_per_call_two_requests_in_transaction"] = \
        measure(two_requests)
    # 办件: the same cycle finished as 受理 (case, acceptance number, 受理通知书) and as 咨询 (nothing opened).
    out["statements_per_call_case"], out["statements_per_call_case_in_transaction"] = \
        measure(lambda: two_requests("accepted"))
    out["statements_per_call_nocase"], out["statements_per_call_nocase_in_transaction"] = \
        measure(lambda: two_requests("consultation"))
    for e in engines:
        event.remove(e, "before_cursor_execute", on_execute)
    db.dispose()
    return out


def bench_engine(engine: str, clients: int, requests_per_client: int, workers: int = 1, dev: bool = False,
                 cases: bool = False) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix=f"ov-http-{engine}-"))
    env = {}
    db_name = None
    if engine == "postgresql":
        db_name = f"ov_bench_{uuid.uuid4().hex[:8]}"
        with pg_admin() as admin:
            admin.execute(f"CREATE DATABASE {db_name}")
        env["DATABASE_URL"] = f"postgresql+psycopg://postgres@127.0.0.1:5432/{db_name}"
    if workers > 1:  # `onevisit run --workers N`: processes on consecutive ports sharing events through Redis
        env["SOCKETIO_MESSAGE_QUEUE"] = "redis://127.0.0.1:6379/0"
        env["SOCKETIO_CHANNEL"] = f"onevisit-bench-{uuid.uuid4().hex[:8]}"
    args = (("--workers", str(workers)) if workers > 1 else ()) + (("--dev",) if dev else ())
    server = ServerProcess(tmp, env=env, args=args)
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
        server.start(timeout=180)  # a loaded shared machine can take more than 30 s to start gunicorn
        base = server.url
        bases = [f"http://127.0.0.1:{server.port + i}" for i in range(workers)]
        for b in bases[1:]:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not answers_health(b):
                time.sleep(0.2)
        item = requests.get(f"{base}/api/v1/halls/{hall_id}/catalog", timeout=10).json()["items"][0]["id"]
        for _ in range(20):  # warm up connections, caches and the SQLite page cache
            requests.get(base + "/healthz", timeout=10)

        _BASES[:] = bases
        _SERVER_PID[:] = [server.proc.pid]
        _CPU_MS.clear()
        _DUTIES_MS.clear()
        _DB_MS.clear()
        _MEASURE_DB[:] = [True] if engine == "postgresql" else []

        async def bare(i, sess):
            return (await _timed(sess, "GET", bases[i % workers] + "/healthz"))[0]
        bare_rate, bare_lat = _measured("bare", clients, requests_per_client, bare)

        kiosk_h = {"Authorization": f"Bearer {kiosk}"}

        keys = itertools.count()

        async def issue(i, sess):  # as a kiosk asks: an Idempotency-Key per visitor request (kiosk/agent.py)
            return (await _timed(sess, "POST", f"{bases[i % workers]}/api/v1/halls/{hall_id}/tickets", json={"item_ids": [item]},
                                 headers={**kiosk_h, "Idempotency-Key": f"issue-{next(keys)}"}))[0]
        issue_rate, issue_lat = _measured("issue", clients, requests_per_client, issue)

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
        # The backlog of both call phases (the issue phase left clients × requests_per_client).
        async def refill(i, sess):
            return (await _timed(sess, "POST", f"{bases[i % workers]}/api/v1/halls/{hall_id}/tickets",
                                 json={"item_ids": [item]}, headers=kiosk_h))[0]
        _run_clients(clients, requests_per_client + 2, refill)

        def call_two(outcome: str):
            async def cycle(i: int, sess) -> float:
                h = {"Authorization": f"Bearer {tokens[i]}"}
                at = bases[i % workers]
                t0 = time.perf_counter()
                _, answer = await _timed(sess, "POST", f"{at}/api/v1/windows/{windows[i]['id']}/call-next", headers=h)
                t = answer["ticket"]
                if t is None:
                    raise RuntimeError("backlog ran out")
                await _timed(sess, "POST", f"{at}/api/v1/tickets/{t['id']}/finish", json={"outcome": outcome},
                             headers=h)
                return (time.perf_counter() - t0) * 1000
            return cycle

        call2_rate, call2_lat = _measured("call2", clients, requests_per_client, call_two("completed"))
        case_figures: dict = {}
        if cases:
            # 办件 (issue 15): the same two-request cycle finished as 受理 (a case, its acceptance number and
            # 受理通知书 in the finish transaction) against 咨询 (no case, no paper), in this run, in turns.
            _run_clients(clients, 2 * requests_per_client, refill)
            half = max(requests_per_client // 2, 1)
            rates: dict[str, list[float]] = {"consultation": [], "accepted": []}
            lats: dict[str, list[float]] = {"consultation": [], "accepted": []}
            for outcome in ("consultation", "accepted", "accepted", "consultation"):  # ABBA: drift cancels out
                phase = "call2_case" if outcome == "accepted" else "call2_nocase"
                rate, lat = _measured(phase, clients, half, call_two(outcome))
                rates[outcome].append(rate)
                lats[outcome] += lat
            plain, case = statistics.fmean(rates["consultation"]), statistics.fmean(rates["accepted"])
            case_figures = {
                "call2_nocase_per_s": round(plain, 1), "call2_nocase_p50_ms": round(_pct(lats["consultation"], .5), 2),
                "call2_nocase_p99_ms": round(_pct(lats["consultation"], .99), 2),
                "call2_case_per_s": round(case, 1), "call2_case_p50_ms": round(_pct(lats["accepted"], .5), 2),
                "call2_case_p99_ms": round(_pct(lats["accepted"], .99), 2),
                # How much longer a cycle takes when its finish opens a case (target ≤ 1.5).
                "case_cycle_ratio": round(plain / case, 3),
                "case_p50_ratio": round(_pct(lats["accepted"], .5) / _pct(lats["consultation"], .5), 3),
            }

        in_hand: dict[int, dict] = {}
        for i in range(clients):  # each clerk holds a ticket: every press below finishes it and calls the next
            r = requests.post(f"{bases[i % workers]}/api/v1/windows/{windows[i]['id']}/call-next",
                              headers={"Authorization": f"Bearer {tokens[i]}"}, timeout=30)
            r.raise_for_status()
            in_hand[i] = r.json()["ticket"]

        async def call_one(i: int, sess) -> float:
            h = {"Authorization": f"Bearer {tokens[i]}"}
            ms, answer = await _timed(sess, "POST", f"{bases[i % workers]}/api/v1/windows/{windows[i]['id']}/"
                                      "finish-and-call-next", json={"outcome": "completed",
                                                                   "ticket_id": in_hand[i]["id"]}, headers=h)
            if answer["ticket"] is None:
                raise RuntimeError("backlog ran out")
            in_hand[i] = answer["ticket"]
            return ms

        call1_rate, call1_lat = _measured("call1", clients, requests_per_client, call_one)
        server.stop()
        os.environ["ONEVISIT_INSTANCE"] = str(tmp)  # the in-process app reads the server's settings
        statements = count_statements(url, hall_id, item, kiosk, tokens[0], windows[0]["id"], in_hand[0])
        return {
            "clients": clients,
            "requests_per_client": requests_per_client,
            "server": "werkzeug (--dev)" if dev else f"gunicorn {os.environ.get('ONEVISIT_WORKER_CLASS', 'gthread')}",
            "server_processes": workers,
            "bare_per_s": round(bare_rate, 1), "bare_p50_ms": round(_pct(bare_lat, .5), 2),
            "bare_p99_ms": round(_pct(bare_lat, .99), 2),
            "issue_per_s": round(issue_rate, 1), "issue_p50_ms": round(_pct(issue_lat, .5), 2),
            "issue_p99_ms": round(_pct(issue_lat, .99), 2), "p99_ms": round(_pct(issue_lat, .99), 2),
            "issue_mean_ms": round(statistics.fmean(issue_lat), 2),
            "call2_per_s": round(call2_rate, 1), "call2_p50_ms": round(_pct(call2_lat, .5), 2),
            "call2_p99_ms": round(_pct(call2_lat, .99), 2),
            "call1_per_s": round(call1_rate, 1), "call1_p50_ms": round(_pct(call1_lat, .5), 2),
            "call1_p99_ms": round(_pct(call1_lat, .99), 2),
            "call_per_s": round(call1_rate, 1), "call_p99_ms": round(_pct(call1_lat, .99), 2),
            "issue_vs_bare": round(issue_rate / bare_rate, 3),
            "call1_vs_bare": round(call1_rate / bare_rate, 3),
            "call1_vs_call2": round(call1_rate / call2_rate, 3),
            **case_figures,
            # Two runs each of the case phases (ABBA): their per-cycle figures are averaged.
            **{f"server_cpu_ms_per_{phase}": round(ms / (2 if phase.startswith("call2_") else 1), 3)
               for phase, ms in _CPU_MS.items()},
            **{f"duties_cpu_ms_during_{phase}": round(ms, 1) for phase, ms in _DUTIES_MS.items()},
            **{f"database_cpu_ms_per_{phase}": round(ms / (2 if phase.startswith("call2_") else 1), 3)
               for phase, ms in _DB_MS.items()},
            **statements,
        }
    finally:
        server.stop()
        if db_name:
            with pg_admin() as admin:
                admin.execute(f"DROP DATABASE IF EXISTS {db_name} WITH (FORCE)")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="fewer requests (smoke run, < 1 min)")
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--requests", type=int, default=None, help="requests per client per phase")
    p.add_argument("--engines", default="sqlite,postgresql")
    p.add_argument("--dev", action="store_true", help="serve through werkzeug (`onevisit run --dev`) to compare")
    p.add_argument("--cases", action="store_true",
                   help="also the call→finish cycle finished as 受理 (opens a case) vs 咨询 (none): case_cycle_ratio")
    p.add_argument("--workers", type=int, default=1,
                   help="server processes (`onevisit run --workers N`, events through the local Redis)")
    args = p.parse_args(argv)
    per_client = args.requests or (40 if args.quick else 250)
    out: dict = {"clients": args.clients, "requests_per_client": per_client, "load_average": os.getloadavg(),
                 "cpus": os.cpu_count()}
    for engine in args.engines.split(","):
        if engine == "postgresql" and not postgres_available():
            out[engine] = {"skipped": "PostgreSQL not reachable on 127.0.0.1:5432"}
            continue
        out[engine] = bench_engine(engine, args.clients, per_client, args.workers, args.dev, args.cases)
        print(f"{engine}: {json.dumps(out[engine])}", file=sys.stderr)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
