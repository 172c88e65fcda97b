"""The kiosk's touch pages and the agent API they call (``/kiosk/…``).

The same blueprint serves inside the queue server (demo: one process, simulated devices) and in
``onevisit kiosk`` on a kiosk PC. Views only translate HTTP to agent calls (STYLE rule 6).
"""
from __future__ import annotations

import io
import re
import time
from typing import Any, Callable

import qrcode
import qrcode.image.svg
from flask import Blueprint, Response, current_app, jsonify, render_template, request, stream_with_context

from devices.base import DeviceError
from devices.idcard.simulator import SAMPLE_CARDS, Fault
from devices.idcard import status as sw3
from hall_queue.domain.vocabulary import ELDERLY_AGE, GREEN_REASONS, PHONE_PATTERN

from .agent import AgentError, KioskAgent, valid_request_id
from .guard import KEY_COOKIE, AgentGuard, Refused

bp = Blueprint("kiosk_pages", __name__, url_prefix="/kiosk", template_folder="templates", static_folder="static",
               static_url_path="/static")

EXT = "kiosk_agent_provider"
GUARD_EXT = "kiosk_agent_guard"
SIM_EXT = "kiosk_agent_sim"
QR_PATHS = ("/t/", "/guide/", "/book/")
SSE_WAIT_S = 15.0


def set_agent_provider(app, provider: Callable[[], KioskAgent], *, guard: AgentGuard | None = None,
                       sim: bool = True) -> None:
    """Tell the blueprint how to get this app's agent (created on first use), who may use it (``guard``)
    and whether the demo drills (``/kiosk/agent/sim/…``) exist."""
    app.extensions[EXT] = provider
    app.extensions[GUARD_EXT] = guard
    app.extensions[SIM_EXT] = sim


def agent() -> KioskAgent:
    provider = current_app.extensions.get(EXT)
    if provider is None:
        raise AgentError(503, "agent_not_configured", "this server runs no kiosk agent")
    return provider()


def _error(status: int, code: str, message: str, **extra: Any):
    resp = jsonify({"error": {"code": code, "message": message, **{k: v for k, v in extra.items() if v is not None}}})
    resp.status_code = status
    return resp


@bp.errorhandler(AgentError)
def _agent_error(e: AgentError):
    return _error(e.status, e.code, e.message, **e.extra)


@bp.errorhandler(DeviceError)
def _device_error(e: DeviceError):
    return _error(409, e.code, str(e))


def _body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise AgentError(400, "malformed_json", "request body must be a JSON object")
    return data


def _int_or_none(value: Any, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**31:
        raise AgentError(422, "validation_error", f"{name} must be a positive integer")
    return value


@bp.before_request
def _only_the_kiosk():
    """The agent API answers the kiosk's own page only (guard.py); without an agent it does not exist."""
    if not request.path.startswith(bp.url_prefix + "/agent/"):
        return None
    if current_app.extensions.get(EXT) is None:
        return _error(404, "not_found", "this server runs no kiosk agent")
    if request.path.startswith(bp.url_prefix + "/agent/sim/") and not current_app.extensions.get(SIM_EXT, True):
        return _error(404, "not_found", "no simulated devices here")
    guard: AgentGuard | None = current_app.extensions.get(GUARD_EXT)
    if guard is not None:
        try:
            guard.check(request)
        except Refused as e:
            return _error(e.status, e.code, e.message)
    return None


# ---------------------------------------------------------------- pages

def _seconds_arg(name: str, lo: float, hi: float) -> float | None:
    """A drill's or a test's override of a page timer, in seconds; ignored unless a number from ``lo`` to ``hi``
    (``nan`` or ``inf`` would reach the page's timers as they are)."""
    value = request.args.get(name, type=float)
    return value if value is not None and lo <= value <= hi else None


@bp.get("/")
def index():
    """The touch screen (one page, several screens), portrait 1080×1920 or landscape 1920×1080."""
    idle = _seconds_arg("idle", 1, 3600)
    guard: AgentGuard | None = current_app.extensions.get(GUARD_EXT)
    key = None
    if guard is not None and guard.require_key:
        try:  # the per-boot key goes to the kiosk's own browser only
            guard.check_source(request)
            key = guard.key
        except Refused:
            key = None
    refresh = _seconds_arg("refresh", 0.2, 600)  # seconds between waiting-count refreshes (drills, tests)
    resp = current_app.make_response(render_template("kiosk/index.html", idle_override=idle, kiosk_key=key,
                                                     refresh=refresh, elderly_age=ELDERLY_AGE))
    if key:
        resp.set_cookie(KEY_COOKIE, key, httponly=True, samesite="Strict", path=bp.url_prefix,
                        secure=request.is_secure)
    resp.headers["Cache-Control"] = "no-store"
    return resp


# ---------------------------------------------------------------- agent API

@bp.get("/agent/state")
def state():
    a = agent()
    try:
        a.hall()
    except AgentError:
        pass  # the page shows "paused" from server_ok
    return jsonify(a.state())


@bp.get("/agent/events")
def events():
    """Server-Sent Events: card laid/removed/failed, reader state, session reset (agent → page)."""
    a = agent()
    last = request.headers.get("Last-Event-ID", type=int)
    start = last if last is not None else a.bus.last_seq

    @stream_with_context
    def stream():
        seq = start
        yield "retry: 1000\n\n"
        deadline = time.monotonic() + 300  # reconnect now and then; EventSource resumes by id
        while time.monotonic() < deadline:
            batch = a.bus.since(seq, timeout=SSE_WAIT_S)
            if not batch:
                yield ": keep-alive\n\n"
                continue
            for event in batch:
                seq = event.seq
                yield event.sse()

    resp = Response(stream(), mimetype="text/event-stream")
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["X-Accel-Buffering"] = "no"
    return resp


@bp.get("/agent/catalog")
def catalog():
    return jsonify(agent().catalog())


@bp.post("/agent/tickets")
def issue():
    """Take a ticket (items or a bundle), print it, attach the scanned pages."""
    body = _body()
    request_id = valid_request_id(body.get("request_id"))
    item_ids = body.get("item_ids") or []
    if not isinstance(item_ids, list) or len(item_ids) > 10:
        raise AgentError(422, "validation_error", "item_ids must be a list of at most 10 ids")
    item_ids = [_int_or_none(i, "item_ids") for i in item_ids]
    bundle_id = _int_or_none(body.get("bundle_id"), "bundle_id")
    if bool(item_ids) == (bundle_id is not None):
        raise AgentError(422, "validation_error", "choose service items or one bundle")
    green = body.get("green_reason")
    if green is not None and green not in GREEN_REASONS:
        raise AgentError(422, "validation_error", f"green_reason must be one of {', '.join(GREEN_REASONS)}")
    phone = body.get("phone")
    if phone is not None and (not isinstance(phone, str) or not re.fullmatch(PHONE_PATTERN, phone)):
        raise AgentError(422, "validation_error", "phone must be an 11-digit mobile number")
    result = agent().issue(request_id, item_ids=item_ids, bundle_id=bundle_id,
                           priority_class="green" if green else "ordinary", green_reason=green, phone=phone or None,
                           with_identity=bool(body.get("with_identity")))
    return jsonify(result), 201


@bp.get("/agent/appointments")
def appointments():
    return jsonify({"items": agent().appointments_today()})


@bp.post("/agent/checkin")
def checkin():
    body = _body()
    request_id = valid_request_id(body.get("request_id"))
    code = body.get("code")
    if code is not None and (not isinstance(code, str) or not 1 <= len(code.strip()) <= 40):
        raise AgentError(422, "validation_error", "code must be 1 to 40 characters")
    return jsonify(agent().check_in(request_id, appointment_id=_int_or_none(body.get("appointment_id"),
                                                                            "appointment_id"),
                                    code=code.strip() if code else None)), 201


def _pickup_who(source: dict[str, Any]) -> dict[str, str | None]:
    """The receipt's scanned QR (``code``) or a typed acceptance number, when the visitor gave one."""
    out: dict[str, str | None] = {}
    for name, longest in (("acceptance_no", 40), ("code", 300)):
        value = source.get(name)
        if value is not None and (not isinstance(value, str) or not 1 <= len(value.strip()) <= longest):
            raise AgentError(422, "validation_error", f"{name} must be 1 to {longest} characters")
        out[name] = value.strip() if value else None
    return out


@bp.get("/agent/pickup")
def pickup_lookup():
    """Results waiting for the card holder, the receipt's QR or the acceptance number (统一出件)."""
    return jsonify(agent().pickup_lookup(**_pickup_who(request.args)))


@bp.post("/agent/pickup")
def pickup():
    """Take the handover ticket for the visitor's ready results."""
    body = _body()
    return jsonify(agent().pickup(valid_request_id(body.get("request_id")), **_pickup_who(body))), 201


@bp.get("/agent/supply")
def supply_lookup():
    """容缺 materials still owed by the card holder, the receipt's QR, or a typed number with the card."""
    return jsonify(agent().supply_lookup(**_pickup_who(request.args)))


@bp.post("/agent/supply/scan/start")
def supply_scan_start():
    """Start scanning the pages of one owed material."""
    material_id = _int_or_none(_body().get("material_id"), "material_id")
    if material_id is None:
        raise AgentError(422, "validation_error", "material_id is required")
    return jsonify(agent().supply_scan_start(material_id))


@bp.post("/agent/supply")
def supply():
    """Send the scanned pages of an owed material and mark it supplied."""
    body = _body()
    material_id = _int_or_none(body.get("material_id"), "material_id")
    if material_id is None:
        raise AgentError(422, "validation_error", "material_id is required")
    return jsonify(agent().supply(valid_request_id(body.get("request_id")), material_id, **_pickup_who(body)))


@bp.post("/agent/session/reset")
def reset():
    agent().reset_session()
    return jsonify({"ok": True})


@bp.get("/agent/voice")
def voice():
    """Speak a prompt with the server's voice (适老模式) when this kiosk's browser has no Chinese one."""
    text = request.args.get("text", "")[:200]
    status, content, ctype = agent().voice_wav(text)
    return Response(content, status=status, mimetype=ctype.split(";")[0], headers={"Cache-Control": "max-age=86400"})


@bp.get("/agent/qr.svg")
def qr_svg():
    """Draw the QR code of one of this hall's public pages (follow, guide, booking) for a phone."""
    path = request.args.get("path", "")
    if not path.startswith(QR_PATHS) or len(path) > 200 or any(c in path for c in "\r\n\"'<> "):
        return _error(422, "validation_error", "path must be a follow, guide or booking page")
    link = agent().public_link(path)
    img = qrcode.make(link, image_factory=qrcode.image.svg.SvgPathImage, box_size=12, border=2)
    buf = io.BytesIO()
    img.save(buf)
    return Response(buf.getvalue(), mimetype="image/svg+xml", headers={"Cache-Control": "no-store"})


# ---------------------------------------------------------------- scanning

@bp.get("/agent/scan/state")
def scan_state():
    return jsonify(agent().scanner.state())


@bp.get("/agent/scan/preview.jpg")
def scan_preview():
    return _jpeg(agent().scanner.preview_jpeg() or None, "no_preview", "the camera has shown nothing yet")


@bp.get("/agent/scan/pending.jpg")
def scan_pending():
    return _jpeg(agent().scanner.pending_jpeg(), "nothing_pending", "no page is waiting for confirmation")


@bp.get("/agent/scan/pages/<int:index>.jpg")
def scan_page(index: int):
    return _jpeg(agent().scanner.page_jpeg(index), "not_found", "no such page")


def _jpeg(data: bytes | None, code: str, message: str):
    if data is None:
        return _error(404, code, message)
    return Response(data, mimetype="image/jpeg", headers={"Cache-Control": "no-store"})


def _scanner_step(step: str):
    """A view that takes one step of the scanner (with the URL's page index, if any) and answers its state."""
    def view(**index: int):
        scanner = agent().scanner
        getattr(scanner, step)(*index.values())
        return jsonify(scanner.state())
    return view


for _endpoint, _rule, _step in (("scan_start", "/agent/scan/start", "start"),
                                ("scan_confirm", "/agent/scan/confirm", "confirm"),
                                ("scan_retake", "/agent/scan/retake", "retake"),
                                ("scan_delete", "/agent/scan/pages/<int:index>/delete", "remove"),
                                ("scan_stop", "/agent/scan/stop", "stop")):
    bp.add_url_rule(_rule, _endpoint, _scanner_step(_step), methods=["POST"])


# ---------------------------------------------------------------- demo drills: simulated devices only

@bp.post("/agent/sim/swipe")
def sim_swipe():
    """模拟刷身份证: lay a sample card on the simulated reader."""
    card = _body().get("card", "resident")
    if not isinstance(card, str) or card not in SAMPLE_CARDS:  # a list or a dict is no card (TypeError, a 500)
        return _error(422, "validation_error", f"card must be one of {', '.join(sorted(SAMPLE_CARDS))}")
    sim = agent().simulator()
    sim.clear_faults()
    sim.present(card)
    return jsonify({"ok": True})


def _sim_step(step: Callable[[Any], None]):
    """A view that does one thing to the simulated reader and answers ``{"ok": true}``."""
    def view():
        step(agent().simulator())
        return jsonify({"ok": True})
    return view


# Take the card away; fall silent as an unplugged or dead module does; come back.
for _endpoint, _rule, _sim in (("sim_remove", "/agent/sim/remove", lambda sim: sim.remove()),
                               ("sim_unplug", "/agent/sim/unplug", lambda sim: sim.inject(Fault.NO_ANSWER, times=None)),
                               ("sim_plug", "/agent/sim/plug", lambda sim: sim.clear_faults())):
    bp.add_url_rule(_rule, _endpoint, _sim_step(_sim), methods=["POST"])


@bp.post("/agent/sim/bad-read")
def sim_bad_read():
    """Lay a card the reader cannot read (every read answers 41: read failed) until it is swiped again."""
    sim = agent().simulator()
    sim.remove()
    time.sleep(0.4)  # let the poller see the reader empty, so the next card counts as new
    sim.inject(Fault.STATUS, sw3=sw3.READ_FAILED, command=(0x30, 0x01), times=None)
    sim.present("resident")
    return jsonify({"ok": True})


@bp.post("/agent/sim/printer")
def sim_printer():
    fault = _body().get("fault")
    if fault is not None and not isinstance(fault, str):
        return _error(422, "validation_error", "fault must be a string or null")
    a = agent()
    a.sim_printer_fault(fault)
    a.check_health()
    return jsonify({"ok": True, "printer": a.device_states()["printer"]})


@bp.get("/agent/sim/last-printout")
def sim_last_printout():
    """What the virtual printer last put on paper: text lines, QR payloads and the PNG (drills and tests)."""
    printer = agent().printer
    last = getattr(printer, "last_printout", None) if printer is not None else None
    if last is None:
        return _error(404, "nothing_printed", "the virtual printer has printed nothing yet")
    return jsonify({"text_lines": last.text_lines, "qr_codes": last.qr_codes, "png": printer.transport.last_png})
