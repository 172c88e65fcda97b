"""One JSON error shape for every failure: ``{"error": {"code", "message"}}``."""
from __future__ import annotations

import logging

from flask import Flask, render_template, request
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError, OperationalError
from werkzeug.exceptions import HTTPException

from hall_queue.domain.errors import DomainError
from hall_queue.entrypoints.http_errors import JSON_PATHS, error_response, http_error_json

__all__ = ["FRIENDLY_PAGE", "FRIENDLY_PAGES", "describe_validation", "error_response", "register_error_handlers"]

log = logging.getLogger("onevisit.api")


def describe_validation(e: ValidationError) -> str:
    parts = []
    for err in e.errors()[:5]:
        loc = ".".join(str(x) for x in err.get("loc", ())) or "body"
        parts.append(f"{loc}: {err.get('msg', 'invalid')}")
    return "; ".join(parts)


# Pages people open from a link or a QR code get these instead of the server's English error page.
FRIENDLY_PAGES = {
    404: ("链接已失效或页面不存在", ("这个链接已过期或有误：号票办结后排队进度页会关闭，办事指南也可能已更新。"
                                 "请在大厅取号机上重新查看，或咨询导办台工作人员。")),
    400: ("页面已过期", "请返回上一页刷新后重试。"),
    405: ("无法打开这个页面", "请返回上一页重试，或咨询导办台工作人员。"),
}
FRIENDLY_PAGE = "ov/friendly.html"  # through the shared <head> (hall_queue/templates/ov/)


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
        if not request.path.startswith(JSON_PATHS):
            if (e.code or 500) not in FRIENDLY_PAGES:
                return e
            # A person opened a link (an old slip's QR code, a guide link): a Chinese page fit for a phone.
            title, text = FRIENDLY_PAGES[e.code]
            if e.description and any("\u4e00" <= ch <= "\u9fff" for ch in e.description):
                text = e.description  # the page's own Chinese explanation
            return render_template(FRIENDLY_PAGE, title=title, text=text), e.code
        return http_error_json(e)

    @app.errorhandler(Exception)
    def _unexpected(e: Exception):
        log.exception("unexpected error on %s %s", request.method, request.path)
        return error_response(500, "internal", "internal error; it has been logged")
