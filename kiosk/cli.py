"""``onevisit kiosk``: run the kiosk agent and touch pages on a kiosk PC. A thin adapter."""
from __future__ import annotations

import argparse
import os
import sys


def add_parser(subparsers: "argparse._SubParsersAction") -> None:
    """Register ``kiosk`` on the ``onevisit`` parser."""
    env = os.environ.get
    k = subparsers.add_parser("kiosk", help="run the kiosk agent (devices + touch pages) on a kiosk PC")
    k.add_argument("--server", default=env("ONEVISIT_SERVER"), help="queue server URL, e.g. https://hall.example.gov.cn")
    k.add_argument("--token", default=env("ONEVISIT_KIOSK_TOKEN"), help="this kiosk's device token (or ONEVISIT_KIOSK_TOKEN)")
    k.add_argument("--idcard", default=env("ONEVISIT_KIOSK_IDCARD", "sim://"), help="ID-card reader URL, e.g. serial:///dev/ttyUSB0")
    k.add_argument("--printer", default=env("ONEVISIT_KIOSK_PRINTER", "virtual://"), help="printer URL, e.g. escpos-usb://0416:5011")
    k.add_argument("--scanner", default=env("ONEVISIT_KIOSK_SCANNER", "sim://"), help="document camera URL, e.g. camera://0")
    k.add_argument("--public-url", default=env("ONEVISIT_PUBLIC_URL", ""), help="base of QR links phones open (default: --server)")
    k.add_argument("--idle", type=float, default=float(env("ONEVISIT_KIOSK_IDLE_S", "60")), help="seconds before the screen resets")
    k.add_argument("--retry", type=float, default=float(env("ONEVISIT_KIOSK_RETRY_S", "3")), help="seconds between retries while the server is away")
    k.add_argument("--name", default=env("ONEVISIT_KIOSK_NAME", ""), help="name shown in alerts")
    k.add_argument("--host", default="127.0.0.1")
    k.add_argument("--port", type=int, default=5100)
    k.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from .agent import AgentConfig
    from .standalone import create_kiosk_app

    if not args.server or not args.token:
        print("error: --server and --token are required (or ONEVISIT_SERVER / ONEVISIT_KIOSK_TOKEN)", file=sys.stderr)
        return 2
    none = lambda v: v or None  # noqa: E731 - "" switches a device off
    config = AgentConfig(idcard_url=none(args.idcard), printer_url=none(args.printer), scanner_url=none(args.scanner),
                         idle_s=args.idle, retry_s=args.retry, public_url=args.public_url, name=args.name)
    try:
        app = create_kiosk_app(server=args.server, token=args.token, config=config, port=args.port,
                               addresses=os.environ.get("ONEVISIT_KIOSK_ADDRESSES"))
    except ValueError as e:  # a bad ONEVISIT_KIOSK_ADDRESSES
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"kiosk agent on http://{args.host}:{args.port}/kiosk/ -> {args.server}")
    sys.stdout.flush()
    app.run(host=args.host, port=args.port, threaded=True, use_reloader=False)
    return 0
