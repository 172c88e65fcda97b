"""A real HTTP server on 127.0.0.1 standing in for a webhook or platform receiver (outbox tests)."""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class WebhookReceiver:
    """Answer every POST with the status ``answer`` gives (``None`` drops the connection mid-request).

    Subclasses set their own state before calling ``super().__init__``: the server answers from then on.
    """

    def __init__(self, path: str = "/hook") -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                status = receiver.answer(self.headers, body)
                if status is None:
                    self.close_connection = True
                    self.connection.shutdown(2)  # the receiver falls over mid-request
                    return
                self.send_response(status)
                self.end_headers()

            def log_message(self, *_a):  # quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}{path}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, headers: Any, body: str) -> int | None:
        """Return the HTTP status for one request (headers as sent, body as text)."""
        raise NotImplementedError

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
