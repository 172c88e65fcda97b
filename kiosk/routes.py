"""Kiosk area of the queue server: public pages a visitor's phone opens, and the in-process demo agent.

* ``/t/<follow_code>`` — follow my ticket (the QR on the slip): live position and estimated wait.
* ``/r/<follow_code>`` — rate the service once the ticket is finished (好差评 from the phone), and answer
  whether the hall's reply to a bad rating satisfies (a "no" re-opens the rectification).
* ``/c/<lookup_code>`` — the progress of my case (办件, the QR on the receipt; 000 §8.5, 002 §7.5).
* ``/guide/<hall_id>/<item_id>`` and ``/guide/<hall_id>/bundle/<bundle_id>`` — the service guide
  with the one-time notice of materials (000 §6.9, 003 §3.8), readable on a phone.
* ``/kiosk/`` — the touch pages and their agent API (``kiosk.pages``), registered by ``init_app``;
  in development the agent runs in this process with simulated devices and the demo kiosk token. In
  production it exists only when ``ONEVISIT_INPROCESS_AGENT=1`` (a single-PC hall), answers only the
  kiosk's own address with a per-boot key (kiosk/guard.py), and has no ``sim/*`` drills.
"""
from __future__ import annotations

import atexit
import json
import logging
import os
import threading
from pathlib import Path

from flask import Blueprint, Flask, abort, render_template
from sqlalchemy import select

from hall_queue import config as config_mod
from hall_queue.catalog.materials import bundle_materials
from hall_queue.domain.models import Bundle, Hall, ServiceItem, Ticket
from hall_queue.domain.vocabulary import BAD_RATING_MAX, MATERIAL_FORM_LABELS, NEAR_TURN_AHEAD
from hall_queue.bootstrap import runtime

from . import pages
from .agent import AgentConfig, AgentError, KioskAgent
from .guard import in_process_guard
from .upstream import InProcessUpstream

log = logging.getLogger("onevisit.kiosk")
bp = Blueprint("kiosk", __name__, template_folder="templates")

# The phone rating page (好差评 by the visitor, ``rating_page`` below), linked from the follow page.
RATE_PATH = "/r/{code}"

FORMS = MATERIAL_FORM_LABELS


def _slip_page(code: str, template: str, **extra):
    """Render a page of the slip's QR code for a phone; a code matching no ticket is a plain 404."""
    if not (1 <= len(code) <= 64):
        abort(404)
    with runtime().db.read() as s:
        ticket = s.scalar(select(Ticket).where(Ticket.follow_code == code))
        if ticket is None:
            abort(404)
        hall = s.get(Hall, ticket.hall_id)
        return render_template(template, code=code, number=ticket.number, hall_name=hall.name,
                               address=hall.address, **extra)


@bp.get("/t/<code>")
def follow_page(code: str):
    """Follow my ticket on a phone: number, people ahead, estimated wait, alert when three or fewer."""
    return _slip_page(code, "kiosk/follow.html", near_turn=NEAR_TURN_AHEAD, rate_path=RATE_PATH.format(code=code))


@bp.get("/r/<code>")
def rating_page(code: str):
    """Rate the service on a phone (扫码评价, the slip's QR once the ticket is finished): once per window."""
    page = _slip_page(code, "kiosk/rate.html", bad_max=BAD_RATING_MAX)
    return page, 200, {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}


@bp.get("/c/<code>")
def case_page(code: str):
    """My case on a phone: where it stands, its history, the promised date, what is missing, where to collect."""
    from hall_queue.cases import progress

    with runtime().db.read() as s:
        case = progress.find(s, code)
        if case is None:
            abort(404)
        view = progress.view(s, case)
    resp = render_template("kiosk/case.html", c=view)
    return resp, 200, {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}


def _guide(hall_id: int, *, item_id: int | None = None, bundle_id: int | None = None):
    with runtime().db.read() as s:
        hall = s.get(Hall, hall_id)
        if hall is None:
            abort(404)
        if item_id is not None:
            item = s.get(ServiceItem, item_id)
            if item is None or item.hall_id != hall.id or not item.active:
                abort(404)
            return render_template("kiosk/guide.html", hall=hall, title=item.name, guide=item.guide or {},
                                   kind=item.kind, promised_days=item.promised_days, materials=item.materials or [],
                                   items=[], forms=FORMS, book_url=f"/book/{hall.id}")
        bundle = s.get(Bundle, bundle_id)
        if bundle is None or bundle.hall_id != hall.id or not bundle.active:
            abort(404)
        return render_template("kiosk/guide.html", hall=hall, title=bundle.name, guide={"conditions": bundle.description},
                               kind=None, promised_days=None, materials=bundle_materials(bundle),
                               items=[i.name for i in bundle.items], forms=FORMS, book_url=f"/book/{hall.id}")


@bp.get("/guide/<int:hall_id>/<int:item_id>")
def guide_page(hall_id: int, item_id: int):
    """The public service guide (办事指南) of one item, with its materials list."""
    if not (0 < hall_id < 2**31 and 0 < item_id < 2**31):
        abort(404)
    return _guide(hall_id, item_id=item_id)


@bp.get("/guide/<int:hall_id>/bundle/<int:bundle_id>")
def bundle_guide_page(hall_id: int, bundle_id: int):
    """The guide of a life-event bundle (一件事) with its one merged set of materials (003 §3.8)."""
    if not (0 < hall_id < 2**31 and 0 < bundle_id < 2**31):
        abort(404)
    return _guide(hall_id, bundle_id=bundle_id)


# ---------------------------------------------------------------- the demo agent inside the server

def demo_agent_config(app: Flask) -> AgentConfig:
    """Device URLs and timings from app config or ``ONEVISIT_KIOSK_*``, simulated devices by default."""
    instance = Path(app.instance_path)

    def setting(name: str, default: str) -> str:
        return str(app.config.get(f"KIOSK_{name}") or os.environ.get(f"ONEVISIT_KIOSK_{name}") or default)

    return AgentConfig(idcard_url=setting("IDCARD", "sim://") or None,
                       printer_url=setting("PRINTER", f"virtual://?dir={instance / 'printouts'}") or None,
                       scanner_url=setting("SCANNER", "sim://?width=1280&height=720") or None,
                       idle_s=float(setting("IDLE_S", "60")), retry_s=float(setting("RETRY_S", "3")),
                       public_url=setting("PUBLIC_URL", config_mod.public_url(app.config)),
                       health_every_s=float(setting("HEALTH_S", "5")), name=setting("NAME", "大厅1号取号机"))


def init_app(app: Flask) -> None:
    """Register the touch pages and, in development or when enabled, the agent (started on first use)."""
    app.register_blueprint(pages.bp)
    if not config_mod.inprocess_agent_enabled(app.config):
        return  # /kiosk/agent/* answers 404: kiosks run `onevisit kiosk` on their own PC
    production = app.config.get("ENV") == "production"
    try:
        guard = in_process_guard(production=production, addresses=app.config.get("KIOSK_ADDRESSES"),
                                 public_url=app.config.get("PUBLIC_BASE_URL", ""))
    except ValueError as e:
        raise config_mod.InsecureConfig(f"ONEVISIT_KIOSK_ADDRESSES: {e}") from e
    lock = threading.Lock()
    holder: dict[str, KioskAgent] = {}

    def provider() -> KioskAgent:
        with lock:
            if "agent" not in holder:
                if app.config.get("KIOSK_AGENT") is False:
                    raise AgentError(503, "agent_not_configured", "the kiosk agent is switched off")
                token = app.config.get("KIOSK_TOKEN") or os.environ.get("ONEVISIT_KIOSK_TOKEN")
                tokens_file = Path(app.instance_path) / "demo-tokens.json"
                if not token and tokens_file.exists():
                    token = json.loads(tokens_file.read_text()).get("kiosk")
                if not token:
                    raise AgentError(503, "agent_not_configured",
                                     "no kiosk token: register a kiosk (`onevisit device add kiosk`) "
                                     "and set ONEVISIT_KIOSK_TOKEN")
                agent = KioskAgent(InProcessUpstream(app, token), demo_agent_config(app)).start()
                holder["agent"] = agent
                atexit.register(agent.stop)
            return holder["agent"]

    pages.set_agent_provider(app, provider, guard=guard, sim=not production)
