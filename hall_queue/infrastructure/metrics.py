"""Prometheus exposition of one app: request rates and latencies, the floor's figures, reachability.

No Flask here: ``entrypoints.monitoring`` feeds ``RequestMetrics`` from request hooks and serves
``render``. Every app has its own registry (tests build many apps in one process). Floor figures
and probes are read when Prometheus scrapes, not kept up to date on every request.

Several processes (``onevisit run --workers N``): each process listens on its own port and serves
its own ``/metrics``; request counters are per process (Prometheus adds the ``instance`` label, sum
over it), the floor figures and reachability come from the shared database and are the same on
every port (take ``max`` over instances, or scrape one).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from sqlalchemy import text

from hall_queue.infrastructure.migrate import schema_head

CONTENT_TYPE = CONTENT_TYPE_LATEST
# Seconds; the API answers in milliseconds, a slow disk or a busy PostgreSQL in tenths.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class RequestMetrics:
    """Requests per endpoint (the URL rule, never the raw path), method and status; latency per endpoint."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter("onevisit_http_requests", "HTTP requests answered", ("endpoint", "method", "status"),
                                registry=registry)
        self.latency = Histogram("onevisit_http_request_duration_seconds", "Time to answer an HTTP request",
                                 ("endpoint", "method"), buckets=LATENCY_BUCKETS, registry=registry)
        self._series: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def observe(self, endpoint: str, method: str, status: int, seconds: float) -> None:
        # The labelled series of an (endpoint, method, status), looked up once: ``labels()`` checks and locks on every
        # call, a twentieth of a bare request (issue 19). The same series either way (prometheus keeps one per labels).
        series = self._series.get((endpoint, method, status))
        if series is None:
            series = self._series[(endpoint, method, status)] = (
                self.requests.labels(endpoint, method, str(status)), self.latency.labels(endpoint, method))
        series[0].inc()
        series[1].observe(seconds)


def database_state(db: Any) -> tuple[bool, bool]:
    """(reachable, migrated to this code's head) for a ``Database``."""
    try:
        with db.reader.connect() as conn:
            conn.execute(text("SELECT 1"))
            try:
                revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
            except Exception:  # noqa: BLE001 - no alembic_version table: never migrated
                revision = None
        return True, revision == schema_head()
    except Exception:  # noqa: BLE001 - down, refused, locked: all mean "not reachable"
        return False, False


def redis_reachable(url: str | None) -> bool | None:
    """True/False for a configured Redis URL, None when none is configured."""
    if not url or not str(url).startswith(("redis://", "rediss://", "unix://")):
        return None
    try:
        import redis

        client = redis.Redis.from_url(url, socket_connect_timeout=1.0, socket_timeout=1.0)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:  # noqa: BLE001
        return False


class ScrapeCollector:
    """Calls ``read()`` at each scrape; it returns objects with ``name``, ``help``, ``value``, ``labels``."""

    def __init__(self, read: Callable[[], Iterable[Any]]) -> None:
        self._read = read

    def collect(self):
        families: dict[str, GaugeMetricFamily] = {}
        for f in self._read():
            keys = sorted(f.labels)
            family = families.get(f.name)
            if family is None:
                family = families[f.name] = GaugeMetricFamily(f.name, f.help, labels=keys)
            family.add_metric([str(f.labels[k]) for k in keys], float(f.value))
        yield from families.values()


def new_registry() -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    ProcessCollector(registry=registry)   # CPU, memory, open files of this process
    PlatformCollector(registry=registry)  # Python version
    return registry


def render(registry: CollectorRegistry) -> bytes:
    return generate_latest(registry)
