"""``/metrics`` (Prometheus), ``/healthz`` and ``/readyz``: the Flask side of monitoring. A thin adapter.

* ``/healthz`` — the process is alive and answers HTTP. Nothing else is checked: a supervisor
  (systemd, a load balancer) restarts a process that stops answering it.
* ``/readyz`` — this process can serve the hall: the database answers, its schema is at this
  code's newest migration, and Redis answers when ``SOCKETIO_MESSAGE_QUEUE`` names one. 200 when all
  hold, else 503 with ``{"error": {...}, "checks": {...}}``: take the process out of the load
  balancer, do not restart it (it recovers by itself when the database or Redis comes back).
* ``/metrics`` — the Prometheus text format. With ``ONEVISIT_METRICS_TOKEN`` set it needs
  ``Authorization: Bearer <token>``; without one it answers only to the addresses in
  ``ONEVISIT_METRICS_ALLOW`` (default 127.0.0.1, ::1) and never to a request forwarded by a proxy
  (an ``X-Forwarded-For`` header), since behind nginx every visitor would seem to come from 127.0.0.1.
"""
from __future__ import annotations

import hmac
import logging
import time
from datetime import UTC
from pathlib import Path

from flask import Flask, Response, g, jsonify, request

from hall_queue.bootstrap import runtime
from hall_queue.entrypoints.api.errors import error_response
from hall_queue.floor.monitoring import Figure, floor_figures
from hall_queue.infrastructure import metrics
from hall_queue.infrastructure.backup import backup_time, list_backups

log = logging.getLogger("onevisit.monitoring")


def init_app(app: Flask, version: str) -> None:
    registry = metrics.new_registry()
    requests_seen = metrics.RequestMetrics(registry)
    registry.register(metrics.ScrapeCollector(lambda: scrape(app)))
    app.extensions["onevisit.metrics"] = registry

    @app.before_request
    def _start_timer():
        g.onevisit_t0 = time.perf_counter()

    @app.after_request
    def _count(resp):
        t0 = g.get("onevisit_t0")
        if t0 is not None:
            rule = request.url_rule.rule if request.url_rule is not None else "unmatched"
            requests_seen.observe(rule, request.method, resp.status_code, time.perf_counter() - t0)
        return resp

    @app.get("/healthz")
    def healthz():
        return jsonify({"ok": True, "version": version})

    @app.get("/readyz")
    def readyz():
        db_up, at_head = metrics.database_state(runtime(app).db)
        checks = {"database": "ok" if db_up else "unreachable",
                  "migrations": "ok" if at_head else ("behind" if db_up else "unknown")}
        redis = metrics.redis_reachable(app.config.get("SOCKETIO_MESSAGE_QUEUE"))
        checks["redis"] = "not configured" if redis is None else ("ok" if redis else "unreachable")
        if db_up and at_head and redis is not False:
            return jsonify({"ready": True, "checks": checks})
        bad = ", ".join(f"{k} {v}" for k, v in checks.items() if v not in ("ok", "not configured"))
        resp = jsonify({"error": {"code": "not_ready", "message": f"not ready: {bad}"}, "checks": checks})
        resp.status_code = 503
        return resp

    @app.get("/metrics")
    def metrics_page():
        denied = _denied(app)
        if denied is not None:
            return denied
        return Response(metrics.render(registry), mimetype=None, content_type=metrics.CONTENT_TYPE)


def _denied(app: Flask):
    token = app.config.get("METRICS_TOKEN") or ""
    if token:
        given = request.headers.get("Authorization", "")
        if hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return None
        return error_response(401, "unauthorized", "metrics need the monitoring token")
    allowed = {a.strip() for a in str(app.config.get("METRICS_ALLOW", "")).split(",") if a.strip()}
    if request.headers.get("X-Forwarded-For") or request.remote_addr not in allowed:
        return error_response(403, "forbidden", "metrics are served only to the monitoring address; "
                                                "set ONEVISIT_METRICS_TOKEN to scrape from elsewhere")
    return None


def scrape(app: Flask) -> list[Figure]:
    """Everything but the request counters, read now: reachability, the last backup, the floor."""
    rt = runtime(app)
    db_up, at_head = metrics.database_state(rt.db)
    out = [Figure("onevisit_database_up", "1 when the database answers", 1.0 if db_up else 0.0),
           Figure("onevisit_schema_at_head", "1 when the database schema is at this code's newest migration",
                  1.0 if at_head else 0.0)]
    redis = metrics.redis_reachable(app.config.get("SOCKETIO_MESSAGE_QUEUE"))
    if redis is not None:
        out.append(Figure("onevisit_redis_up", "1 when the Redis message queue answers", 1.0 if redis else 0.0))
    times = [t for t in map(backup_time, list_backups(Path(app.config.get("BACKUP_DIR", "")))) if t is not None]
    if times:
        out.append(Figure("onevisit_backup_last_timestamp_seconds", "Unix time of the newest backup in the backup "
                          "directory", max(times).replace(tzinfo=UTC).timestamp()))
    if db_up:
        try:
            with rt.db.read() as s:
                out += floor_figures(s, rt.clock.now())
        except Exception:
            log.exception("reading the floor figures failed")
    return out
