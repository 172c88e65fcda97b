"""Background duties of a running server: A/B post and long-wait checks, stuck-ticket recovery, every few seconds."""
from __future__ import annotations

import logging
import time

from flask import Flask
from sqlalchemy import select

from hall_queue.access import retention
from hall_queue.appointments.sweep import SweepResult, sweep
from hall_queue.queueing.long_waits import check_long_waits
from hall_queue.floor.service_levels import check_service_levels
from hall_queue.domain.models import Hall
from hall_queue.queueing.posts import check_posts
from hall_queue.bootstrap import runtime

log = logging.getLogger("onevisit.duties")
POST_CHECK_EVERY_S = 5.0
# The duty thread's pause between two duties, and between two batches of audit links (``audit.seal_pending``), in
# the server: a round's CPU (≈ 120 ms in a rush of 300 下一位/s, most of it sealing) taken in one stretch slowed
# every request of those moments by its share of the GIL — the p99 of issues and calls (issue 19). Spread out in
# pieces of a few milliseconds it costs each request little. Not in ``run_duty_round`` called alone (tests, CLI).
DUTY_GAP_S = 0.01
DUTY_SEAL_BATCH = 100  # audit links per write between two such pauses (50 cost half as much CPU again in round trips)


def run_post_checks(app: Flask) -> int:
    """Run one round of post checks over every hall; return the number of events published."""
    rt = runtime(app)

    def do(s):
        events = []
        # check_posts takes each hall's post lock until commit: in hall order, so two rounds never deadlock.
        for hall in s.scalars(select(Hall).order_by(Hall.id)).all():
            events += check_posts(s, hall, now=rt.clock.now())
            events += check_long_waits(s, hall, now=rt.clock.now())
            events += check_service_levels(s, hall, now=rt.clock.now())
        return events

    events = rt.db.run_write(do)
    rt.publish(events)
    return len(events)


def recover_tickets(app: Flask) -> int:
    """Put tickets stuck "called" at a window that no longer holds them back in their queue (recovery.py)."""
    from hall_queue.queueing.recovery import find_stuck, recover_stuck_tickets

    rt = runtime(app)
    with rt.db.read() as s:  # almost always none: no write transaction (SQLite: no writer lock) every round
        if not find_stuck(s):
            return 0
    events = rt.db.run_write(lambda s: recover_stuck_tickets(s, now=rt.clock.now()))
    rt.publish(events)
    return len(events)


def seal_audit(app: Flask, *, pause_s: float = 0.0) -> int:
    """Link new audit events onto the tamper-evident chain (``onevisit audit verify`` checks it)."""
    from hall_queue.access import audit

    # With pauses, in smaller batches: each holds the GIL a few milliseconds at most (a batch of 200 took 10-20 ms).
    batch = DUTY_SEAL_BATCH if pause_s else audit.SEAL_BATCH
    return audit.seal_pending(runtime(app).db, audit.chain_key(app.config["DATA_KEY"]), batch=batch, pause_s=pause_s)


def run_case_duties(app: Flask) -> int:
    """Cases (办件): due-soon / overdue and 容缺 alerts and reminders, then the approval system's webhooks."""
    from hall_queue.cases.duties import check_cases
    from hall_queue.cases.webhooks import deliver_due
    from hall_queue.infrastructure.sms import notifier_for

    rt = runtime(app)
    notifier = notifier_for(app)
    now = rt.clock.now()

    def do(s):
        events = []
        for hall in s.scalars(select(Hall)).all():
            events += check_cases(s, hall, now=now, notifier=notifier)
        return events

    events = rt.db.run_write(do)
    rt.publish(events)
    report = deliver_due(rt.db, rt.vault, now=now)
    rt.publish(report.events)  # the outbox gave up on an event: the floor's alert
    return len(events) + len(report.events)


def sweep_appointments(app: Flask) -> SweepResult:
    """Sweep every hall's bookings (no-shows, reminders), publish after commit, then deliver due messages."""
    from hall_queue.infrastructure.sms import notifier_for

    rt = runtime(app)
    notifier = notifier_for(app)
    now = rt.clock.now()

    def do(s) -> SweepResult:
        total = SweepResult()
        for hall in s.scalars(select(Hall).order_by(Hall.id)).all():
            r = sweep(s, hall, now=now, notifier=notifier)
            total.reminders += r.reminders
            total.no_shows += r.no_shows
            total.settled += r.settled
            total.events += r.events
        return total

    result = rt.db.run_write(do)
    rt.publish(result.events)
    notifier.deliver_pending(rt.db, now=now)
    return result


# The duty loop runs every few seconds; the purge's table scans need to run only now and then.
PURGE_EVERY_S = 3600.0
_last_purge: dict[int, float] = {}


def purge_personal_data(app: Flask) -> int:
    """Purge expired personal data and pages once an hour per app; a failure is logged, never raised."""
    key = id(app)
    if time.monotonic() - _last_purge.get(key, -PURGE_EVERY_S) < PURGE_EVERY_S:
        return 0
    _last_purge[key] = time.monotonic()
    try:
        rt = runtime(app)
        report = rt.db.run_write(lambda s: retention.purge_expired(s, rt.clock.now(), days=retention.retention_days()))
    except Exception:
        log.exception("retention purge failed")
        return 0
    if report.total:
        log.info("retention purge erased %d records older than %s", report.total, report.cutoff.isoformat())
    if max(report.pages, report.tickets, report.appointments, report.complaints, report.notifications,
           report.login_attempts) >= retention.BATCH:
        _last_purge.pop(key, None)  # a backlog: take the next batch on the next round
    return report.total


def run_feedback_duties(app: Flask) -> int:
    """好差评: the day's call-back sample (002 §11.2.3; once per hall and local day), then the province uploads."""
    from hall_queue.domain import calendar
    from hall_queue.feedback import callbacks, provincial

    rt = runtime(app)
    now = rt.clock.now()
    done = app.extensions.setdefault("onevisit.callbacks_sampled", set())

    def do(s):
        added = 0
        for hall in s.scalars(select(Hall)).all():
            key = (hall.id, calendar.local_time(hall, now).date())
            if key not in done:
                added += len(callbacks.sample_callbacks(s, hall, now=now))
                done.add(key)
        return added

    added = rt.db.run_write(do)
    provincial.deliver_due(rt.db, rt.vault, now=now)
    return added


def run_duty_round(app: Flask, *, gap_s: float = 0.0) -> None:
    """Run every periodic duty once; a failing duty is logged and does not stop the others.

    ``gap_s``: sleep this long between two duties (and between two batches of audit links), see ``DUTY_GAP_S``."""
    duties = (  # (run it, what is logged when it fails), in this order
        # PostgreSQL: statistics of a young hot table (see Database.refresh_statistics)
        (lambda: runtime(app).db.refresh_statistics(), "refreshing the database's statistics failed"),
        (lambda: seal_audit(app, pause_s=gap_s), "audit sealing failed"),
        (lambda: recover_tickets(app), "stuck-ticket recovery failed"),
        (lambda: run_post_checks(app), "post check failed"),
        # cases: alerts, 容缺 reminders (000 §9.3.6), webhooks (before the SMS outbox goes out below)
        (lambda: run_case_duties(app), "case duties failed"),
        # 好差评: call-back sample and the provincial platform's uploads
        (lambda: run_feedback_duties(app), "feedback duties failed"),
        # appointments: no-shows and reminders (000 §8.2.4), then the SMS outbox
        (lambda: sweep_appointments(app), "appointment sweep failed"),
        # hourly purge of expired personal data and pages (logs its own failures)
        (lambda: purge_personal_data(app), "retention purge failed"),
        (lambda: nightly_backup(app), "nightly backup failed"),
    )
    for i, (duty, failure) in enumerate(duties):
        if i > 1 and gap_s:  # after the sealing, which pauses on its own between its batches
            time.sleep(gap_s)
        try:
            duty()
        except Exception:  # keep the duties alive through a database hiccup
            log.exception(failure)


BACKUP_RETRY_S = 600.0
# A backup missed while the server was off is taken this long after the duties start (not in the
# rush of a morning start-up, and never during a short test or benchmark run).
BACKUP_START_DELAY_S = 600.0


def take_audited_backup(db, settings: dict, now, *, dest: str | None = None, keep: int | None = None):
    """Take one backup (``infrastructure.backup``) and record it, or its failure, in the audit log (004 §8.4)."""
    from pathlib import Path

    from hall_queue.access import audit
    from hall_queue.infrastructure import backup

    try:
        result = backup.take_backup(settings["DATABASE_URL"], Path(dest or settings["BACKUP_DIR"]), now=now,
                                    keep=settings["BACKUP_KEEP"] if keep is None else keep)
    except Exception as e:
        reason = str(e)[:300] if isinstance(e, backup.BackupError) else type(e).__name__
        if isinstance(e, backup.NoDatabase):
            raise
        try:
            db.run_write(lambda s: audit.record(s, actor=audit.SYSTEM, action="ops.backup_failed", at=now,
                                                hall_id=None, reason=reason))
        except Exception as audit_error:  # noqa: BLE001 - the database itself may be what failed
            log.warning("could not record the failed backup in the audit log: %s", type(audit_error).__name__)
        raise
    db.run_write(lambda s: audit.record(s, actor=audit.SYSTEM, action="ops.backup", at=now, hall_id=None,
                                        file=result.path.name, bytes=result.size, sha256=result.sha256,
                                        revision=result.summary.revision, pruned=[p.name for p in result.pruned]))
    return result


def nightly_backup(app: Flask) -> bool:
    """Take the nightly backup when it is due (``ONEVISIT_BACKUP_AT``, local time in ``ONEVISIT_BACKUP_TZ``).

    A server that was off at that time takes it ``BACKUP_START_DELAY_S`` after it starts. A failure is
    audited and retried after ``BACKUP_RETRY_S``, not every round.
    """
    from pathlib import Path

    from hall_queue.infrastructure.backup import nightly_due

    rt, cfg = runtime(app), app.config
    now = rt.clock.now()
    started = app.extensions.setdefault("onevisit.duties_started_at", now)
    if (now - started).total_seconds() < BACKUP_START_DELAY_S:
        return False
    failed_at = app.extensions.get("onevisit.backup_failed_at")
    if failed_at is not None and (now - failed_at).total_seconds() < BACKUP_RETRY_S:
        return False
    try:
        if not nightly_due(Path(cfg["BACKUP_DIR"]), now, cfg["BACKUP_AT"], cfg["BACKUP_TZ"]):
            return False
        result = take_audited_backup(rt.db, cfg, now)
    except Exception:
        app.extensions["onevisit.backup_failed_at"] = now
        raise
    app.extensions.pop("onevisit.backup_failed_at", None)
    log.info("nightly backup written: %s (%d bytes)", result.path, result.size)
    return True


# The duty thread's name as the kernel shows it (``top -H``, ``/proc/<pid>/task/*/comm``; at most 15 bytes):
# ``bench.http_bench`` tells the periodic duties' CPU apart from the requests' by it.
DUTIES_THREAD = "onevisit-duties"


def name_this_thread(name: str) -> None:
    """Give the calling thread its kernel name (Linux ``PR_SET_NAME``); elsewhere, or if refused, nothing.

    Not on the main thread (a green thread of gevent runs there): that would rename the process itself.
    """
    import ctypes
    import sys
    import threading

    if sys.platform.startswith("linux") and threading.current_thread() is not threading.main_thread():
        try:
            ctypes.CDLL(None, use_errno=True).prctl(15, name.encode()[:15], 0, 0, 0)  # PR_SET_NAME
        except (OSError, AttributeError):
            pass


def start_duties(app: Flask) -> None:
    from hall_queue.infrastructure.realtime import socketio

    def loop() -> None:
        name_this_thread(DUTIES_THREAD)
        while True:
            time.sleep(POST_CHECK_EVERY_S)
            run_duty_round(app, gap_s=DUTY_GAP_S)

    socketio.start_background_task(loop)
