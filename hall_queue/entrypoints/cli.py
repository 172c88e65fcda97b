"""``onevisit`` command line: init, demo, run, create-admin, audit, purge, keys, devices. A thin adapter."""
from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections.abc import Sequence

from hall_queue import config as config_mod


def _db():
    from hall_queue.infrastructure.db import Database

    return Database(config_mod.from_env()["DATABASE_URL"])


def cmd_init(_args: argparse.Namespace) -> int:
    from hall_queue.infrastructure.migrate import upgrade

    url = config_mod.from_env()["DATABASE_URL"]
    upgrade(url)
    print(f"database ready: {_redact(url)}")
    return 0


def _redact(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


def cmd_demo(args: argparse.Namespace) -> int:
    from hall_queue.domain.clock import SystemClock
    from hall_queue.entrypoints.demo.loader import issue_demo_tokens, load_demo_hall
    from hall_queue.infrastructure.migrate import upgrade

    upgrade(config_mod.from_env()["DATABASE_URL"])
    db = _db()
    now = SystemClock().now()

    def do(s):
        hall = load_demo_hall(s, now=now)
        return hall.id, hall.name, issue_demo_tokens(s, hall, now=now)

    hall_id, name, tokens = db.run_write(do)
    db.dispose()
    path = config_mod.instance_dir() / "demo-tokens.json"
    path.write_text(json.dumps({"hall_id": hall_id, **tokens}, indent=2))
    os.chmod(path, 0o600)
    print(f"demo hall {name} (id {hall_id}) loaded; device tokens written to {path}")
    print("staff logins: admin/manager/clerk01..clerk12, password: onevisit-demo")
    return 0


def cmd_demo_cases(args: argparse.Namespace) -> int:
    """Add the demo cases (办件 in every state, on earlier days) to the demo hall (``make demo`` runs it)."""
    from hall_queue.access.identity import IdentityVault
    from hall_queue.domain.clock import SystemClock
    from hall_queue.domain.models import Hall
    from hall_queue.entrypoints.demo.cases import load_demo_cases
    from hall_queue.entrypoints.demo.loader import DEMO_HALL_CODE
    from sqlalchemy import select

    vault = IdentityVault.from_settings(config_mod.from_env())
    db = _db()
    now = SystemClock().now()

    def do(s):
        hall = s.scalar(select(Hall).where(Hall.code == DEMO_HALL_CODE))
        return None if hall is None else load_demo_cases(s, hall, now=now, vault=vault)

    made = db.run_write(do)
    db.dispose()
    if made is None:
        print("error: no demo hall; run `onevisit demo` first", file=sys.stderr)
        return 2
    print(f"{made} demo cases added" if made else "the demo hall already has cases")
    return 0


def cmd_create_admin(args: argparse.Namespace) -> int:
    from hall_queue.access.auth import create_staff
    from hall_queue.infrastructure.migrate import upgrade

    upgrade(config_mod.from_env()["DATABASE_URL"])
    password = args.password or os.environ.get("ONEVISIT_ADMIN_PASSWORD") or getpass.getpass("password: ")
    db = _db()
    try:
        db.run_write(lambda s: create_staff(s, username=args.username, password=password, role="admin",
                                            display_name=args.name or args.username, hall_id=None))
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except Exception as e:  # noqa: BLE001 - e.g. the username exists
        print(f"error: cannot create {args.username!r}: {type(e).__name__}", file=sys.stderr)
        return 2
    finally:
        db.dispose()
    print(f"admin {args.username!r} created")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from hall_queue import create_app
    from hall_queue.entrypoints.duties import start_duties
    from hall_queue.infrastructure.realtime import socketio

    if args.workers > 1:
        from hall_queue.entrypoints.supervisor import supervise

        return supervise(host=args.host, port=args.port, workers=args.workers, instance=config_mod.instance_dir(),
                         access_log=args.access_log)
    app = create_app()
    app.extensions["onevisit"].start_publisher(socketio.start_background_task)
    from hall_queue.entrypoints.socket_events import watch_message_queue

    watch_message_queue(app)  # Redis outage: local delivery, then a snapshot resync when it returns
    if not args.no_duties:
        from hall_queue.entrypoints.duties import recover_tickets

        try:  # after a crash: no ticket left "called" at a window that does not hold it (recovery.py)
            recover_tickets(app)
        except Exception as e:  # noqa: BLE001 - the database may be down; the duty round retries
            print(f"warning: stuck-ticket recovery at start-up failed: {type(e).__name__}", file=sys.stderr)
        start_duties(app)
    base = f"http://{args.host}:{args.port}"
    print(f"OneVisit serving on {base}")
    print(f"  API:            {base}/api/v1/openapi.json")
    tokens_path = config_mod.instance_dir() / "demo-tokens.json"
    if tokens_path.exists():
        for line in demo_urls(app, base, json.loads(tokens_path.read_text())):
            print(line)
    sys.stdout.flush()
    if not args.access_log:
        # werkzeug logs every request at INFO whatever log_output says; formatting and writing that
        # line cost ≈ 5 % of a busy server's time. Errors (WARNING and up) are still logged.
        import logging

        logging.getLogger("werkzeug").setLevel(logging.WARNING)
    socketio.run(app, host=args.host, port=args.port, allow_unsafe_werkzeug=True, use_reloader=False,
                 log_output=args.access_log)
    return 0


def cmd_duties(_args: argparse.Namespace) -> int:
    """Run the periodic duties alone (with gunicorn-served API processes)."""
    import time

    from hall_queue import create_app
    from hall_queue.entrypoints.duties import POST_CHECK_EVERY_S, run_duty_round

    app = create_app()
    print("OneVisit duties running (A/B posts, long waits, reminders, audit sealing)", flush=True)
    while True:
        run_duty_round(app)
        time.sleep(POST_CHECK_EVERY_S)


def cmd_audit(args: argparse.Namespace) -> int:
    from hall_queue.access import audit
    from hall_queue.infrastructure.migrate import upgrade

    settings = config_mod.from_env()
    upgrade(settings["DATABASE_URL"])
    db = _db()
    key = audit.chain_key(settings["DATA_KEY"])
    try:
        if args.audit_cmd == "seal":
            print(json.dumps({"sealed": db.run_write(lambda s: audit.seal(s, key, limit=10**9))}))
            return 0
        with db.read() as s:
            report = audit.verify(s, key)
        print(json.dumps(report.as_dict()))
        return 0 if report.ok else 1
    finally:
        db.dispose()


def cmd_purge(args: argparse.Namespace) -> int:
    """Erase personal data and scanned pages older than the retention period (the server does it hourly)."""
    from hall_queue.domain.clock import SystemClock
    from hall_queue.infrastructure.migrate import upgrade
    from hall_queue.access.retention import purge_all, retention_days

    upgrade(config_mod.from_env()["DATABASE_URL"])
    try:
        days = args.days if args.days is not None else retention_days()
        if days < 1:
            raise ValueError("--days must be at least 1")
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    db = _db()
    try:
        report = purge_all(db.run_write, SystemClock().now(), days=days, dry_run=args.dry_run)
    finally:
        db.dispose()
    print(json.dumps({"dry_run": args.dry_run, "days": days, **report.as_dict()}, ensure_ascii=False))
    return 0


def cmd_keys(args: argparse.Namespace) -> int:
    """Rotate the data key: new key in ONEVISIT_DATA_KEY, the old one in the variable named by --old-key-env."""
    from hall_queue.access.keys import RotationError, rotate
    from hall_queue.infrastructure.migrate import upgrade

    settings = config_mod.from_env()
    old = os.environ.get(args.old_key_env, "")
    if not old:
        print(f"error: set the old key in {args.old_key_env}", file=sys.stderr)
        return 2
    upgrade(settings["DATABASE_URL"])
    db = _db()
    try:
        report = rotate(db.run_write, new_secret=settings["DATA_KEY"], old_secret=old, batch=args.batch,
                        progress=lambda line: print(line, file=sys.stderr))
    except RotationError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    finally:
        db.dispose()
    print(json.dumps(report.as_dict()))
    return 1 if report.undecryptable else 0


def demo_urls(app, base: str, tokens: dict) -> list[str]:
    """The pages of the demo hall, ready to open (tokens from ``onevisit demo``)."""
    from sqlalchemy import select

    from hall_queue.domain.models import Hall, Window
    from hall_queue.bootstrap import runtime

    hall_id, screen = tokens["hall_id"], tokens["screen"]
    with runtime(app).db.read() as s:
        hall = s.get(Hall, hall_id)
        first = s.scalar(select(Window).where(Window.hall_id == hall_id).order_by(Window.number).limit(1))
    if hall is None:
        return []
    lines = [f"  kiosk:          {base}/kiosk/",
             f"  hall screen:    {base}/display/hall/{hall_id}?token={screen}"]
    if first is not None:
        lines.append(f"  window screen:  {base}/display/window/{first.id}?token={screen}&layout=wide")
    lines += [f"  staff login:    {base}/admin/login   (manager / clerk01 … clerk12 / admin, password onevisit-demo)",
              f"  booking:        {base}/book/{hall_id}",
              f"  complaints:     {base}/complaints/new?hall={hall.code}"]
    return lines


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="onevisit", description="OneVisit queue server for government service halls")
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("init", help="create or migrate the database").set_defaults(func=cmd_init)
    sub.add_parser("demo", help="load the demo hall and print device tokens").set_defaults(func=cmd_demo)
    sub.add_parser("demo-cases", help="add demo cases (办件) in every state to the demo hall").set_defaults(
        func=cmd_demo_cases)
    r = sub.add_parser("run", help="serve the API, pages and live events")
    r.add_argument("--host", default=os.environ.get("ONEVISIT_HOST", "127.0.0.1"))
    r.add_argument("--port", type=int, default=int(os.environ.get("ONEVISIT_PORT", "5000")))
    r.add_argument("--access-log", action="store_true", help="log every request")
    r.add_argument("--workers", type=int, default=int(os.environ.get("ONEVISIT_WORKERS", "1")),
                   help="server processes on consecutive ports (needs SOCKETIO_MESSAGE_QUEUE when > 1)")
    r.add_argument("--no-duties", action="store_true", help="leave the periodic duties to another process")
    r.set_defaults(func=cmd_run)
    a = sub.add_parser("create-admin", help="create the first administrator")
    a.add_argument("username")
    a.add_argument("--name", help="display name")
    a.add_argument("--password", help="(or ONEVISIT_ADMIN_PASSWORD, or asked)")
    a.set_defaults(func=cmd_create_admin)
    sub.add_parser("duties", help="run only the periodic duties (when gunicorn serves the API)").set_defaults(
        func=cmd_duties)
    au = sub.add_parser("audit", help="the tamper-evident audit log")
    au_sub = au.add_subparsers(dest="audit_cmd", required=True)
    au_sub.add_parser("verify", help="check the hash chain; exit 1 at the first broken link")
    au_sub.add_parser("seal", help="link every unsealed event now (the server does it every 5 s)")
    au.set_defaults(func=cmd_audit)
    pu = sub.add_parser("purge", help="erase personal data and scanned pages past the retention period")
    pu.add_argument("--dry-run", action="store_true", help="only count what would be erased")
    pu.add_argument("--days", type=int, help="retention in days (default ONEVISIT_RETENTION_DAYS or 180)")
    pu.set_defaults(func=cmd_purge)
    ke = sub.add_parser("keys", help="data-key management")
    ke_sub = ke.add_subparsers(dest="keys_cmd", required=True)
    kr = ke_sub.add_parser("rotate", help="re-encrypt personal data and re-key hashes under ONEVISIT_DATA_KEY")
    kr.add_argument("--old-key-env", default="ONEVISIT_DATA_KEY_PREVIOUS",
                    help="environment variable holding the old key (default ONEVISIT_DATA_KEY_PREVIOUS)")
    kr.add_argument("--batch", type=int, default=500, help="rows per transaction")
    ke.set_defaults(func=cmd_keys)
    from devices.cli import add_parser as add_devices

    add_devices(sub)
    from kiosk.cli import add_parser as add_kiosk

    add_kiosk(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except config_mod.InsecureConfig as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
