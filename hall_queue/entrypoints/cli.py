"""``onevisit`` command line: init, setup, device, demo, run, create-admin, audit, purge, keys, backup, restore,
install-service, devices. A thin adapter."""
from __future__ import annotations

import argparse
import getpass
import json
import os
import re
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
    if config_mod.from_env()["ENV"] == "production":
        # The demo creates published accounts (admin / onevisit-demo): never on a real hall's server.
        print("error: `onevisit demo` refuses to run with ONEVISIT_ENV=production: it creates the demo accounts "
              "whose password is published. Set up a real hall with `onevisit setup` and `onevisit device add`.",
              file=sys.stderr)
        return 2
    from hall_queue.domain.clock import SystemClock
    from hall_queue.entrypoints.demo.history import load_demo_history
    from hall_queue.entrypoints.demo.loader import issue_demo_tokens, load_demo_hall
    from hall_queue.infrastructure.migrate import upgrade

    upgrade(config_mod.from_env()["DATABASE_URL"])
    db = _db()
    now = SystemClock().now()

    def do(s):
        hall = load_demo_hall(s, now=now)
        s.flush()
        # 30 working days of past work, so the statistics and the floor view show something at once.
        return hall.id, hall.name, issue_demo_tokens(s, hall, now=now), load_demo_history(s, hall, now=now)

    hall_id, name, tokens, history = db.run_write(do)
    db.dispose()
    path = config_mod.instance_dir() / "demo-tokens.json"
    path.write_text(json.dumps({"hall_id": hall_id, **tokens}, indent=2))
    os.chmod(path, 0o600)
    print(f"demo hall {name} (id {hall_id}) loaded; device tokens written to {path}")
    if history:
        print(f"{history} tickets of the last 30 days added as history")
    print("staff logins: admin/manager/clerk01..clerk12, password: onevisit-demo")
    return 0


def _admin_password(args: argparse.Namespace) -> str:
    return args.password or os.environ.get("ONEVISIT_ADMIN_PASSWORD") or getpass.getpass("password: ")


def cmd_setup(args: argparse.Namespace) -> int:
    """Create a real hall: its catalogue (CSV/JSON or empty), windows and the first administrator."""
    from pathlib import Path

    from hall_queue.access.hall_setup import Catalogue, parse_queues, read_catalogue, setup_hall
    from hall_queue.domain.clock import SystemClock
    from hall_queue.domain.errors import DomainError

    from hall_queue.infrastructure.migrate import upgrade

    try:
        catalogue = Catalogue()
        if args.catalog:
            path = Path(args.catalog)
            catalogue = read_catalogue(path.read_bytes().decode("utf-8-sig"), json_file=path.suffix.lower() == ".json")
        if args.queues:
            catalogue.queues = {**catalogue.queues, **parse_queues(args.queues)}
        if not catalogue.queues:
            catalogue.queues = parse_queues("A:综合业务")
    except (OSError, UnicodeDecodeError, DomainError) as e:
        print(f"error: cannot read the catalogue: {e}", file=sys.stderr)
        return 2
    upgrade(config_mod.from_env()["DATABASE_URL"])
    password = _admin_password(args)
    db = _db()
    try:
        summary = db.run_write(lambda s: setup_hall(
            s, code=args.code, name=args.name, timezone=args.timezone, catalogue=catalogue, windows=args.windows,
            admin_username=args.admin, admin_password=password, admin_name=args.admin_name or "",
            now=SystemClock().now()))
    except (DomainError, ValueError) as e:
        print(f"error: nothing was created: {e}", file=sys.stderr)
        return 2
    finally:
        db.dispose()
    print(json.dumps(summary, ensure_ascii=False))
    print(f"next: register the hall's devices, e.g. `onevisit device add --hall {args.code} --role kiosk "
          f"--name 1号取号机`", file=sys.stderr)
    return 0


def _device_hall(s, ref: str):
    from sqlalchemy import select

    from hall_queue.domain.models import Hall

    hall = s.scalar(select(Hall).where(Hall.code == ref))
    if hall is None and ref.isdigit():
        hall = s.get(Hall, int(ref))
    if hall is None:
        raise LookupError(f"no hall {ref!r} (give its code or id)")
    return hall


def _device_line(d: dict) -> str:
    from hall_queue.access.device_registry import ROLE_NAMES

    where = f" window {d['window_number']}" if d["window_number"] else ""
    state = "active" if d["active"] else f"revoked {d['revoked_at']}"
    return f"{d['id']:>5}  {d['role']:<13} {ROLE_NAMES[d['role']]:<6} {d['name']}{where}  ({state})"


def cmd_device(args: argparse.Namespace) -> int:
    """Register, list, revoke and rotate a hall's devices; a token is printed once, when made."""
    from sqlalchemy import select

    from hall_queue.access import device_registry as D
    from hall_queue.access.audit import SYSTEM
    from hall_queue.domain.clock import SystemClock
    from hall_queue.domain.errors import DomainError

    from hall_queue.infrastructure.migrate import upgrade
    from hall_queue.domain.models import Window

    settings = config_mod.from_env()
    upgrade(settings["DATABASE_URL"])
    db = _db()
    now = SystemClock().now()
    try:
        if args.device_cmd == "list":
            with db.read() as s:
                devices = D.list_devices(s, _device_hall(s, args.hall))
            print(json.dumps(devices, ensure_ascii=False) if args.json else
                  "\n".join(_device_line(d) for d in devices) or "no devices registered")
            return 0
        if args.device_cmd == "add":
            def do(s):
                hall = _device_hall(s, args.hall)
                window_id = None
                if args.window is not None:
                    window_id = s.scalar(select(Window.id).where(Window.hall_id == hall.id,
                                                                  Window.number == args.window))
                    if window_id is None:
                        raise LookupError(f"no window {args.window} in hall {hall.code}")
                device, token = D.register_device(s, hall, role=args.role, name=args.name, window_id=window_id,
                                                  now=now, actor=SYSTEM)
                return hall.id, device, token
            hall_id, device, token = db.run_write(do)
        else:
            def change(s):
                row = D.get_device(s, args.device_id)
                if args.device_cmd == "revoke":
                    return row.hall_id, D.revoke_device(s, row, now=now, actor=SYSTEM), None
                return (row.hall_id, *D.rotate_device(s, row, now=now, actor=SYSTEM))
            hall_id, device, token = db.run_write(change)
    except (DomainError, LookupError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    finally:
        db.dispose()
    if args.json:
        print(json.dumps({"device": device, **({"token": token} if token else {})}, ensure_ascii=False))
        return 0
    print(_device_line(device))
    if token:
        print(f"token (shown this once; store it on the device now): {token}")
        base = config_mod.public_url(settings)
        page = {"hall_screen": f"/display/hall/{hall_id}", "window_screen": f"/display/window/{device['window_id']}",
                "pad": f"/admin/pad/{device['window_id']}"}.get(device["role"])
        if page:
            print(f"page: {base}{page}?token=<the token>")
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
    password = _admin_password(args)
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
    if args.workers > 1:
        from hall_queue.entrypoints.supervisor import supervise

        return supervise(host=args.host, port=args.port, workers=args.workers, instance=config_mod.instance_dir(),
                         access_log=args.access_log, dev=args.dev)
    base = f"http://{args.host}:{args.port}"
    if args.dev:
        return _run_dev(args, base)
    from hall_queue.entrypoints.server import serve

    print(f"OneVisit serving on {base}")
    print(f"  API:            {base}/api/v1/openapi.json")
    _print_demo_urls(base)
    if args.access_log:
        import logging

        logging.getLogger("gunicorn.access").addFilter(RedactTokens())
    # gunicorn forks its worker: the app, its publisher thread, duties and Redis watch start there.
    return serve(lambda: serving_app(duties=not args.no_duties, port=args.port), host=args.host, port=args.port,
                 access_log=args.access_log)


def serving_app(*, duties: bool = True, port: int | None = None):
    """Build the app of a serving process and start its background work: publisher, Redis watch, duties."""
    from hall_queue import create_app
    from hall_queue.entrypoints.duties import start_duties
    from hall_queue.entrypoints.socket_events import watch_message_queue
    from hall_queue.infrastructure.realtime import socketio

    _hold_server_lock()  # `onevisit restore` refuses while this process serves the database
    app = create_app()
    if not app.config.get("PUBLIC_BASE_URL"):
        # Development only (production refuses to start without ONEVISIT_PUBLIC_URL): links point at
        # this PC's server, never at whatever Host header a request carries (issue 13, finding 3).
        app.config["PUBLIC_BASE_URL"] = f"http://127.0.0.1:{port or 5000}"
    app.extensions["onevisit"].start_publisher(socketio.start_background_task)
    watch_message_queue(app)  # Redis outage: local delivery, then a snapshot resync when it returns
    if duties:
        from hall_queue.entrypoints.duties import recover_tickets

        try:  # after a crash: no ticket left "called" at a window that does not hold it (recovery.py)
            recover_tickets(app)
        except Exception as e:  # noqa: BLE001 - the database may be down; the duty round retries
            print(f"warning: stuck-ticket recovery at start-up failed: {type(e).__name__}", file=sys.stderr)
        start_duties(app)
    try:
        app.extensions["onevisit"].db.warm()  # the pools' connections opened before the first request
        app.extensions["onevisit"].db.start_checkpointer()  # SQLite: the WAL checkpointed outside the writer lock
    except Exception as e:  # noqa: BLE001 - the database may be down: requests open connections as they come
        print(f"warning: opening the database connections at start-up failed: {type(e).__name__}", file=sys.stderr)
    settle_heap()
    return app


# The cyclic GC's young-generation threshold of a serving process (CPython's default is 700 allocations).
GC_GEN0_THRESHOLD = 2_000


def settle_heap() -> None:
    """Freeze the start-up heap out of the cyclic GC's reach; collect the young generation less often.

    Why (issue 19): a full collection walked the whole heap the app holds from start-up (SQLAlchemy's
    mappings, NumPy/OpenCV, the catalogue caches): 185-193 ms of CPU (0.2-0.6 s wall on the loaded test machine)
    in the middle of the call cycle, every request thread stopped meanwhile — with the audit sealing, the cycle's
    p99 spikes. Frozen objects are never collected (they live as long as the process anyway). A request allocates
    thousands of containers that die by reference counting: with passes every 2,000 allocations instead of 700
    the GC's CPU over 1,600 call cycles fell from ≈ 140 to ≈ 90 ms, each pass at most 3 ms.
    """
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_GEN0_THRESHOLD, *gc.get_threshold()[1:])


def _print_demo_urls(base: str) -> None:
    tokens_path = config_mod.instance_dir() / "demo-tokens.json"
    # The demo's page addresses carry the screen token: printed in development only, never in
    # production, where start-up output ends up in the service's journal (issue 13, finding 11).
    if tokens_path.exists() and config_mod.from_env()["ENV"] != "production":
        db = _db()  # not an app: gunicorn's arbiter must not start what the worker starts after the fork
        try:
            for line in demo_urls(db, base, json.loads(tokens_path.read_text())):
                print(line)
        finally:
            db.dispose()
    sys.stdout.flush()


def _run_dev(args: argparse.Namespace, base: str) -> int:
    """``onevisit run --dev``: werkzeug's development server (one process, no fork), for development only."""
    from hall_queue.infrastructure.realtime import socketio

    app = serving_app(duties=not args.no_duties, port=args.port)
    print(f"OneVisit serving on {base} (development server: not for a hall)")
    print(f"  API:            {base}/api/v1/openapi.json")
    _print_demo_urls(base)
    if args.access_log:
        import logging

        logging.getLogger("werkzeug").addFilter(RedactTokens())
    else:
        # werkzeug logs every request at INFO whatever log_output says. Errors (WARNING and up) are still logged.
        import logging

        logging.getLogger("werkzeug").setLevel(logging.WARNING)
    socketio.run(app, host=args.host, port=args.port, allow_unsafe_werkzeug=True, use_reloader=False,
                 log_output=args.access_log)
    return 0


class RedactTokens:
    """A logging filter: ``token=…`` in a logged address becomes ``token=***`` (a screen page's address
    carries its token; the access log must not)."""

    PATTERN = re.compile(r"((?:^|[?&;\s])token=)[^&\s\"']+")

    def filter(self, record) -> bool:
        hide = lambda v: self.PATTERN.sub(r"\1***", v) if isinstance(v, str) else v  # noqa: E731
        record.msg = hide(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(hide(a) for a in record.args)
        elif isinstance(record.args, dict):  # gunicorn's access log: a format over named atoms
            record.args = {k: hide(v) for k, v in record.args.items()}
        return True


def _hold_server_lock() -> None:
    """Hold the database's server lock for this process's life: ``onevisit restore`` refuses meanwhile."""
    from hall_queue.infrastructure.backup import hold_server_lock

    hold_server_lock(config_mod.from_env()["DATABASE_URL"], config_mod.instance_dir())


def cmd_duties(_args: argparse.Namespace) -> int:
    """Run the periodic duties alone (with gunicorn-served API processes)."""
    import time

    from hall_queue import create_app
    from hall_queue.entrypoints.duties import POST_CHECK_EVERY_S, run_duty_round

    _hold_server_lock()
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


def cmd_backup(args: argparse.Namespace) -> int:
    """Take a backup now (audited), or ``--verify FILE``: restore it into a temporary copy and check it."""
    from pathlib import Path

    from hall_queue.domain.clock import SystemClock
    from hall_queue.infrastructure.backup import BackupError, verify

    settings = config_mod.from_env()
    try:
        if args.verify:
            summary = verify(Path(args.verify), url=settings["DATABASE_URL"])
            print(f"backup {args.verify} is sound:")
            print("\n".join("  " + line for line in summary.lines()))
            return 0
        from hall_queue.entrypoints.duties import take_audited_backup

        db = _db()
        try:
            result = take_audited_backup(db, settings, SystemClock().now(), dest=args.to, keep=args.keep)
        finally:
            db.dispose()
    except BackupError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"backup written: {result.path} ({result.size} bytes, sha256 {result.sha256})")
    print("\n".join("  " + line for line in result.summary.lines()))
    for p in result.pruned:
        print(f"  removed old backup {p.name}")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    """Restore a backup into this (stopped) instance; the database it replaces is kept beside it."""
    from pathlib import Path

    from hall_queue.domain.clock import SystemClock
    from hall_queue.infrastructure.backup import BackupError, restore

    settings = config_mod.from_env()
    now = SystemClock().now()
    try:
        summary = restore(Path(args.file), url=settings["DATABASE_URL"], instance=config_mod.instance_dir(), now=now)
    except BackupError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    from hall_queue.access import audit

    db = _db()
    try:
        db.run_write(lambda s: audit.record(s, actor=audit.SYSTEM, action="ops.restore", at=now, hall_id=None,
                                            file=Path(args.file).name, revision=summary.revision))
    finally:
        db.dispose()
    print(f"restored {args.file} into {_redact(settings['DATABASE_URL'])}:")
    print("\n".join("  " + line for line in summary.lines()))
    return 0


def cmd_install_service(args: argparse.Namespace) -> int:
    from pathlib import Path

    from hall_queue.entrypoints.services import write_units

    written, notes = write_units(args.kind, Path(args.dir) if args.dir else config_mod.instance_dir() / "systemd",
                                 user=args.user, url=args.url, host=args.host, port=args.port,
                                 env_file=Path(args.env_file) if args.env_file else None)
    for path in written:
        print(f"wrote {path}")
    for line in notes:
        print(line)
    return 0


def demo_urls(db, base: str, tokens: dict) -> list[str]:
    """The pages of the demo hall, ready to open (tokens from ``onevisit demo``)."""
    from sqlalchemy import select

    from hall_queue.domain.models import Hall, Window

    hall_id, screen = tokens["hall_id"], tokens["screen"]
    with db.read() as s:
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
    sub.add_parser("demo", help="load the demo hall and print device tokens (refused in production)").set_defaults(
        func=cmd_demo)
    st = sub.add_parser("setup", help="set up a real hall: catalogue (CSV/JSON or empty), windows, first admin")
    st.add_argument("--code", required=True, help="hall code: lower-case letters, digits, '-' (e.g. city-hall)")
    st.add_argument("--name", required=True, help="hall name, e.g. 某某市政务服务中心")
    st.add_argument("--timezone", default="Asia/Shanghai")
    st.add_argument("--catalog", help="item catalogue: the configuration page's items CSV, or a JSON file")
    st.add_argument("--queues", help="queues as PREFIX:名称,… (default: the CSV's prefixes, else A:综合业务)")
    st.add_argument("--windows", type=int, default=0, help="number of general windows serving every queue")
    st.add_argument("--admin", required=True, help="the first administrator's username")
    st.add_argument("--admin-name", help="display name")
    st.add_argument("--password", help="(or ONEVISIT_ADMIN_PASSWORD, or asked)")
    st.set_defaults(func=cmd_setup)
    dv = sub.add_parser("device", help="register, list, revoke, rotate a hall's kiosks, screens and rating pads")
    dv_sub = dv.add_subparsers(dest="device_cmd", required=True)
    da = dv_sub.add_parser("add", help="register a device and print its token once")
    da.add_argument("--hall", required=True, help="hall code or id")
    da.add_argument("--role", required=True, choices=("kiosk", "hall_screen", "window_screen", "pad"))
    da.add_argument("--name", required=True, help="e.g. 1号取号机")
    da.add_argument("--window", type=int, help="window number (window_screen and pad)")
    dl = dv_sub.add_parser("list", help="list the hall's devices (never their tokens)")
    dl.add_argument("--hall", required=True, help="hall code or id")
    for name, text in (("revoke", "take a device out of service: its token is refused from now on"),
                       ("rotate", "give a device a new token (printed once); the old one is refused")):
        dc = dv_sub.add_parser(name, help=text)
        dc.add_argument("device_id", type=int)
    for p in (da, dl, *[dv_sub.choices[n] for n in ("revoke", "rotate")]):
        p.add_argument("--json", action="store_true", help="answer as JSON")
    dv.set_defaults(func=cmd_device)
    sub.add_parser("demo-cases", help="add demo cases (办件) in every state to the demo hall").set_defaults(
        func=cmd_demo_cases)
    r = sub.add_parser("run", help="serve the API, pages and live events")
    r.add_argument("--host", default=os.environ.get("ONEVISIT_HOST", "127.0.0.1"))
    r.add_argument("--port", type=int, default=int(os.environ.get("ONEVISIT_PORT", "5000")))
    r.add_argument("--access-log", action="store_true", help="log every request")
    r.add_argument("--workers", type=int, default=int(os.environ.get("ONEVISIT_WORKERS", "1")),
                   help="server processes on consecutive ports (needs SOCKETIO_MESSAGE_QUEUE when > 1)")
    r.add_argument("--no-duties", action="store_true", help="leave the periodic duties to another process")
    r.add_argument("--dev", action="store_true",
                   help="werkzeug's development server instead of gunicorn (development only, not for a hall)")
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
    b = sub.add_parser("backup", help="back the database up now (the server also takes one nightly)")
    b.add_argument("--to", help="directory (default ONEVISIT_BACKUP_DIR or <instance>/backups)")
    b.add_argument("--keep", type=int, help="keep the newest N backups there (default ONEVISIT_BACKUP_KEEP or 14)")
    b.add_argument("--verify", metavar="FILE", help="restore FILE into a temporary copy and check it instead")
    b.set_defaults(func=cmd_backup)
    rs = sub.add_parser("restore", help="replace the database of this stopped instance with a backup")
    rs.add_argument("file")
    rs.set_defaults(func=cmd_restore)
    isv = sub.add_parser("install-service", help="write systemd units that start OneVisit on boot")
    isv.add_argument("kind", choices=("server", "kiosk", "duties"))
    isv.add_argument("--dir", help="where to write the files (default <instance>/systemd; copy them to /etc)")
    isv.add_argument("--user", default=os.environ.get("USER") or "onevisit", help="account the service runs as")
    isv.add_argument("--env-file", help="environment file the units read (default /etc/onevisit/<kind>.env)")
    isv.add_argument("--url", help="kiosk: the touch page chromium opens (default http://127.0.0.1:5100/kiosk/)")
    isv.add_argument("--host", default=os.environ.get("ONEVISIT_HOST", "127.0.0.1"))
    isv.add_argument("--port", type=int, default=int(os.environ.get("ONEVISIT_PORT", "5000")))
    isv.set_defaults(func=cmd_install_service)
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
