"""Pages of the hall screen (综合屏) and window screens (窗口屏), and their voice files.

The pages are server-rendered shells; small plain-JS modules connect Socket.IO with the screen's
token from the URL, render the snapshot they get on join, then apply events. The token is checked
here as well, so a wrong or revoked token shows a clear message instead of a blank screen.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, current_app, render_template, request, send_file

from hall_queue.entrypoints.api.errors import error_response
from hall_queue.access.audit import Actor
from hall_queue.access.auth import authenticate
from hall_queue.domain.errors import DomainError
from hall_queue.domain.models import Hall, Window
from hall_queue.domain.vocabulary import MAX_ID
from hall_queue.bootstrap import runtime

from .voice import (
    ESPEAK_SPEED,
    MAX_PROMPT,
    MAX_TEXT,
    VoiceRenderer,
    VoiceUnavailable,
    is_announcement,
    is_prompt,
)

bp = Blueprint("display", __name__, url_prefix="/display", template_folder="templates", static_folder="static",
               static_url_path="/static")

LAYOUTS = ("small", "wide")
# Who may open a screen page: the screen devices themselves, and staff checking what visitors see.
PAGE_KINDS = ("screen", "staff")


def init_app(app: Flask) -> None:
    """Set up the voice renderer: espeak-ng (``ESPEAK_NG`` / ``ONEVISIT_ESPEAK``), its speed
    (``VOICE_SPEED`` / ``ONEVISIT_VOICE_SPEED``, words per minute) and a WAV cache under instance/."""
    command = app.config.get("ESPEAK_NG") or os.environ.get("ONEVISIT_ESPEAK", "espeak-ng")
    speed = int(app.config.get("VOICE_SPEED") or os.environ.get("ONEVISIT_VOICE_SPEED") or ESPEAK_SPEED)
    cache = app.config.get("VOICE_CACHE_DIR") or Path(app.instance_path) / "voice-cache"
    app.extensions["onevisit_voice"] = VoiceRenderer(Path(cache), command=command, speed=speed)


def _renderer() -> VoiceRenderer:
    return current_app.extensions["onevisit_voice"]


def _actor(token: str | None) -> Actor | None:
    if not token:
        return None
    rt = runtime()
    try:
        with rt.db.read() as s:
            return authenticate(s, token, now=rt.clock.now()).actor
    except DomainError:
        return None


def _problem(status: int, title: str, detail: str, en: str = ""):
    """An error page for whoever installs the screen: Chinese, with the English line only on ?lang=en or bi."""
    if en and request.args.get("lang") in ("en", "bi"):
        detail = f"{detail} {en}"
    resp = current_app.make_response(render_template("display/problem.html", title=title, detail=detail))
    resp.status_code = status
    return _no_store(resp)


def _no_store(resp):
    resp.headers["Cache-Control"] = "no-store"
    # The token is in the page URL: never hand it to another site in a Referer header.
    resp.headers["Referrer-Policy"] = "no-referrer"
    return resp


def _page_actor() -> tuple[Actor | None, Any]:
    """Return the actor of the page's ``?token=``, or an error page for a missing or invalid one."""
    token = request.args.get("token")
    if not token:
        return None, _problem(401, "缺少屏幕令牌", "请在地址后加上 ?token=屏幕令牌（由管理员在配置中生成）。",
                                 en="Missing screen token: add ?token=… to the address.")
    actor = _actor(token)
    if actor is None:
        return None, _problem(401, "屏幕令牌无效", "令牌无效、已过期或已吊销，请联系大厅管理员重新配置本屏。",
                                 en="Invalid, expired or revoked screen token.")
    if actor.kind not in PAGE_KINDS:
        return None, _problem(403, "此令牌不能用于显示屏", "该令牌属于取号机或评价器，不能打开显示屏。",
                                 en="This token does not belong to a screen.")
    return actor, None


def _out_of_scope(actor: Actor, hall_id: int, window_id: int | None = None) -> Any:
    """Return an error page when the token belongs to another hall or window, else ``None``."""
    if actor.hall_id is not None and actor.hall_id != hall_id:
        return _problem(403, "令牌不属于本大厅", "该屏幕令牌属于其他大厅。", en="This token belongs to another hall.")
    if actor.window_id is not None and actor.window_id != window_id:
        return _problem(403, "令牌不属于本窗口", "该屏幕令牌只能显示它所属的窗口。",
                                 en="This screen token is bound to another window.")
    return None


@bp.get("/hall/<int:hall_id>")
def hall_screen(hall_id: int):
    """Serve the hall screen (综合屏, 1920×1080 or 800×480): calls, windows, passed numbers, waits, notices."""
    actor, refused = _page_actor()
    if refused is not None:
        return refused
    refused = _out_of_scope(actor, hall_id)
    if refused is not None:
        return refused
    with runtime().db.read() as s:
        hall = s.get(Hall, hall_id) if 0 < hall_id <= MAX_ID else None
        if hall is None:
            return _problem(404, "大厅不存在", f"没有编号为 {hall_id} 的大厅。", en="Hall not found.")
        name, tz = hall.name, hall.timezone
    voice = request.args.get("voice", "1") != "0"
    return _no_store(current_app.make_response(render_template(
        "display/hall.html", hall_id=hall_id, hall_name=name, timezone=tz, voice=voice)))


@bp.get("/window/<int:window_id>")
def window_screen(window_id: int):
    """Serve a window screen (窗口屏), ``?layout=small|wide``: number served, clerk, window status."""
    actor, refused = _page_actor()
    if refused is not None:
        return refused
    with runtime().db.read() as s:
        window = s.get(Window, window_id) if 0 < window_id <= MAX_ID else None
        if window is None or (actor.hall_id is not None and actor.hall_id != window.hall_id):
            return _problem(404, "窗口不存在", f"本大厅没有编号为 {window_id} 的窗口。", en="Window not found.")
        hall = s.get(Hall, window.hall_id)
        info = {"window_id": window.id, "window_number": window.number, "window_name": window.name,
                "hall_id": hall.id, "hall_name": hall.name, "timezone": hall.timezone}
    refused = _out_of_scope(actor, info["hall_id"], window_id)
    if refused is not None:
        return refused
    layout = request.args.get("layout", "wide")
    if layout not in LAYOUTS:
        return _problem(400, "布局参数无效", f"layout 只能是 {' 或 '.join(LAYOUTS)}。", en="layout must be small or wide.")
    # A window screen is silent by default: the hall screen announces; ?voice=1 for a window with a speaker.
    voice = request.args.get("voice", "0") == "1"
    return _no_store(current_app.make_response(render_template("display/window.html", layout=layout, voice=voice,
                                                               **info)))


@bp.get("/voice")
def voice():
    """Answer the WAV of one call announcement (spoken form, e.g. 请A零二三号到五号窗口办理)."""
    header = request.headers.get("Authorization", "")
    actor = _actor(header[7:].strip() if header.startswith("Bearer ") else None)  # never a token in this URL
    if actor is None or actor.kind not in PAGE_KINDS + ("kiosk",):
        return error_response(401, "unauthorized", "send Authorization: Bearer <screen token>")
    text = request.args.get("text", "")
    if actor.kind == "kiosk":
        # The kiosk's spoken prompts (适老模式) where its browser has no Chinese voice (issue 21).
        if not is_prompt(text):
            return error_response(400, "not_prompt", f"a kiosk prompt is Chinese text of at most {MAX_PROMPT} characters")
    elif len(text) > MAX_TEXT:
        return error_response(400, "text_too_long", f"an announcement has at most {MAX_TEXT} characters")
    elif not is_announcement(text):
        return error_response(400, "not_announcement", "only call announcements like 请A零二三号到五号窗口办理 are spoken")
    renderer = _renderer()
    if not renderer.available():
        return error_response(503, "voice_unavailable", "espeak-ng is not installed on the server; "
                                                        "install the Debian package espeak-ng")
    try:
        path = renderer.render(text)
    except VoiceUnavailable as e:
        current_app.logger.warning("voice render failed: %s", e)
        return error_response(503, "voice_unavailable", "the server could not render this announcement")
    resp = send_file(path, mimetype="audio/wav", max_age=86400)
    return resp
