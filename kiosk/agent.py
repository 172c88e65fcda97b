"""The kiosk agent: owns the kiosk PC's devices and speaks to the queue server for the touch pages.

The browser on the kiosk only talks to this agent (``/kiosk/agent/...``). The agent holds the
device token, the full identity read from a card (the page only ever sees it masked), the pages
scanned so far, and an Idempotency-Key per visitor request, kept across every retry so a lost
answer never prints two tickets. Each device is driven by one thread of its own: the card poller
owns the reader, one worker owns the printer, the scan thread owns the camera.
"""
from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import quote

from devices.base import DeviceError, DeviceHealth
from devices.idcard import (
    CardPoller,
    CardPresented,
    CardRemoved,
    IdentityCard,
    ReaderOffline,
    ReaderOnline,
    ReadFailed,
    open_reader,
)
from devices.printer import open_printer

from hall_queue.domain.vocabulary import ELDERLY_AGE, SUPPLY_MAX_PAGES

from .bus import EventBus
from .scanning import Scanner, upload_jpeg
from .slips import checkin_slip, ticket_slip, wait_place_text
from .upstream import ServerUnreachable, Upstream, UpstreamResponse

log = logging.getLogger("onevisit.kiosk")

PRINT_TIMEOUT_S = 15.0
ISSUE_ATTEMPTS = 2  # then the page says "paused" and keeps retrying with the same key
RETRY_DELAYS_S = (0.3,)
CATALOG_TTL_S = 60.0
REQUEST_ID_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")
BOOK_PATH = "/book/{hall_id}"
# Device reasons as the server's alert labels know them (queueing.device_health.REASON_LABELS): "身份证阅读器离线", "高拍仪无画面".
REPORT_REASONS = {"reader_offline": "offline", "timeout": "frame_timeout"}
# The server's refusals of a 容缺 supply, as the visitor reads them on the kiosk (English mode has its own).
SUPPLY_MESSAGES = {
    "card_required": "请先刷身份证核对身份",
    "not_the_applicant": "身份证与办件申请人不一致，不能补交",
    "pages_required": "请先把这份材料放在高拍仪下扫描",
    "already_supplied": "这份材料已经补交过了",
    "too_many_pages": f"这份材料最多扫描{SUPPLY_MAX_PAGES}页",
    "illegal_transition": "这件办件已办结或终止，不需要再补交材料",
    "bad_image": "扫描的页面无法识别，请重拍",
}



def receipt_code(scanned: str) -> str:
    """The look-up code out of what the scanner typed: the receipt's QR is ``…/c/<code>`` (or the bare code)."""
    text = scanned.strip()
    if "/c/" in text:
        text = text.rsplit("/c/", 1)[1]
    return text.split("?", 1)[0].split("#", 1)[0].strip("/ ")[:64]

class AgentError(Exception):
    """A visitor request the agent cannot carry out; ``status`` and ``code`` go to the page."""

    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra


@dataclass
class AgentConfig:
    idcard_url: str | None = "sim://"
    printer_url: str | None = "virtual://"
    scanner_url: str | None = "sim://"
    idle_s: float = 60.0
    retry_s: float = 3.0
    public_url: str = ""  # base of the QR links (follow, guide, booking) a phone opens
    health_every_s: float = 5.0
    name: str = ""

    @property
    def sim(self) -> bool:
        return bool(self.idcard_url) and self.idcard_url.startswith("sim:")


def is_elderly(birth: str | None, today: date, elderly_age: int = ELDERLY_AGE) -> bool:
    """Whether a card's birth date (YYYYMMDD) makes its holder ``elderly_age`` or older today."""
    try:
        born = date(int(birth[0:4]), int(birth[4:6]), int(birth[6:8]))  # type: ignore[index]
    except (TypeError, ValueError):
        return False
    age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    return age >= elderly_age


def masked_card(card: IdentityCard, today: date | None = None, elderly_age: int = ELDERLY_AGE) -> dict[str, Any]:
    """What the page may show of a card: masked name and number, card type, and whether the holder is
    elderly (offered the green channel and 适老 mode); never the birth date itself."""
    m = card.masked()
    return {"masked_name": m.name or m.english_name, "masked_id": m.id_number, "card_type": card.card_type,
            "id_check_ok": card.id_check_ok, "elderly": is_elderly(card.birth, today or date.today(), elderly_age),
            "elderly_age": elderly_age}


def _state_of(health: DeviceHealth) -> tuple[str, str | None]:
    """A device's (state, reason) as the kiosk shows it: no reason while it is online."""
    return health.state, health.reason if health.state != "online" else None


def _database_down(resp: UpstreamResponse) -> bool:
    return resp.status == 503 and resp.error_code == "database_unavailable"


def valid_request_id(value: Any) -> str:
    if not isinstance(value, str) or not (8 <= len(value) <= 64) or not set(value) <= REQUEST_ID_CHARS:
        raise AgentError(422, "validation_error", "request_id must be 8 to 64 letters, digits, - or _")
    return value


class KioskAgent:
    """One kiosk: its devices, its visitor session and its line to the queue server."""

    def __init__(self, upstream: Upstream, config: AgentConfig) -> None:
        self.upstream = upstream
        self.config = config
        self.bus = EventBus()
        self._lock = threading.RLock()
        self._card: IdentityCard | None = None
        self._card_on_reader = False
        self._keys: OrderedDict[str, str] = OrderedDict()
        self._hall: dict[str, Any] | None = None
        self._catalog: dict[str, Any] | None = None
        self._catalog_at = 0.0
        self.server_ok = True
        self.server_error: str | None = None
        self.reader = None
        self.poller: CardPoller | None = None
        self.reader_state: tuple[str, str | None] = ("offline", "not started")
        self.printer = None
        self.printer_state: tuple[str, str | None] = ("offline", "not started")
        self._printer_worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kiosk-printer")
        # Device changes go to the server from this thread: the card poller and the page's requests
        # never wait on the network for an alert (a fault reaches the floor dashboard within a poll).
        self._reporter = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kiosk-reporter")
        self._report_pending = threading.Event()
        self.scanner = Scanner(config.scanner_url)
        self._reported: dict[str, tuple[str, str | None]] = {}
        self._stop = threading.Event()
        self._monitor: threading.Thread | None = None
        self._stopped = False
        self._supply_material: int | None = None  # the owed material the scanned pages are for

    # ------------------------------------------------------------ life cycle

    def start(self) -> KioskAgent:
        """Open the devices and start the card poller and the health monitor."""
        self._open_reader()
        self._printer_worker.submit(self._open_printer).result(timeout=PRINT_TIMEOUT_S)
        self._stop.clear()
        self._monitor = threading.Thread(target=self._monitor_loop, name="kiosk-monitor", daemon=True)
        self._monitor.start()
        return self

    def stop(self) -> None:
        """Stop the threads and release every device (a second call does nothing)."""
        if self._stopped:
            return
        self._stopped = True
        self._stop.set()
        if self._monitor is not None:
            self._monitor.join(timeout=3)
        if self.poller is not None:
            self.poller.stop()
        if self.reader is not None:
            self.reader.close()
        self.scanner.close()
        if self.printer is not None:
            try:
                self._printer_worker.submit(self.printer.close).result(timeout=5)
            except (DeviceError, FutureTimeout, RuntimeError):
                log.warning("closing the printer failed", exc_info=True)
        self._printer_worker.shutdown(wait=False)
        self._reporter.shutdown(wait=False)

    def _opened(self, label: str, url: str, opener: Callable[[str], Any]) -> tuple[Any, str | None]:
        """Open a configured device: ``(device, None)``, or ``(None, reason)`` when it has no URL or fails."""
        if not url:
            return None, "not_configured"
        try:
            return opener(url), None
        except DeviceError as e:
            log.warning("%s %s cannot be opened: %s", label, url, e)
            return None, e.code

    def _open_reader(self) -> None:
        reader, reason = self._opened("ID-card reader", self.config.idcard_url, open_reader)
        if reader is None:
            self.reader_state = ("offline", reason)
            return
        self.reader = reader
        self.poller = CardPoller(self.reader, on_event=self._on_card_event, interval=0.15)
        self.poller.start()

    def _open_printer(self) -> None:
        """Runs on the printer worker: it alone touches the printer."""
        def open_and_ask(url: str) -> tuple[Any, DeviceHealth]:
            printer = open_printer(url)
            return printer, printer.health()

        opened, reason = self._opened("printer", self.config.printer_url, open_and_ask)
        if opened is None:
            self.printer, self.printer_state = None, ("offline", reason)
            return
        self.printer, health = opened
        self.printer_state = _state_of(health)

    # ------------------------------------------------------------ the ID card

    def _on_card_event(self, event: Any) -> None:
        """Called from the poller thread for each reader event."""
        if isinstance(event, CardPresented):
            with self._lock:
                self._card, self._card_on_reader = event.card, True
            self.bus.publish("card", masked_card(event.card, elderly_age=self._elderly_age()))
        elif isinstance(event, CardRemoved):
            with self._lock:
                self._card_on_reader = False
            self.bus.publish("card_removed", {})
        elif isinstance(event, ReadFailed):
            with self._lock:  # a failed re-read: the card read before is no longer the one on the reader
                self._card = None
            self.bus.publish("card_failed", {"code": event.error.code})
        elif isinstance(event, ReaderOffline):
            self.reader_state = ("offline", "reader_offline")
            self.bus.publish("reader", {"state": "offline"})
            self.report_changes_soon()
        elif isinstance(event, ReaderOnline):
            self.reader_state = ("online", None)
            self.bus.publish("reader", {"state": "online"})
            self.report_changes_soon()

    def current_card(self) -> dict[str, Any] | None:
        with self._lock:
            return masked_card(self._card, elderly_age=self._elderly_age()) if self._card is not None else None

    def reset_session(self) -> None:
        """Forget the visitor: identity, scanned pages (idle timeout or "done")."""
        with self._lock:
            self._card = None
            self._supply_material = None
        self.scanner.clear()
        self.bus.publish("session_reset", {})

    # ------------------------------------------------------------ talking to the server

    def _call(self, method: str, path: str, **kwargs: Any) -> UpstreamResponse:
        try:
            resp = self.upstream.call(method, path, **kwargs)
        except ServerUnreachable as e:
            self.server_ok, self.server_error = False, str(e)
            raise
        if _database_down(resp):
            # The server answers but its database does not: for the visitor it is the same pause.
            self.server_ok, self.server_error = False, "database_unavailable"
        else:
            self.server_ok, self.server_error = True, None
        return resp

    def voice_wav(self, text: str) -> tuple[int, bytes, str]:
        """The server's espeak-ng rendering of a spoken prompt, for a kiosk browser without a Chinese voice."""
        try:
            resp = self._call("GET", f"/display/voice?text={quote(text)}")
        except ServerUnreachable as e:
            raise AgentError(503, "server_unreachable", "暂停取号，请稍候") from e
        return resp.status, resp.content, resp.content_type or "application/octet-stream"

    def _elderly_age(self) -> int:
        """The hall's elderly age if its settings were read already (never a server call from the reader's thread)."""
        return int((self._hall or {}).get("elderly_age") or ELDERLY_AGE)

    def hall(self) -> dict[str, Any]:
        """Return this kiosk's hall (id, name, timezone) as its token sees it."""
        if self._hall is None:
            try:
                resp = self._call("GET", "/api/v1/halls")
            except ServerUnreachable as e:
                raise AgentError(503, "server_unreachable", "暂停取号，请稍候") from e
            if _database_down(resp):
                raise AgentError(503, "server_unreachable", "暂停取号，请稍候", retry_after_s=self.config.retry_s,
                                 reason="database_unavailable")
            items = (resp.body or {}).get("items") if resp.ok else None
            if not items:
                raise AgentError(503, "kiosk_not_authorised", "this kiosk's token is not accepted by the server")
            self._hall = items[0]
        return self._hall

    def _load_catalog(self, hall: dict[str, Any]) -> None:
        """Refresh the cached catalogue (materials for slips, names for the pages) when it is old."""
        if self._catalog is not None and time.monotonic() - self._catalog_at < CATALOG_TTL_S:
            return
        try:
            resp = self._call("GET", f"/api/v1/halls/{hall['id']}/catalog", auth=False)
            if resp.ok:
                self._catalog, self._catalog_at = resp.body, time.monotonic()
        except ServerUnreachable:
            if self._catalog is None:
                raise AgentError(503, "server_unreachable", "暂停取号，请稍候") from None

    def catalog(self) -> dict[str, Any]:
        """Return the hall's catalogue with live waiting counts (the cached one while the server is away)."""
        hall = self.hall()
        self._load_catalog(hall)
        waiting: dict[int, dict[str, Any]] = {}
        open_now, opening = True, {}
        try:
            snap = self._call("GET", f"/api/v1/halls/{hall['id']}/snapshot")
            if snap.ok:
                waiting = {q["queue_id"]: q for q in snap.body.get("queues", [])}
                opening = snap.body.get("hall", {})
                open_now = bool(opening.get("open_now", True))
        except ServerUnreachable:
            pass
        return {**(self._catalog or {}), "hall": hall, "open_now": open_now,
                "hours_today": opening.get("hours_today"), "next_opening": opening.get("next_opening"),
                "waiting": {str(k): {"waiting": v.get("waiting"), "estimated_wait_s": v.get("estimated_wait_s"),
                                     "serving_windows": v.get("serving_windows")}
                            for k, v in waiting.items()}}

    def _key_for(self, request_id: str) -> str:
        """Return the Idempotency-Key of a visitor request; the same one on every retry."""
        with self._lock:
            key = self._keys.get(request_id)
            if key is None:
                key = f"kiosk-{uuid.uuid4().hex}"
                self._keys[request_id] = key
                while len(self._keys) > 500:
                    self._keys.popitem(last=False)
            return key

    def _send_with_retries(self, method: str, path: str, *, key: str, body: dict[str, Any]) -> UpstreamResponse:
        last: ServerUnreachable | None = None
        reason = "server_unreachable"
        for attempt in range(ISSUE_ATTEMPTS):
            try:
                resp = self._call(method, path, json_body=body, headers={"Idempotency-Key": key})
                if not _database_down(resp):
                    return resp
                reason = "database_unavailable"
                log.warning("queue server's database unavailable (attempt %d)", attempt + 1)
            except ServerUnreachable as e:
                last = e
                log.warning("queue server unreachable (attempt %d): %s", attempt + 1, e)
            if attempt < len(RETRY_DELAYS_S):
                time.sleep(RETRY_DELAYS_S[attempt])
        # The page shows the pause message and retries with the same request id (so the same key).
        raise AgentError(503, "server_unreachable", "暂停取号，请稍候", retry_after_s=self.config.retry_s,
                         reason=reason) from last

    # ------------------------------------------------------------ visitor actions

    def issue(self, request_id: str, *, item_ids: list[int] | None = None, bundle_id: int | None = None,
              priority_class: str = "ordinary", green_reason: str | None = None, phone: str | None = None,
              with_identity: bool = False) -> dict[str, Any]:
        """Take a ticket for the visitor, print it, attach scanned pages; report what worked."""
        hall = self.hall()
        body: dict[str, Any] = {"item_ids": list(item_ids or [])} if bundle_id is None else {"bundle_id": bundle_id}
        body["priority_class"] = priority_class
        if green_reason:
            body["green_reason"] = green_reason
        if phone:
            body["phone"] = phone
        if with_identity:
            with self._lock:
                card = self._card
            if card is None:
                raise AgentError(409, "no_card", "请先刷身份证")
            if card.name:
                body["name"] = card.name
            if card.id_number:
                body["id_number"] = card.id_number
        resp = self._issue(f"/api/v1/halls/{hall['id']}/tickets", request_id, body)
        return self._after_issue(resp.body, kind="ticket")

    def appointments_today(self) -> list[dict[str, Any]]:
        """Return today's bookings of the person whose card was read (masked by the server)."""
        hall = self.hall()
        with self._lock:
            card = self._card
        if card is None or not card.id_number:
            raise AgentError(409, "no_card", "请先刷身份证")
        try:
            resp = self._call("GET", f"/api/v1/halls/{hall['id']}/appointments/today?id_number="
                              f"{quote(card.id_number)}")
        except ServerUnreachable as e:
            raise AgentError(503, "server_unreachable", "暂停取号，请稍候") from e
        if resp.status == 404 and not (isinstance(resp.body, dict) and "items" in resp.body):
            # No appointments service on this server (or none for this hall): walk-ins go on (004 §8.2).
            return []
        if not resp.ok:
            raise AgentError(resp.status, resp.error_code or "refused", resp.error_message)
        body = resp.body or {}
        return list(body.get("items", body.get("appointments", []))) if isinstance(body, dict) else list(body)

    def check_in(self, request_id: str, *, appointment_id: int | None = None, code: str | None = None) -> dict[str, Any]:
        """Check the visitor in for a booking (by card, or by the booking code typed in)."""
        hall = self.hall()
        body: dict[str, Any] = {}
        if code:
            body["code"] = code
        else:
            with self._lock:
                card = self._card
            if card is None or not card.id_number:
                raise AgentError(409, "no_card", "请先刷身份证，或输入预约码")
            body["id_number"] = card.id_number
        if appointment_id is not None:
            body["appointment_id"] = appointment_id
        resp = self._issue(f"/api/v1/halls/{hall['id']}/appointments/check-in", request_id, body)
        answer = resp.body or {}
        ticket = answer.get("ticket") if isinstance(answer.get("ticket"), dict) else answer
        result = self._after_issue(ticket, kind="checkin" if not answer.get("late") else "ticket",
                                   booking=answer.get("booking") or answer.get("appointment") or {})
        result["late"] = bool(answer.get("late"))
        if answer.get("message"):
            result["message"] = answer["message"]
        return result

    def _card_id(self, prompt: str) -> Any:
        with self._lock:
            card = self._card
        if card is None or not card.id_number:
            raise AgentError(409, "no_card", prompt)
        return card

    def _pickup_who(self, acceptance_no: str | None, code: str | None) -> dict[str, Any]:
        """Who collects: the receipt's QR or a typed acceptance number when given, else the card on the reader."""
        if code:
            return {"code": receipt_code(code)}
        if acceptance_no:
            return {"acceptance_no": acceptance_no.strip().upper()}
        card = self._card_id("请先刷身份证")
        return {"id_number": card.id_number, **({"name": card.name} if card.name else {})}

    def pickup_lookup(self, *, acceptance_no: str | None = None, code: str | None = None) -> dict[str, Any]:
        """How many results wait for the card holder, the receipt's QR or the acceptance number (统一出件, 001 §7.3)."""
        hall = self.hall()
        who = self._pickup_who(acceptance_no, code)
        who.pop("name", None)
        try:
            resp = self._call("POST", f"/api/v1/halls/{hall['id']}/pickups/lookup", json_body=who)
        except ServerUnreachable as e:
            raise AgentError(503, "server_unreachable", "暂停取号，请稍候") from e
        if resp.status == 404 and not (isinstance(resp.body, dict) and "count" in resp.body):
            return {"count": 0, "items": []}  # a server without cases
        if resp.status == 422 and "id_number" not in who:
            return {"count": 0, "items": []}  # a mistyped number or a foreign QR: nothing found, nothing said
        if not resp.ok:
            raise AgentError(resp.status, resp.error_code or "refused", resp.error_message)
        return resp.body or {"count": 0, "items": []}

    def pickup(self, request_id: str, *, acceptance_no: str | None = None, code: str | None = None) -> dict[str, Any]:
        """Take the handover ticket for the visitor's ready results and print it."""
        hall = self.hall()
        body = self._pickup_who(acceptance_no, code)
        resp = self._send_with_retries("POST", f"/api/v1/halls/{hall['id']}/pickups", key=self._key_for(request_id),
                                       body=body)
        if not resp.ok:
            raise AgentError(resp.status, resp.error_code or "refused", resp.error_message)
        result = self._after_issue(resp.body, kind="ticket")
        result["pickup_count"] = len((resp.body or {}).get("cases") or [])
        return result

    # ------------------------------------------------------------ 容缺 materials brought back (000 §9.3.6)

    def _supply_who(self, acceptance_no: str | None, code: str | None) -> dict[str, Any]:
        """Who brings the materials: the receipt's QR, else the card on the reader (with a typed number, or alone).

        A typed number alone is not enough: the materials owed are the applicant's own business, and
        numbers run in sequence.
        """
        if code:
            return {"code": receipt_code(code)}
        card = self._card_id(SUPPLY_MESSAGES["card_required"])
        who: dict[str, Any] = {"id_number": card.id_number}
        if acceptance_no:
            who["acceptance_no"] = acceptance_no.strip().upper()
        return who

    def _supply_error(self, resp: UpstreamResponse) -> AgentError:
        """The server's refusal in words for the visitor (its own messages are for staff and logs)."""
        code = resp.error_code or "refused"
        return AgentError(resp.status, code, SUPPLY_MESSAGES.get(code, resp.error_message))

    def supply_lookup(self, *, acceptance_no: str | None = None, code: str | None = None) -> dict[str, Any]:
        """The 容缺 materials the visitor still owes, per case (names and deadlines; no identity)."""
        hall = self.hall()
        who = self._supply_who(acceptance_no, code)
        try:
            resp = self._call("POST", f"/api/v1/halls/{hall['id']}/deferred-supply/lookup", json_body=who)
        except ServerUnreachable as e:
            raise AgentError(503, "server_unreachable", "暂停取号，请稍候") from e
        if resp.status == 422 and "code" in who:
            return {"count": 0, "cases": []}  # a foreign QR: nothing found, nothing said
        if not resp.ok:
            raise self._supply_error(resp)
        return resp.body or {"count": 0, "cases": []}

    def supply_scan_start(self, material_id: int) -> dict[str, Any]:
        """Start scanning one owed material: pages kept for another material (or a ticket) are let go first."""
        with self._lock:
            if self._supply_material != material_id:
                self.scanner.clear()
                self._supply_material = material_id
        self.scanner.start()
        return self.scanner.state()

    def supply(self, request_id: str, material_id: int, *, acceptance_no: str | None = None,
               code: str | None = None) -> dict[str, Any]:
        """Send the scanned pages of an owed material to its case, then mark it supplied (one key per press)."""
        who = self._supply_who(acceptance_no, code)
        proof = {"code": who["code"]} if "code" in who else {"id_number": who["id_number"]}
        with self._lock:
            if self._supply_material not in (None, material_id):
                raise AgentError(409, "other_material", SUPPLY_MESSAGES["pages_required"])
        sent = 0
        for page in self.scanner.pages():
            try:
                resp = self._call("POST", f"/api/v1/deferred-materials/{material_id}/pages?page_size="
                                  f"{quote(page.page_size_name)}", data=upload_jpeg(page), content_type="image/jpeg")
            except ServerUnreachable as e:
                raise AgentError(503, "server_unreachable", "暂停取号，请稍候",
                                 retry_after_s=self.config.retry_s) from e
            if not resp.ok:
                raise self._supply_error(resp)
            self.scanner.remove(0)  # sent: a retry after a lost answer sends only the pages still here
            sent += 1
        resp = self._send_with_retries("POST", f"/api/v1/deferred-materials/{material_id}/supply",
                                       key=self._key_for(request_id), body={"via": "kiosk", **proof})
        if not resp.ok and resp.error_code != "already_supplied":
            raise self._supply_error(resp)
        with self._lock:
            self._supply_material = None
        self.scanner.clear()
        return {"ok": True, "pages_sent": sent, "case_state": (resp.body or {}).get("case_state")}

    def _matter(self, ticket: dict[str, Any]) -> tuple[str, str, list[dict[str, Any]]]:
        """Return queue name, matter and the one-time-notice materials for a ticket's slip.

        The materials are the server's merged list carried by the issued ticket (003 §3.8), so the
        slip lists exactly what the clerk's console shows; the kiosk never merges lists itself.
        """
        cat = self._catalog or {}
        queue_name = next((q["name"] for q in cat.get("queues", []) if q["id"] == ticket.get("queue_id")),
                          ticket.get("queue_prefix") or "")
        if ticket.get("bundle_id"):
            matter = ticket.get("bundle") or ""
        else:
            matter = "、".join(ticket.get("items") or [])
        return queue_name, matter, list(ticket.get("materials") or [])

    def _issue(self, path: str, request_id: str, body: dict[str, Any]) -> UpstreamResponse:
        """POST a ticket or a check-in; a refusal becomes an AgentError that offers the booking page when the
        hall is closed or today's tickets are gone."""
        resp = self._send_with_retries("POST", path, key=self._key_for(request_id), body=body)
        if not resp.ok:
            raise AgentError(resp.status, resp.error_code or "refused", resp.error_message,
                             book_url=self.book_url() if resp.error_code in ("hall_closed", "daily_cap_reached")
                             else None)
        return resp

    def _after_issue(self, ticket: dict[str, Any], *, kind: str, booking: dict[str, Any] | None = None) -> dict[str, Any]:
        """Print the slip and upload scanned pages; a failure in either never undoes the ticket."""
        hall = self.hall()
        try:
            self._load_catalog(hall)
        except AgentError:
            pass  # the slip then lists no materials; the ticket stands
        follow = self.public_link(f"/t/{ticket['follow_code']}") if ticket.get("follow_code") else None
        queue_name, matter, materials = self._matter(ticket)
        places = next((q.get("wait_place") for q in (self._catalog or {}).get("queues", [])
                       if q["id"] == ticket.get("queue_id")), None)
        if kind == "checkin":
            slip = checkin_slip(ticket, booking or {}, hall=hall, queue_name=queue_name, matter=matter,
                                follow_url=follow, wait_place=places)
        else:
            slip = ticket_slip(ticket, hall=hall, queue_name=queue_name, matter=matter, materials=materials,
                               follow_url=follow, wait_place=wait_place_text(places))
        printed, print_error, printout = self.print_slip(slip, kind)
        uploaded, upload_error = self._upload_pages(ticket)
        return {"ticket": ticket, "follow_url": follow, "follow_path": f"/t/{ticket.get('follow_code')}",
                "printed": printed, "print_error": print_error, "printout": printout,
                "pages_attached": uploaded, "pages_error": upload_error, "matter": matter, "queue_name": queue_name,
                "materials": materials, "wait_place": places or []}

    def print_slip(self, slip: Any, kind: str) -> tuple[bool, str | None, str | None]:
        """Print on the printer's own thread; report a fault to the managers (device_fault alert)."""
        def job() -> str | None:
            if self.printer is None:
                self._open_printer()
                if self.printer is None:
                    raise DeviceError("the printer cannot be opened", code=self.printer_state[1] or "offline")
            path = self.printer.print_checkin(slip) if kind == "checkin" else self.printer.print_ticket(slip)
            self._status_after_job()
            return path

        try:
            path = self._printer_worker.submit(job).result(timeout=PRINT_TIMEOUT_S)
        except DeviceError as e:
            log.warning("printing ticket %s failed: %s", slip.number, e.code)
            self.printer_state = ("offline" if "offline" in e.code or "unavailable" in e.code
                                  or "no_answer" in e.code else "fault", e.code)
            self._report_device("printer", *self.printer_state)
            return False, e.code, None
        except FutureTimeout:
            self.printer_state = ("offline", "no_answer")
            self._report_device("printer", *self.printer_state)
            return False, "no_answer", None
        self.printer_state = ("online", None)
        self._report_device("printer", "online", None)
        return True, None, path

    def _status_after_job(self) -> None:
        """Ask the printer again once the job is out: paper running out mid-ticket leaves half a slip.

        The job was accepted into the printer's buffer, so only the status after it tells a whole slip
        from a torn one; the page then shows the number on screen and the managers get the alert.
        """
        printer = self.printer
        if not getattr(printer, "check_status", False) or not printer.transport.can_read_status:
            return  # ``?check=0`` printers cannot be asked; silence would read as a fault
        health = printer.health()
        if health.state != "online":
            raise DeviceError(f"the printer reports {health.reason} after the job", code=health.reason or "fault")

    def _upload_pages(self, ticket: dict[str, Any]) -> tuple[int, str | None]:
        pages = self.scanner.pages()
        done = 0
        for page in pages:
            try:
                resp = self._call("POST", f"/api/v1/tickets/{ticket['id']}/attachments?page_size="
                                  f"{quote(page.page_size_name)}", data=upload_jpeg(page), content_type="image/jpeg")
            except ServerUnreachable:
                return done, "server_unreachable"
            if not resp.ok:
                log.warning("attaching a page to ticket %s failed: %s", ticket.get("number"), resp.error_code)
                return done, resp.error_code or "refused"
            done += 1
        if pages:
            self.scanner.clear()
        return done, None

    # ------------------------------------------------------------ links

    def public_link(self, path: str) -> str:
        return (self.config.public_url.rstrip("/") + path) if self.config.public_url else path

    def book_url(self) -> str:
        hall = self._hall or {}
        return self.public_link(BOOK_PATH.format(hall_id=hall.get("id", "")))

    # ------------------------------------------------------------ health

    def device_states(self) -> dict[str, dict[str, Any]]:
        scanner = self.scanner.health() if self.config.scanner_url else ("offline", "not_configured")
        return {"idcard": {"state": self.reader_state[0], "reason": self.reader_state[1]},
                "printer": {"state": self.printer_state[0], "reason": self.printer_state[1]},
                "scanner": {"state": scanner[0], "reason": scanner[1]}}

    def _report_device(self, device: str, state: str, reason: str | None) -> None:
        """Tell the server about a device change (raises or clears its device_fault alert)."""
        reason = REPORT_REASONS.get(reason or "", reason)
        if self._reported.get(device) == (state, reason):
            return
        hall = self._hall
        if hall is None:
            return
        try:
            resp = self._call("POST", f"/api/v1/halls/{hall['id']}/device-health",
                              json_body={"device": device, "state": state, "reason": reason})
        except ServerUnreachable:
            return  # reported again by the monitor once the server is back
        if resp.ok:
            self._reported[device] = (state, reason)
        else:
            log.warning("device-health report refused: %s", resp.error_code)

    def _unreported(self) -> list[tuple[str, str, str | None]]:
        out = []
        for device, st in self.device_states().items():
            if st["reason"] in ("not_configured", "not started"):
                continue
            reason = REPORT_REASONS.get(st["reason"] or "", st["reason"])
            if self._reported.get(device) != (st["state"], reason):
                out.append((device, st["state"], st["reason"]))
        return out

    def report_changes_soon(self) -> None:
        """Report every device whose state changed since the last report, from the reporter thread."""
        if self._stopped or self._hall is None or self._report_pending.is_set() or not self._unreported():
            return
        self._report_pending.set()

        def job() -> None:
            self._report_pending.clear()
            for device, state, reason in self._unreported():
                self._report_device(device, state, reason)

        try:
            self._reporter.submit(job)
        except RuntimeError:  # shut down meanwhile
            self._report_pending.clear()

    def _printer_health(self) -> None:
        def job() -> None:
            if self.printer is None:
                self._open_printer()
            if self.printer is not None:
                self.printer_state = _state_of(self.printer.health())

        try:
            self._printer_worker.submit(job).result(timeout=PRINT_TIMEOUT_S)
        except (DeviceError, FutureTimeout) as e:
            self.printer_state = ("offline", getattr(e, "code", "no_answer"))

    def check_health(self) -> None:
        """One monitor round: reach the server, probe the printer, report every device's state."""
        try:
            self._call("GET", "/healthz", auth=False)
            if self._hall is None:
                self.hall()
        except (ServerUnreachable, AgentError):
            return
        self._printer_health()
        for device, st in self.device_states().items():
            if st["reason"] == "not_configured":
                continue
            self._report_device(device, st["state"], st["reason"])

    def _monitor_loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.check_health()
            except Exception:
                log.exception("kiosk health check failed")
            self._stop.wait(self.config.health_every_s)

    def state(self) -> dict[str, Any]:
        """Return what the page polls: server reachability, devices, current card (masked), scan state."""
        self.report_changes_soon()  # e.g. the camera failed in the scan thread since the last poll
        return {"server_ok": self.server_ok, "devices": self.device_states(), "card": self.current_card(),
                "scan": self.scanner.state(), "sim": self.config.sim, "idle_s": self.config.idle_s,
                "retry_s": self.config.retry_s, "hall": self._hall, "name": self.config.name,
                "book_url": self.book_url() if self._hall else None, "last_event": self.bus.last_seq}

    # ------------------------------------------------------------ demo drills (simulated devices only)

    def simulator(self):
        sim = getattr(self.reader, "simulator", None) if self.reader is not None else None
        if sim is None:
            raise AgentError(404, "not_simulated", "this kiosk has no simulated ID-card reader")
        return sim

    def sim_printer_fault(self, fault: str | None) -> None:
        if self.printer is None or not hasattr(self.printer, "set_fault"):
            raise AgentError(404, "not_simulated", "this kiosk has no virtual printer")
        try:
            self._printer_worker.submit(self.printer.set_fault, fault).result(timeout=5)
        except ValueError as e:
            raise AgentError(422, "validation_error", str(e)) from e
