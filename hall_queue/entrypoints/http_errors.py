"""The one JSON error shape, ``{"error": {"code", "message"}}``, for the queue server and the kiosk PC's agent.

Kept apart from ``api.errors`` (the server's handlers) so the kiosk PC's app answers the same shape without
importing the server's API.
"""
from __future__ import annotations

from flask import jsonify
from werkzeug.exceptions import HTTPException

HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
              405: "method_not_allowed", 409: "conflict", 413: "payload_too_large", 415: "unsupported_media_type",
              429: "too_many_requests"}
# Paths whose callers are programs (the API, the kiosk page's agent calls): refusals are JSON, never a page.
JSON_PATHS = ("/api/", "/kiosk/agent/")


def error_response(status: int, code: str, message: str):
    resp = jsonify({"error": {"code": code, "message": message}})
    resp.status_code = status
    return resp


def http_error_json(e: HTTPException):
    """An HTTP refusal (a routing 404, a 405, werkzeug's 400, a 413) in the JSON error shape."""
    status = e.code or 500
    return error_response(status, HTTP_CODES.get(status, "http_error"), e.description or e.name)
