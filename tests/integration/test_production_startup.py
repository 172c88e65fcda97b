"""Issue 13, findings 1 and 11 against a real ``onevisit run`` in production mode: start-up prints no
token (it used to print the screen token), the access log hides ``token=``, and the kiosk agent is not
reachable anonymously even when a kiosk token is lying in the instance folder."""
from __future__ import annotations

import json
import logging

import requests

from hall_queue.entrypoints.cli import RedactTokens
from tests.server import ServerProcess, prepared_instance

PROD_ENV = {"ONEVISIT_ENV": "production", "ONEVISIT_SECRET_KEY": "s" * 48, "ONEVISIT_DATA_KEY": "d" * 48,
            "ONEVISIT_PUBLIC_URL": "https://zwfw.example.gov.cn", "ONEVISIT_COOKIE_SECURE": "0"}


def test_production_start_up_prints_no_token_and_has_no_open_agent(tmp_path):
    prepared_instance(tmp_path, demo=True)  # `init` + a development demo left its tokens behind in the instance folder
    tokens = json.loads((tmp_path / "demo-tokens.json").read_text())
    srv = ServerProcess(tmp_path, env=PROD_ENV, args=("--access-log",))
    srv.start()
    try:
        screen = requests.get(f"{srv.url}/display/hall/{tokens['hall_id']}?token={tokens['screen']}", timeout=10)
        assert screen.status_code == 200
        for method, path in (("POST", "/kiosk/agent/sim/swipe"), ("POST", "/kiosk/agent/tickets"),
                             ("GET", "/kiosk/agent/state"), ("GET", "/kiosk/agent/sim/last-printout")):
            r = requests.request(method, srv.url + path, json={"request_id": "attacker-0001", "item_ids": [1],
                                                                "with_identity": True}, timeout=10)
            assert r.status_code == 404, (path, r.text)
            assert r.json()["error"]["code"] == "not_found"
    finally:
        srv.stop()
    log = srv.log.read_text()
    assert "OneVisit serving on" in log
    assert tokens["screen"] not in log and tokens["kiosk"] not in log
    assert "/display/hall/" in log and "token=***" in log  # the request was logged, its token hidden


def test_development_start_up_still_lists_the_demo_pages(tmp_path):
    srv = ServerProcess(prepared_instance(tmp_path, demo=True))  # as `onevisit init` + `onevisit demo`
    srv.start()
    srv.stop()
    assert "hall screen:" in srv.log.read_text()


def test_the_log_filter_hides_tokens_in_any_position():
    record = logging.LogRecord("werkzeug", logging.INFO, __file__, 1, '%s - - "%s" %s',
                               ("127.0.0.1", "GET /display/window/3?layout=wide&token=ovsc_AbC-12_x HTTP/1.1", "200"),
                               None)
    assert RedactTokens().filter(record)
    line = record.getMessage()
    assert "ovsc_" not in line and "?layout=wide&token=*** HTTP/1.1" in line
