"""Retention purge on a real SQLite file: personal data and scanned pages go, the statistics stay."""
from __future__ import annotations

import io
import json

import pytest
from PIL import Image
from sqlalchemy import func, select

from hall_queue import create_app
from hall_queue.access import retention
from hall_queue.entrypoints import duties
from hall_queue.entrypoints.duties import purge_personal_data
from hall_queue.entrypoints.cli import main
from hall_queue.infrastructure.db import Database
from hall_queue.entrypoints.demo.loader import load_demo_hall
from hall_queue.infrastructure.migrate import upgrade
from hall_queue.domain.models import (
    Appointment,
    AuditEvent,
    Complaint,
    Ticket,
    TicketAttachment,
)
from hall_queue.access.retention import PSEUDONYM_PREFIX, purge_expired
from tests.conftest import Api

ID_A = "110101199003071234"
PHONE = "13812345678"
COMPLAINT = {"kind": "attitude", "target_unit": "不动产登记中心", "target_person": "王小明",
             "content": "窗口工作人员态度生硬，未一次性告知所需材料。", "complainant_name": "张三丰",
             "contact": PHONE}


def _jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40, 56), (240, 240, 230)).save(buf, "JPEG")
    return buf.getvalue()


def populate(api) -> dict:
    """A day of the demo hall with every kind of personal data: served tickets with a scanned page,
    an open ticket, a cancelled booking and a closed complaint. Returns the ids."""
    kiosk = api.tokens["kiosk"]
    api.sign_in("clerk01", 1)
    served = []
    for _ in range(2):  # the same person twice: the one-visit rate links the visits by id_hash
        t = api.issue("SB001", name="张三丰", id_number=ID_A, phone=PHONE)
        r = api.client.post(f"/api/v1/tickets/{t['id']}/attachments?page_size=A4", data=_jpeg(),
                            headers={"Content-Type": "image/jpeg", "Authorization": f"Bearer {kiosk}"})
        assert r.status_code == 201, r.get_json()
        called = api.call("clerk01", 1)["ticket"]
        api.act("clerk01", called["id"], "finish", {"outcome": "completed"} if served else
                {"outcome": "notice", "missing_materials": ["身份证复印件"]})
        served.append(called["id"])
    waiting = api.issue("SB001", name="李四", id_number="11010119910408234X")["id"]
    body = {"slot": "2026-03-03T10:00", "name": "王五", "id_number": "110101199205093456", "phone": "13900139000",
            "item_id": api.items["SS001"]}
    r = api.post(f"/api/v1/halls/{api.hall_id}/appointments", body)
    assert r.status_code == 201, r.get_json()
    booking = r.get_json()
    r = api.post(f"/api/v1/halls/{api.hall_id}/appointments/cancel",
                 {"code": booking["code"], "id_number": body["id_number"]})
    assert r.status_code == 200, r.get_json()
    r = api.client.post(f"/api/v1/halls/{api.hall_id}/complaints", json=COMPLAINT)
    assert r.status_code == 201, r.get_json()
    complaint = r.get_json()
    m = api.token("manager")
    cid = api.get(f"/api/v1/halls/{api.hall_id}/complaints", token=m).get_json()["items"][0]["id"]
    assert api.post(f"/api/v1/complaints/{cid}/handle", {}, token=m).status_code == 200
    assert api.post(f"/api/v1/complaints/{cid}/answer", {"answer": "经核实，已对相关人员批评教育并当面致歉。"},
                    token=m).status_code == 200
    assert api.post(f"/api/v1/complaints/{cid}/close", token=m).status_code == 200
    return {"served": served, "waiting": waiting, "booking": booking, "complaint": cid,
            "complaint_number": complaint["number"], "lookup_code": complaint["lookup_code"]}


def _stats(api) -> dict:
    api._staff_tokens.clear()  # staff sessions expire while the test clock jumps half a year
    r = api.get(f"/api/v1/halls/{api.hall_id}/statistics?from=2026-03-02&to=2026-03-03&group=day",
                token=api.token("manager"))
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def test_purge_erases_personal_data_and_pages_and_keeps_statistics(api, db, clock):
    ids = populate(api)
    stats_before = _stats(api)
    assert ID_A not in json.dumps(stats_before)

    # Within the period nothing is touched.
    clock.advance(days=179)
    assert db.run_write(lambda s: purge_expired(s, clock.now(), days=180)).total == 0

    clock.advance(days=2)
    dry = db.run_write(lambda s: purge_expired(s, clock.now(), days=180, dry_run=True))
    assert (dry.pages, dry.tickets, dry.appointments, dry.complaints) == (2, 2, 1, 1)
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(TicketAttachment)) == 2  # a dry run changes nothing

    report = db.run_write(lambda s: purge_expired(s, clock.now(), days=180))
    assert report.as_dict() | {"login_attempts": 0} == dry.as_dict() | {"login_attempts": 0}
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(TicketAttachment)) == 0
        served = [s.get(Ticket, i) for i in ids["served"]]
        for t in served:
            assert (t.id_cipher, t.phone_cipher, t.masked_name, t.masked_id) == (None, None, None, None)
            assert t.id_hash.startswith(PSEUDONYM_PREFIX)
            assert t.outcome and t.finished_at and t.issued_at  # the anonymous facts stay
        assert served[0].id_hash == served[1].id_hash  # same person, same pseudonym: the one-visit rate holds
        # The open ticket keeps its data (the visitor is still in the hall).
        waiting = s.get(Ticket, ids["waiting"])
        assert waiting.id_cipher and waiting.masked_name == "李*"
        appt = s.scalars(select(Appointment)).one()
        assert (appt.name_cipher, appt.id_cipher, appt.phone_cipher, appt.masked_name, appt.masked_id,
                appt.masked_phone) == ("", "", "", "", "", "")
        assert appt.id_hash.startswith(PSEUDONYM_PREFIX) and appt.status == "cancelled"
        c = s.get(Complaint, ids["complaint"])
        assert (c.complainant_name_cipher, c.complainant_name_masked, c.contact_cipher, c.contact_masked,
                c.target_person_cipher, c.target_person_masked) == (None, None, "", "", None, None)
        assert c.content and c.answer and c.status == "closed"  # the case itself stays (000 §10.4)
        events = list(s.scalars(select(AuditEvent).where(AuditEvent.action == "retention.purge")))
        assert len(events) == 1 and events[0].detail["pages"] == 2 and events[0].detail["days"] == 180
    assert _stats(api) == stats_before  # every figure of the purged days is unchanged
    # The ticket's page list is empty for the staff too.
    listed = api.get(f"/api/v1/tickets/{ids['served'][0]}/attachments", token=api.token("manager")).get_json()
    assert listed["items"] == []
    # Idempotent: a second purge finds nothing and writes no second audit event.
    assert db.run_write(lambda s: purge_expired(s, clock.now(), days=180)).total == 0
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(AuditEvent)
                        .where(AuditEvent.action == "retention.purge")) == 1


def test_purge_batches_drain_a_backlog(api, db, clock):
    for _ in range(5):
        api.issue("SB001", name="张三丰", id_number=ID_A)
    api.sign_in("clerk01", 1)
    for _ in range(5):
        t = api.call("clerk01", 1)["ticket"]
        api.act("clerk01", t["id"], "finish", {"outcome": "completed"})
    clock.advance(days=30)
    total = retention.purge_all(db.run_write, clock.now(), days=7, batch=2)  # 3 transactions of ≤ 2 tickets
    assert total.tickets == 5
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(Ticket).where(Ticket.id_cipher.is_not(None))) == 0
        assert s.scalar(select(func.count()).select_from(AuditEvent)
                        .where(AuditEvent.action == "retention.purge")) == 3


def test_retention_days_setting():
    assert retention.retention_days({}) == 180
    assert retention.retention_days({"ONEVISIT_RETENTION_DAYS": " 30 "}) == 30
    for bad in ("0", "-5", "half a year"):
        with pytest.raises(ValueError):
            retention.retention_days({"ONEVISIT_RETENTION_DAYS": bad})


@pytest.fixture
def migrated(tmp_path, clock):
    """The demo hall in a SQLite file made by the migrations (as ``onevisit init`` does), for CLI runs."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    upgrade(url)
    db = Database(url)
    hall_id = db.run_write(lambda s: load_demo_hall(s, now=clock.now()).id)
    app = create_app({"DATABASE": db, "DATABASE_URL": url, "CLOCK": clock, "DATA_KEY": "test-data-key",
                      "TESTING": True})
    yield app, db, Api(app.test_client(), db, hall_id, clock)
    db.dispose()


def test_duty_round_and_cli_purge(migrated, clock, monkeypatch, capsys):
    app, db, api = migrated
    populate(api)
    clock.advance(days=40)
    # The CLI on the same file (wall clock: the demo day lies in the past, so 1 day covers it).
    monkeypatch.setenv("DATABASE_URL", db.url)
    assert main(["purge", "--dry-run", "--days", "1"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["dry_run"], out["days"], out["pages"], out["tickets"], out["appointments"], out["complaints"]) == \
        (True, 1, 2, 2, 1, 1)
    assert main(["purge", "--days", "0"]) == 2
    # The duty hook uses the configured period: 60 days keeps everything, 30 days erases.
    monkeypatch.setenv("ONEVISIT_RETENTION_DAYS", "60")
    assert purge_personal_data(app) == 0
    monkeypatch.setenv("ONEVISIT_RETENTION_DAYS", "30")
    assert purge_personal_data(app) == 0  # hourly: a second call within the hour does nothing
    duties._last_purge.clear()
    assert purge_personal_data(app) == 8  # 2 pages, 2 tickets, 1 booking, 1 complaint, 2 staff login records
    assert main(["purge", "--days", "1"]) == 0
    assert json.loads(capsys.readouterr().out)["tickets"] == 0  # nothing left; the open ticket stays
