"""OneVisit queue server: the hall's domain, its services, the REST API and live events."""
from __future__ import annotations

import logging
from typing import Any

from flask import Flask

from hall_queue import config as config_mod
from hall_queue.entrypoints import trusted_proxies
from hall_queue.bootstrap import build_runtime
from hall_queue.infrastructure import request_limits
# Imported before any ``socketio.init_app``: handlers declared on the unbound extension are applied to
# every app's server (one declared after ``init_app`` would reach only that first server).
from hall_queue.entrypoints import socket_events  # declares the Socket.IO handlers
from hall_queue.infrastructure.realtime import emit_to_room, socket_paths_only, socketio

__version__ = "0.1.0"
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
       "media-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; object-src 'none'; "
       "base-uri 'self'; form-action 'self'; frame-ancestors 'none'")
# Sent with every answer unless the view set its own (see ``_security_headers``).
SECURITY_HEADERS = (
    ("Content-Security-Policy", CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
    ("Permissions-Policy", "geolocation=(), microphone=(), camera=()"),
)
# Page blueprints: each module exposes ``bp`` (and optionally ``init_app(app)``).
PAGE_MODULES = ("display.routes", "kiosk.routes", "kiosk.booking", "hall_admin.routes", "hall_admin.manage",
                "hall_admin.appointments", "hall_admin.supervision")


def _register_area_blueprints(app: Flask) -> None:
    """Register the page blueprints of ``display``, ``kiosk`` and ``hall_admin`` that exist."""
    import importlib

    for name in PAGE_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as e:  # that area has no pages yet
            if e.name != name:
                raise
            continue
        app.register_blueprint(module.bp)
        init = getattr(module, "init_app", None)
        if init is not None:
            init(app)


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the Flask app: settings from the environment, overridden by ``config`` (tests)."""
    app = Flask(__name__, instance_path=str(config_mod.instance_dir()))
    app.config.update(config_mod.from_env())
    if config:
        app.config.update(config)
    config_mod.check_production(app.config)
    app.config.setdefault("SESSION_COOKIE_HTTPONLY", True)
    app.config.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    from hall_queue.entrypoints.web_session import KeptSerializerSessions

    app.session_interface = KeptSerializerSessions()
    app.wsgi_app = trusted_proxies.wrap(app.wsgi_app, app.config.get("TRUSTED_PROXIES"))  # client addresses
    request_limits.install(app)  # JSON depth and query integers limited for every endpoint
    app.json.ensure_ascii = False  # Chinese stays readable in answers
    app.json.sort_keys = False

    rt = build_runtime(app)
    app.extensions["onevisit"] = rt

    socketio.init_app(app, async_mode="threading", cors_allowed_origins=app.config.get("CORS_ORIGINS", []),
                      message_queue=app.config.get("SOCKETIO_MESSAGE_QUEUE"),
                      channel=app.config.get("SOCKETIO_CHANNEL", "onevisit"),
                      logger=False, engineio_logger=False)
    app.wsgi_app = socket_paths_only(app.wsgi_app)
    rt.emit = emit_to_room
    socket_events.harden_transport()

    from hall_queue.entrypoints.api import bp as api_bp
    from hall_queue.entrypoints.api.errors import register_error_handlers

    app.register_blueprint(api_bp)
    register_error_handlers(app)
    _register_area_blueprints(app)

    @app.after_request
    def _security_headers(resp):
        # Pages load only their own scripts (no inline script), so a script injected through some
        # visitor-supplied text cannot run; frames are refused (a kiosk page cannot be framed).
        # One pass over the answer's headers instead of a search per header (every request pays it, issue 19).
        headers = resp.headers
        present = {name.lower() for name in headers.keys()}
        for name, value in SECURITY_HEADERS:
            if name.lower() not in present:
                headers.add(name, value)
        return resp

    from hall_queue.entrypoints import front, monitoring

    front.init_app(app)  # shared page modules, /ov/vocabulary.js, the <head> macro and the favicon

    monitoring.init_app(app, __version__)  # /healthz, /readyz, /metrics and the request counters

    logging.getLogger("onevisit").setLevel(app.config.get("LOG_LEVEL", "INFO"))
    return app
