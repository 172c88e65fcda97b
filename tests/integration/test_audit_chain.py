"""The audit log is hash-chained: sealing links events, verify finds edits, deletions and reorders."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
from sqlalchemy import delete, func, select, update

from hall_queue.access import audit
from hall_queue.domain.models import AuditEvent
from hall_queue.entrypoints import cli
from tests.conftest import engines

KEY = audit.chain_key("test-data-key")


def _make_events(api, n=3):
    api.sign_in("clerk01", 1)
    for _ in range(n):
        t = api.issue("SS001")["id"]
        api.call("clerk01", 1)
        api.act("clerk01", t, "finish", {"outcome": "completed"})


def test_seal_then_verify_and_detect_tampering(api, db):
    _make_events(api)
    sealed = db.run_write(lambda s: audit.seal(s, KEY))
    assert sealed >= 10
    with db.read() as s:
        assert audit.verify(s, KEY).as_dict() == {"ok": True, "sealed": sealed, "unsealed": 0,
                                                  "first_bad_seq": None, "problem": None}
    # New events stay unsealed until the next round, and the chain still verifies.
    _make_events(api, 1)
    with db.read() as s:
        r = audit.verify(s, KEY)
    assert r.ok and r.unsealed >= 3
    db.run_write(lambda s: audit.seal(s, KEY))

    # Someone edits an event in place: the link no longer matches.
    victim = db.run_write(lambda s: s.scalars(select(AuditEvent).where(AuditEvent.action == "ticket.finish")).first().id)
    db.run_write(lambda s: s.execute(update(AuditEvent).where(AuditEvent.id == victim)
                                     .values(detail={"outcome": "refused"})))
    with db.read() as s:
        r = audit.verify(s, KEY)
    assert not r.ok and "altered" in r.problem


def test_deleted_event_and_wrong_key_are_detected(api, db):
    _make_events(api, 2)
    db.run_write(lambda s: audit.seal(s, KEY))
    with db.read() as s:
        assert not audit.verify(s, audit.chain_key("another key")).ok
    db.run_write(lambda s: s.execute(delete(AuditEvent).where(AuditEvent.chain_seq == 4)))
    with db.read() as s:
        r = audit.verify(s, KEY)
    assert not r.ok and r.first_bad_seq == 4 and "missing" in r.problem


def test_cli_audit_verify(tmp_path, monkeypatch, capsys):
    """``onevisit demo`` and ``audit seal`` run through the CLI's main in this process (the same commands,
    without two more interpreter start-ups); ``audit verify`` runs as the real command line."""
    env = {"ONEVISIT_INSTANCE": str(tmp_path), "ONEVISIT_DATA_KEY": "k", "PATH": "/usr/bin:/bin"}
    for name in list(os.environ):
        if name.startswith(("ONEVISIT_", "SOCKETIO_")) or name == "DATABASE_URL":
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert cli.main(["demo"]) == 0
    capsys.readouterr()
    assert cli.main(["audit", "seal"]) == 0
    sealed = json.loads(capsys.readouterr().out)["sealed"]
    out = subprocess.run([sys.executable, "-m", "hall_queue.entrypoints.cli", "audit", "verify"], env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and json.loads(out.stdout)["sealed"] == sealed


@pytest.mark.parametrize("db", engines(), indirect=True)
def test_the_duty_round_seals_in_batches_the_same_chain(api, db, monkeypatch):
    """``seal_pending`` (the duty round) writes the chain a batch per write transaction, link for link as one
    ``seal`` would; a batch computed before another sealer moved the chain is not written."""
    _make_events(api, 3)
    with db.read() as s:
        pending = s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.chain_seq.is_(None)))
    assert pending >= 10
    slept = []
    real_sleep = time.sleep
    monkeypatch.setattr(time, "sleep", lambda s: (slept.append(s), real_sleep(s)))
    # The server's duty thread pauses before each batch after the first (duties.DUTY_GAP_S).
    assert audit.seal_pending(db, KEY, batch=4, pause_s=0.001) == pending
    monkeypatch.undo()
    assert slept.count(0.001) == pending // 4
    with db.read() as s:
        assert audit.verify(s, KEY).as_dict() == {"ok": True, "sealed": pending, "unsealed": 0,
                                                  "first_bad_seq": None, "problem": None}
        batched = s.execute(select(AuditEvent.chain_seq, AuditEvent.chain_hash).order_by(AuditEvent.id)).all()
    # One transaction over the same events gives the same links (the chain does not depend on the batching).
    db.run_write(lambda s: s.execute(update(AuditEvent).values(chain_seq=None, chain_hash=None)))
    assert db.run_write(lambda s: audit.seal(s, KEY)) == pending
    with db.read() as s:
        assert s.execute(select(AuditEvent.chain_seq, AuditEvent.chain_hash).order_by(AuditEvent.id)).all() == batched

    _make_events(api, 1)
    with db.read() as s:
        head, links = audit._next_links(s, KEY, 2)
    db.run_write(lambda s: audit.seal(s, KEY))  # another sealer gets there first
    assert links and db.run_write(lambda s: audit._write_links(s, head, links)) == 0
    with db.read() as s:
        assert audit.verify(s, KEY).ok
