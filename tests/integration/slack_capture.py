"""A local HTTP server that records what Slack clients post to it (webhook or Web API), on loopback."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs


class SlackCapture:
    def __init__(self) -> None:
        self.payloads: list[dict] = []
        capture = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                if self.headers.get("Content-Type", "").startswith("application/json"):
                    payload = json.loads(body)
                else:
                    payload = {k: v[0] for k, v in parse_qs(body).items()}
                capture.payloads.append({"path": self.path, **payload})
                reply = b"ok" if self.path.startswith("/hook") else b'{"ok": true, "channel": "C1", "ts": "1.0"}'
                self.send_response(200)
                self.send_header("Content-Type", "text/plain" if self.path.startswith("/hook") else "application/json")
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
