"""``onevisit`` command line: init, demo, run, create-admin, devices. A thin adapter."""
from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from typing import Sequence

from . import config as config_mod


def _db():
    from .db import Database

    return Database(config_mod.from_env()["DATABASE_URL"])


def cmd_init(_args: argparse.Namespace) -> int:
    from .migrate import upgrade

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
    from .clock import SystemClock
    from .demo import issue_demo_tokens, load_demo_hall
    from .migrate import upgrade

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


def cmd_create_admin(args: argparse.Namespace) -> int:
    from .auth import create_staff
    from .migrate import upgrade

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
    from . import create_app
    from .duties import start_duties
    from .realtime import socketio

    if args.workers > 1:
        from .supervisor import supervise

        return supervise(host=args.host, port=args.port, workers=args.workers, instance=config_mod.instance_dir(),
                         access_log=args.access_log)
    app = create_app()
    app.extensions["onevisit"].start_publisher(socketio.start_background_task)
    if not args.no_duties:
        start_duties(app)
    base = f"http://{args.host}:{args.port}"
    print(f"OneVisit serving on {base}")
    print(f"  API:            {base}/api/v1/openapi.json")
    tokens_path = config_mod.instance_dir() / "demo-tokens.json"
    if tokens_path.exists():
        for line in demo_urls(app, base, json.loads(tokens_path.read_text())):
            print(line)
    sys.stdout.flush()
    socketio.run(app, host=args.host, port=args.port, allow_unsafe_werkzeug=True, use_reloader=False,
                 log_output=args.access_log)
    return 0


def cmd_duties(_args: argparse.Namespace) -> int:
    """Run the periodic duties alone (with gunicorn-served API processes)."""
    import time

    from . import create_app
    from .duties import POST_CHECK_EVERY_S, run_duty_round

    app = create_app()
    print("OneVisit duties running (A/B posts, long waits, reminders, audit sealing)", flush=True)
    while True:
        run_duty_round(app)
        time.sleep(POST_CHECK_EVERY_S)


def cmd_audit(args: argparse.Namespace) -> int:
    from . import audit
    from .migrate import upgrade

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


def demo_urls(app, base: str, tokens: dict) -> list[str]:
    """The pages of the demo hall, ready to open (tokens from ``onevisit demo``)."""
    from sqlalchemy import select

    from .models import Hall, Window
    from .runtime import runtime

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
