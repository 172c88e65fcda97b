"""``onevisit kiosk``: the agent on a kiosk PC — the touch pages plus the devices, forwarding to the hall's server."""
from __future__ import annotations

import atexit
import logging

from flask import Flask, jsonify, redirect, request
from werkzeug.exceptions import HTTPException

from hall_queue.entrypoints import front
from hall_queue.entrypoints.http_errors import JSON_PATHS, http_error_json
from hall_queue.infrastructure import request_limits

from . import pages
from .agent import AgentConfig, KioskAgent
from .guard import AgentGuard, parse_addresses
from .upstream import HttpUpstream


def create_kiosk_app(*, server: str, token: str, config: AgentConfig, port: int | None = None,
                     addresses: str | None = None) -> Flask:
    """Build the kiosk PC's app: ``/kiosk/`` pages and agent API, devices opened from their URLs.

    The agent API answers only the kiosk's own addresses (loopback unless ``addresses``), and only a
    ``Host`` of ``localhost``/``127.0.0.1``/``[::1]`` with ``port`` and a matching ``Origin``: a web
    page that rebinds its own name to 127.0.0.1 (DNS rebinding) is refused (guard.py).
    """
    guard = AgentGuard(addresses=parse_addresses(addresses), port=port)
    app = Flask("kiosk")
    request_limits.install(app)  # deeply nested JSON and huge query integers answer 4xx (issue 13)
    app.json.ensure_ascii = False
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024  # the page sends small JSON bodies only
    if not config.public_url:
        config.public_url = server.rstrip("/")
    agent = KioskAgent(HttpUpstream(server, token), config).start()
    atexit.register(agent.stop)
    app.extensions["kiosk_agent"] = agent
    app.register_blueprint(pages.bp)
    front.init_app(app)  # the shared page modules and <head> macro the touch pages use
    pages.set_agent_provider(app, lambda: agent, guard=guard)

    @app.errorhandler(HTTPException)
    def _http(e: HTTPException):
        # The page's agent calls read JSON: a 404, 405 or 413 there is the API's error shape, not an HTML page.
        return http_error_json(e) if request.path.startswith(JSON_PATHS) else e

    @app.get("/")
    def root():
        return redirect("/kiosk/")

    @app.get("/healthz")
    def healthz():
        return jsonify({"ok": True, "server_ok": agent.server_ok, "devices": agent.device_states()})

    logging.getLogger("onevisit").setLevel(logging.INFO)
    return app
