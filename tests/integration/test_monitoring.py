"""/metrics parsed by prometheus-client's own parser; its protection; /healthz and /readyz; --workers N."""
from __future__ import annotations

import socket
import time

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from hall_queue import create_app
from hall_queue.domain.models import Hall
from hall_queue.infrastructure.db import Database
from tests.server import ServerProcess, prepared_instance

TICKETS_RULE = "/api/v1/halls/<int:hall_id>/tickets"


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    """Every sample of an exposition, keyed by (name, labels); the parser raises on malformed text."""
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(found: dict, name: str, **labels: str) -> float | None:
    return found.get((name, frozenset(labels.items())))


def test_metrics_count_requests_tickets_alerts_devices_and_outbox(api, client, db, hall_id):
    with db.read() as s:
        code = s.get(Hall, hall_id).code
    issued = [api.issue("SB001", name="张三丰", id_number="220102199001011234") for _ in range(3)]
    prefix = issued[0]["number"][0]
    api.sign_in("clerk01", 1)
    called = api.call("clerk01", 1)["ticket"]
    assert called is not None
    r = api.post(f"/api/v1/halls/{hall_id}/device-health", {"device": "printer", "state": "fault", "reason": "缺纸"},
                 token=api.tokens["kiosk"])
    assert r.status_code == 200, r.get_json()
    assert client.get("/api/v1/no/such/path").status_code == 404

    resp = client.get("/metrics")
    assert resp.status_code == 200 and resp.content_type.startswith("text/plain")
    found = samples(resp.get_data(as_text=True))
    assert value(found, "onevisit_http_requests_total", endpoint=TICKETS_RULE, method="POST", status="201") == 3
    assert value(found, "onevisit_http_request_duration_seconds_count", endpoint=TICKETS_RULE, method="POST") == 3
    assert value(found, "onevisit_http_requests_total", endpoint="unmatched", method="GET", status="404") == 1
    assert not any("/no/such/path" in dict(labels).get("endpoint", "") for _, labels in found)  # rule, never raw path
    assert value(found, "onevisit_tickets_issued_today", hall=code, queue=prefix) == 3
    assert value(found, "onevisit_tickets_called_today", hall=code, queue=prefix) == 1
    assert value(found, "onevisit_tickets_waiting", hall=code, queue=prefix) == 2
    assert value(found, "onevisit_alerts_open", hall=code, kind="device_fault") == 1
    kiosk_labels = {k: v for (n, labels) in found if n == "onevisit_kiosk_device_state" for k, v in labels}
    assert kiosk_labels["device"] == "printer"
    faults = [v for (n, labels), v in found.items() if n == "onevisit_kiosk_device_state"
              and dict(labels)["state"] == "fault"]
    assert faults == [1.0]
    assert value(found, "onevisit_outbox_messages", hall=code, channel="sms", status="pending") == 0
    assert value(found, "onevisit_database_up") == 1
    assert value(found, "onevisit_schema_at_head") == 0  # the test database is built without migrations
    assert ("onevisit_redis_up", frozenset()) not in found  # no Redis configured here
    assert value(found, "process_resident_memory_bytes") > 0
    assert "张" not in resp.get_data(as_text=True)


def test_metrics_need_the_token_or_the_monitoring_address(app, client):
    far = {"REMOTE_ADDR": "10.20.30.40"}
    r = client.get("/metrics", environ_base=far)
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "forbidden"
    r = client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})  # through nginx: refused without a token
    assert r.status_code == 403
    assert client.get("/metrics").status_code == 200  # loopback, no proxy
    app.config["METRICS_TOKEN"] = "s3cret-monitoring-token"
    r = client.get("/metrics")
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "unauthorized"
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}, environ_base=far).status_code == 401
    r = client.get("/metrics", headers={"Authorization": "Bearer s3cret-monitoring-token"}, environ_base=far)
    assert r.status_code == 200 and samples(r.get_data(as_text=True))


def test_healthz_and_readyz(tmp_path, client):
    assert client.get("/healthz").get_json()["ok"] is True
    r = client.get("/readyz")  # the fixture's database has no migrations applied
    assert r.status_code == 503
    assert r.get_json()["checks"]["migrations"] == "behind" and r.get_json()["error"]["code"] == "not_ready"

    ready = prepared_instance(tmp_path / "ready") / "onevisit.db"  # migrated to head, as `onevisit init` leaves it
    url = f"sqlite:///{ready}"
    db = Database(url)
    try:
        app = create_app({"DATABASE": db, "DATABASE_URL": url, "TESTING": True, "BACKUP_DIR": str(tmp_path / "b")})
        c = app.test_client()
        r = c.get("/readyz")
        assert r.status_code == 200 and r.get_json() == {"ready": True, "checks": {
            "database": "ok", "migrations": "ok", "redis": "not configured"}}
        if _redis_up():
            app.config["SOCKETIO_MESSAGE_QUEUE"] = "redis://127.0.0.1:6379/0"
            assert c.get("/readyz").get_json()["checks"]["redis"] == "ok"
            assert value(samples(c.get("/metrics").get_data(as_text=True)), "onevisit_redis_up") == 1
        app.config["SOCKETIO_MESSAGE_QUEUE"] = f"redis://127.0.0.1:{_closed_port()}/0"
        r = c.get("/readyz")
        assert r.status_code == 503 and r.get_json()["checks"]["redis"] == "unreachable"
        assert value(samples(c.get("/metrics").get_data(as_text=True)), "onevisit_redis_up") == 0
    finally:
        db.dispose()
    ready.unlink()
    r = c.get("/readyz")  # the file is gone: SQLite makes an empty one, without a schema
    assert r.status_code == 503 and r.get_json()["checks"]["migrations"] != "ok"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens once closed


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


def _two_free_ports() -> int:
    for _ in range(50):
        with socket.socket() as a:
            a.bind(("127.0.0.1", 0))
            port = a.getsockname()[1]
            try:
                with socket.socket() as b:
                    b.bind(("127.0.0.1", port + 1))
                    return port
            except OSError:
                continue
    raise RuntimeError("no two consecutive free ports")


@pytest.mark.skipif(not _redis_up(), reason="onevisit run --workers 2 needs Redis on 127.0.0.1:6379")
def test_workers_each_serve_their_own_request_counters_and_the_same_floor(tmp_path):
    port = _two_free_ports()
    server = ServerProcess(prepared_instance(tmp_path, demo=True), port=port, args=("--workers", "2"),
                           env={"SOCKETIO_MESSAGE_QUEUE": "redis://127.0.0.1:6379/0",
                                "SOCKETIO_CHANNEL": f"onevisit-metrics-{port}"})
    server.start(timeout=120)  # three interpreters start at once; slow on a busy machine
    try:
        bases = [f"http://127.0.0.1:{port}", f"http://127.0.0.1:{port + 1}"]
        deadline = time.monotonic() + 90  # a busy machine starts processes slowly
        while True:
            try:
                if requests.get(bases[1] + "/healthz", timeout=1).ok:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, "second process did not start"
            time.sleep(0.2)
        for base, n in zip(bases, (3, 5)):
            for _ in range(n):
                assert requests.get(f"{base}/api/v1/halls/1/catalog", timeout=10).ok
        found = [samples(requests.get(f"{b}/metrics", timeout=10).text) for b in bases]
        rule = "/api/v1/halls/<int:hall_id>/catalog"
        assert [value(f, "onevisit_http_requests_total", endpoint=rule, method="GET", status="200") for f in found] == [3, 5]
        floor = [{k: v for k, v in f.items() if k[0].startswith(("onevisit_tickets", "onevisit_alerts"))} for f in found]
        assert floor[0] == floor[1] and floor[0]
    finally:
        server.stop()
