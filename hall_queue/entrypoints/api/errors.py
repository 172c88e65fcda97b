"""One JSON error shape for every failure: ``{"error": {"code", "message"}}``."""
from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template_string, request
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError, OperationalError
from werkzeug.exceptions import HTTPException

from hall_queue.domain.errors import DomainError

log = logging.getLogger("onevisit.api")


def error_response(status: int, code: str, message: str):
    resp = jsonify({"error": {"code": code, "message": message}})
    resp.status_code = status
    return resp


def describe_validation(e: ValidationError) -> str:
    parts = []
    for err in e.errors()[:5]:
        loc = ".".join(str(x) for x in err.get("loc", ())) or "body"
        parts.append(f"{loc}: {err.get('msg', 'invalid')}")
    return "; ".join(parts)


_HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
               405: "method_not_allowed", 409: "conflict", 413: "payload_too_large", 415: "unsupported_media_type",
               429: "too_many_requests"}


# Pages people open from a link or a QR code get these instead of the server's English error page.
FRIENDLY_PAGES = {
    404: ("链接已失效或页面不存在", ("这个链接已过期或有误：号票办结后排队进度页会关闭，办事指南也可能已更新。"
                                 "请在大厅取号机上重新查看，或咨询导办台工作人员。")),
    400: ("页面已过期", "请返回上一页刷新后重试。"),
    405: ("无法打开这个页面", "请返回上一页重试，或咨询导办台工作人员。"),
}
FRIENDLY_PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}</title>
<style>
body { margin: 0; font-family: "PingFang SC", "Noto Sans CJK SC", "Microsoft YaHei", sans-serif; background: #f3f5f8;
  color: #1d2733; }
main { max-width: 560px; margin: 0 auto; padding: 48px 24px; text-align: center; }
.mark { width: 72px; height: 72px; line-height: 72px; border-radius: 50%; background: #e6f0fb; color: #0b4a8b;
  font-size: 40px; font-weight: 800; margin: 0 auto 20px; }
h1 { font-size: 24px; margin: 0 0 16px; }
p { font-size: 17px; line-height: 1.7; color: #4a5663; }
</style></head>
<body><main><div class="mark">!</div><h1>{{ title }}</h1><p>{{ text }}</p></main></body></html>"""


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain(e: DomainError):
        return error_response(e.status, e.code, e.message)

    @app.errorhandler(ValidationError)
    def _validation(e: ValidationError):
        return error_response(422, "validation_error", describe_validation(e))

    @app.errorhandler(OperationalError)
    def _db_down(e: OperationalError):
        log.error("database unavailable: %s", type(e.orig).__name__ if e.orig else e)
        return error_response(503, "database_unavailable", "the database is unavailable; please retry shortly")

    @app.errorhandler(IntegrityError)
    def _integrity(e: IntegrityError):
        # A uniqueness rule caught a race the services did not foresee: nothing was written.
        log.warning("integrity conflict: %s", type(e.orig).__name__ if e.orig else e)
        return error_response(409, "conflict", "the request conflicted with a concurrent change; please retry")

    @app.errorhandler(HTTPException)
    def _http(e: HTTPException):
        if not request.path.startswith("/api/"):
            if request.path.startswith("/kiosk/agent/") or (e.code or 500) not in FRIENDLY_PAGES:
                return e
            # A person opened a link (an old slip's QR code, a guide link): a Chinese page fit for a phone.
            title, text = FRIENDLY_PAGES[e.code]
            if e.description and any("\u4e00" <= ch <= "\u9fff" for ch in e.description):
                text = e.description  # the page's own Chinese explanation
            return render_template_string(FRIENDLY_PAGE, title=title, text=text), e.code
        status = e.code or 500
        return error_response(status, _HTTP_CODES.get(status, "http_error"), e.description or e.name)

    @app.errorhandler(Exception)
    def _unexpected(e: Exception):
        log.exception("unexpected error on %s %s", request.method, request.path)
        return error_response(500, "internal", "internal error; it has been logged")
