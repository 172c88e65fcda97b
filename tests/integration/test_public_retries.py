"""A visitor's retried write is not done twice (the hall-day scenario's finding): an online complaint, question or
booking sent again with the same ``Idempotency-Key`` gets the first answer back, and a public form posted twice
(a double click) files once."""
from __future__ import annotations

import re
import threading

import pytest
from sqlalchemy import func, select

from hall_queue.access.retention import purge_expired
from hall_queue.domain import models
from hall_queue.domain.models import Appointment, Complaint, Consultation, Hall
from tests.conftest import engines
from tests.integration.test_appointments_booking import ID_A
from tests.integration.test_appointments_pages import _hidden_csrf
from tests.integration.test_manage_complaints import FORM

BOOKING = {"slot": "2026-03-03T10:00", "name": "张三丰", "id_number": ID_A, "phone": "13800138000"}


def _count(db, model) -> int:
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(model))


def _post(api, path, body, key=None):
    return api.post(f"/api/v1/halls/{api.hall_id}/{path}", body, headers={"Idempotency-Key": key} if key else None)


@pytest.mark.parametrize("db", engines(), indirect=True)
@pytest.mark.parametrize("path,body,model", [("complaints", FORM, Complaint),
                                             ("consultations/ask", {"question": "补办身份证需要带什么材料？"},
                                              Consultation)])
def test_a_retried_complaint_or_question_with_its_key_is_filed_once(api, db, path, body, model):
    first = _post(api, path, body, "visitor-7f3a")
    assert first.status_code == 201, first.get_json()
    again = _post(api, path, body, "visitor-7f3a")
    assert again.status_code == 200 and again.get_json() == first.get_json()  # the number and code again
    assert _count(db, model) == 1
    other = _post(api, path, {**body, "contact": "13900001111"}, "visitor-7f3a")
    assert other.status_code == 422 and other.get_json()["error"]["code"] == "idempotency_key_reused"
    assert _post(api, path, body, "x" * 101).status_code == 422
    assert _post(api, path, body).status_code == 201  # no key: another filing, as before
    assert _count(db, model) == 2
    with db.read() as s:  # the kept answer holds the look-up code: never in clear
        kept = s.scalars(select(models.PublicReply)).all()
        assert kept and all(first.get_json()["lookup_code"] not in row.body_cipher for row in kept)


@pytest.mark.parametrize("db", engines(), indirect=True)
def test_a_retried_booking_with_its_key_gets_its_code_again_and_without_a_key_a_masked_409(api, db):
    first = _post(api, "appointments", {**BOOKING, "item_id": api.items["SS001"]}, "book-1")
    assert first.status_code == 201, first.get_json()
    again = _post(api, "appointments", {**BOOKING, "item_id": api.items["SS001"]}, "book-1")
    assert again.status_code == 200 and again.get_json() == first.get_json() and again.get_json()["code"]
    assert _count(db, Appointment) == 1
    # Without the key the rule still refuses; it says which booking stands and where its SMS went, never the code.
    r = _post(api, "appointments", {**BOOKING, "item_id": api.items["SS001"]})
    error = r.get_json()["error"]
    assert r.status_code == 409 and error["code"] == "already_booked"
    assert "138****8000" in error["message"] and "刷身份证" in error["message"]
    assert first.get_json()["code"] not in str(r.get_json()) and ID_A not in str(r.get_json())


def test_openapi_documents_the_key_on_the_public_writes(api):
    paths = api.get("/api/v1/openapi.json").get_json()["paths"]
    for path in ("complaints", "consultations/ask", "appointments"):
        op = paths[f"/api/v1/halls/{{hall_id}}/{path}"]["post"]
        assert "Idempotency-Key" in [p["name"] for p in op["parameters"]], path
        assert "200" in op["responses"] and "201" in op["responses"], path


def _form_token(html: str) -> str:
    return re.search(r'name="submit_token" value="([^"]+)"', html).group(1)


def test_a_public_form_posted_twice_files_once(api, app, db):
    c = app.test_client()
    with db.read() as s:
        hall_code = s.get(Hall, api.hall_id).code
    page = c.get(f"/complaints/new?hall={hall_code}").get_data(as_text=True)
    data = {k: v for k, v in FORM.items() if k != "is_report"} | {"csrf_token": _hidden_csrf(page),
                                                                  "submit_token": _form_token(page)}
    numbers = []
    for expect in (201, 200):
        r = c.post(f"/complaints/new?hall={hall_code}", data=data)
        assert r.status_code == expect
        numbers.append(re.search(r"TS\d{8}-\d{4}", r.get_data(as_text=True)).group(0))
    assert numbers[0] == numbers[1] and _count(db, Complaint) == 1
    page = c.get(f"/consult/new?hall={hall_code}").get_data(as_text=True)
    data = {"question": "补办身份证需要带什么材料？", "csrf_token": _hidden_csrf(page),
            "submit_token": _form_token(page)}
    assert [c.post(f"/consult/new?hall={hall_code}", data=data).status_code for _ in range(2)] == [201, 200]
    assert _count(db, Consultation) == 1
    h, item = api.hall_id, api.items["SS001"]
    page = c.get(f"/book/{h}/form?matter=i{item}&slot=2026-03-03T10:00").get_data(as_text=True)
    data = {"matter": f"i{item}", "slot": "2026-03-03T10:00", "name": "王小明", "id_number": ID_A,
            "phone": "13800138000", "consent": "1", "csrf_token": _hidden_csrf(page), "submit_token": _form_token(page)}
    for _ in range(2):  # both answers lead to the booking's code, not one to 已预约
        r = c.post(f"/book/{h}/form", data=data)
        assert r.status_code == 302 and r.headers["Location"].endswith(f"/book/{h}/done")
    assert _count(db, Appointment) == 1


@pytest.mark.parametrize("db", engines(), indirect=True)
def test_the_same_key_sent_at_once_files_once(api, app, db):
    """A double tap's two requests arrive together: the key's row goes in first, the second waits, then replays."""
    barrier, answers = threading.Barrier(4), []

    def tap():
        client = app.test_client()
        barrier.wait()
        r = client.post(f"/api/v1/halls/{api.hall_id}/complaints", json=FORM, headers={"Idempotency-Key": "tap-1"})
        answers.append((r.status_code, r.get_json().get("number")))

    threads = [threading.Thread(target=tap) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(code for code, _ in answers) == [200, 200, 200, 201], answers
    assert len({number for _, number in answers}) == 1 and _count(db, Complaint) == 1


def test_a_kept_answer_is_purged_after_its_day(api, db, clock):
    """The kept answer holds the look-up code: the hourly purge removes it after a day, whatever the retention."""
    assert _post(api, "complaints", FORM, "visitor-purge").status_code == 201
    clock.advance(hours=23)
    assert db.run_write(lambda s: purge_expired(s, clock.now(), days=180)).replies == 0
    assert _post(api, "complaints", FORM, "visitor-purge").status_code == 200  # still a retry within the day
    clock.advance(hours=2)
    dry = db.run_write(lambda s: purge_expired(s, clock.now(), days=180, dry_run=True))
    assert dry.replies == 1 and _count(db, models.PublicReply) == 1
    report = db.run_write(lambda s: purge_expired(s, clock.now(), days=180))
    assert report.replies == 1 and report.total == 1 and _count(db, models.PublicReply) == 0


def test_an_integrations_kept_answer_lasts_a_week(api, db, clock):
    """Case writes' kept answers (``idempotent_replies``) grew for ever: they go after a week."""
    with db.read() as s:
        token_id = s.scalars(select(models.AccessToken.id)).first()

    def keep(s):
        s.add(models.IdempotentReply(token_id=token_id, key="case-retry-1", request_hash="0" * 64, status=200,
                                     body={"id": 1}, created_at=clock.now()))
    db.run_write(keep)
    clock.advance(days=6)
    assert db.run_write(lambda s: purge_expired(s, clock.now(), days=180)).replies == 0
    clock.advance(days=2)
    assert db.run_write(lambda s: purge_expired(s, clock.now(), days=180)).replies == 1
    assert _count(db, models.IdempotentReply) == 0
