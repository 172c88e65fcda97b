"""Data-key rotation on a real SQLite file: every ciphertext, keyed hash and audit link moves to the new key."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from hall_queue import create_app
from hall_queue.access import audit
from hall_queue.entrypoints.cli import main
from hall_queue.access.identity import IdentityVault
from hall_queue.access.keys import ENCRYPTED, RotationError, rotate
from hall_queue.domain.models import Appointment, AppointmentClaim, Ticket
from tests.conftest import Api
from tests.integration.test_retention import ID_A, migrated, populate  # noqa: F401 - migrated is a fixture

OLD, NEW = "test-data-key", "the-new-data-key-after-rotation"
ID_B = "110101199104082345"


def _ciphertexts(db) -> list[str]:
    out = []
    with db.read() as s:
        for model, columns in ENCRYPTED.items():
            for row in s.scalars(select(model)):
                out += [getattr(row, c) for c in columns if getattr(row, c)]
    return out


BOOKING = {"slot": "2026-03-04T10:00", "name": "赵六", "id_number": ID_B, "phone": "13700137000"}
RETRY = {"Idempotency-Key": "booking-retry-1"}


def _book(api) -> dict:
    r = api.client.post(f"/api/v1/halls/{api.hall_id}/appointments", json={**BOOKING, "item_id": api.items["SS001"]},
                        headers=RETRY)  # a visitor's phone that may send it again: its first answer is kept, encrypted
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def test_rotation_reencrypts_rehashes_and_relinks(migrated, clock, monkeypatch, capsys):  # noqa: F811
    _app, db, api = migrated
    ids = populate(api)
    booking = _book(api)  # an active booking: its claim row is keyed by id_hash
    db.run_write(lambda s: audit.seal(s, audit.chain_key(OLD)))
    old_vault = IdentityVault(OLD)
    before = _ciphertexts(db)
    assert len(before) >= 10 and all(old_vault.decrypt(c) for c in before)

    # Step 1: the servers restart with the new key and the old one as previous; everything still reads.
    rotating = create_app({"DATABASE": db, "DATABASE_URL": db.url, "CLOCK": clock, "DATA_KEY": NEW,
                           "DATA_KEY_PREVIOUS": OLD, "TESTING": True})
    live = Api(rotating.test_client(), db, api.hall_id, clock)
    called = live.call("clerk01", 1)["ticket"]
    assert called["id"] == ids["waiting"]
    r = live.post(f"/api/v1/tickets/{called['id']}/reveal-identity", token=live.token("clerk01"))
    assert r.status_code == 200 and r.get_json()["id_number"] == "11010119910408234X"
    r = live.post(f"/api/v1/complaints/{ids['complaint']}/contact", token=live.token("manager"))
    assert r.get_json() == {"contact": "13812345678"}
    fresh = live.issue("SB001", name="钱七", id_number="110101198001011234")  # written under the new key
    db.run_write(lambda s: audit.seal(s, audit.chain_key(NEW)))  # the duty loop now seals with the new key

    # Step 2: the rotation command, in small batches.
    monkeypatch.setenv("DATABASE_URL", db.url)
    monkeypatch.setenv("ONEVISIT_DATA_KEY", NEW)
    monkeypatch.setenv("OLD_KEY", OLD)
    assert main(["keys", "rotate", "--old-key-env", "OLD_KEY", "--batch", "2"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["fields"] == len(before) + 1 and report["undecryptable"] == 0  # + the booking's kept answer
    assert report["rows"]["public_replies"] == 1
    assert report["hashes"] == 5  # 3 tickets with an ID number (the one issued meanwhile is current) + 2 bookings
    assert report["cleared_source_hashes"] == 1 and report["audit_links"] > 0

    new_only = IdentityVault(NEW)
    after = _ciphertexts(db)
    assert len(after) == len(before) + 1  # + the ID number of the ticket issued during the rotation
    assert all(new_only.is_current(c) for c in after)
    with pytest.raises(ValueError):
        old_vault.decrypt(after[0])
    with db.read() as s:
        served = s.get(Ticket, ids["served"][0])
        assert served.id_hash == new_only.id_hash(ID_A) and new_only.decrypt(served.id_cipher) == ID_A
        appt = s.scalar(select(Appointment).where(Appointment.code == booking["code"]))
        assert appt.id_hash == new_only.id_hash(ID_B)
        claims = list(s.scalars(select(AppointmentClaim).where(AppointmentClaim.appointment_id == appt.id)))
        assert claims and all(c.id_hash == appt.id_hash for c in claims)
        assert s.get(Ticket, fresh["id"]).id_hash == new_only.id_hash("110101198001011234")
        # The audit chain verifies with the new key alone.
        assert audit.verify(s, audit.chain_key(NEW)).ok and not audit.verify(s, audit.chain_key(OLD)).ok
    assert main(["audit", "verify"]) == 0
    capsys.readouterr()

    # After the rotation the new key alone serves: look-ups by ID number find the same person.
    done = create_app({"DATABASE": db, "DATABASE_URL": db.url, "CLOCK": clock, "DATA_KEY": NEW, "TESTING": True})
    visitor = Api(done.test_client(), db, api.hall_id, clock)
    # The booking's retry, after the rotation: its kept first answer opens with the new key alone.
    r = visitor.client.post(f"/api/v1/halls/{api.hall_id}/appointments",
                            json={**BOOKING, "item_id": api.items["SS001"]}, headers=RETRY)
    assert r.status_code == 200 and r.get_json()["code"] == booking["code"], r.get_json()
    r = visitor.post(f"/api/v1/halls/{api.hall_id}/appointments/cancel", {"code": booking["code"], "id_number": ID_B})
    assert r.status_code == 200, r.get_json()
    status = f"/api/v1/halls/{api.hall_id}/complaints/status"
    query = {"number": ids["complaint_number"], "code": ids["lookup_code"]}
    # A complaint's look-up code cannot be re-keyed: it verifies while the old key is listed as previous.
    assert not visitor.client.get(status, query_string=query).get_json()["verified"]
    assert live.client.get(status, query_string=query).get_json()["verified"]

    # Idempotent: a second run changes nothing.
    after = _ciphertexts(db)
    assert main(["keys", "rotate", "--old-key-env", "OLD_KEY"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert (again["fields"], again["hashes"], again["audit_links"], again["rows"]) == (0, 0, 0, {})
    assert _ciphertexts(db) == after


def test_wrong_old_key_is_refused_and_an_interrupted_rotation_resumes(api, db):
    populate(api)
    before = _ciphertexts(db)
    with pytest.raises(RotationError, match="old key"):
        rotate(db.run_write, new_secret=NEW, old_secret="not the old key")
    assert _ciphertexts(db) == before  # nothing touched
    with pytest.raises(RotationError):
        rotate(db.run_write, new_secret=OLD, old_secret=OLD)

    calls = {"n": 0}

    def crashing(fn):
        calls["n"] += 1
        if calls["n"] == 4:  # the key check, two batches, then the process dies
            raise KeyboardInterrupt
        return db.run_write(fn)

    with pytest.raises(KeyboardInterrupt):
        rotate(crashing, new_secret=NEW, old_secret=OLD, batch=1)
    new_only = IdentityVault(NEW)
    partly = _ciphertexts(db)
    assert 0 < sum(new_only.is_current(c) for c in partly) < len(partly)  # two tickets done, the rest not
    report = rotate(db.run_write, new_secret=NEW, old_secret=OLD, batch=1)
    assert report.fields == len(partly) - sum(new_only.is_current(c) for c in partly)
    assert all(new_only.is_current(c) for c in _ciphertexts(db))
