"""``onevisit devices …``: diagnostics for a hall's IT person (and for our checks).

Thin adapter: argument parsing and JSON printing only; the work lives in each device package.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Sequence

DEFAULT_URLS = {
    "idcard": os.environ.get("ONEVISIT_IDCARD_URL", "sim://"),
    "printer": os.environ.get("ONEVISIT_PRINTER_URL", "virtual://"),
    "scanner": os.environ.get("ONEVISIT_SCANNER_URL", "sim://"),
}


def add_parser(subparsers: "argparse._SubParsersAction") -> None:
    """Register ``devices`` and its sub-commands on the ``onevisit`` parser."""
    p = subparsers.add_parser("devices", help="device diagnostics (ID-card reader, printer, camera)")
    sub = p.add_subparsers(dest="devices_cmd", required=True)

    r = sub.add_parser("read-idcard", help="read one ID card and print it as JSON")
    r.add_argument("url", help="e.g. serial:///dev/ttyUSB0?baud=115200 or sim://")
    r.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for a card")
    r.add_argument("--reveal", action="store_true", help="print the full name and ID number (unmasked)")

    d = sub.add_parser("detect", help="find the document page in images; one JSON line per image")
    d.add_argument("images", nargs="+")

    t = sub.add_parser("print-test", help="print a sample ticket")
    t.add_argument("url", help="e.g. virtual://, escpos-net://10.0.0.5:9100")

    s = sub.add_parser("status", help="health of every configured device")
    s.add_argument("--idcard", default=DEFAULT_URLS["idcard"])
    s.add_argument("--printer", default=DEFAULT_URLS["printer"])
    s.add_argument("--scanner", default=DEFAULT_URLS["scanner"])
    p.set_defaults(func=run)


def _print(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def run(args: argparse.Namespace) -> int:
    """Execute one ``devices`` sub-command; return the process exit code."""
    if args.devices_cmd == "read-idcard":
        from devices.idcard.cli import read_idcard

        obj, code = read_idcard(args.url, timeout=args.timeout, reveal=args.reveal)
        _print(obj)
        return code
    if args.devices_cmd == "detect":
        from devices.scanner.cli import detect_images

        worst = 0
        for obj in detect_images(args.images):
            if "error" in obj:
                worst = 1
            _print(obj)
        return worst
    if args.devices_cmd == "print-test":
        from devices.printer.cli import print_test

        obj, code = print_test(args.url)
        _print(obj)
        return code
    if args.devices_cmd == "status":
        from devices.idcard import probe_health as idcard_health
        from devices.printer import probe_health as printer_health
        from devices.scanner import probe_health as scanner_health

        reports = [idcard_health(args.idcard), printer_health(args.printer), scanner_health(args.scanner)]
        _print({"devices": [h.as_dict() for h in reports]})
        return 0 if all(h.state == "online" for h in reports) else 1
    raise SystemExit(f"unknown devices command {args.devices_cmd!r}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the device commands directly: ``python -m devices.cli read-idcard sim://`` (``devices`` optional)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] != ["devices"]:
        argv = ["devices", *argv]
    parser = argparse.ArgumentParser(prog="onevisit")
    sub = parser.add_subparsers(dest="cmd", required=True)
    add_parser(sub)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
