"""A recording reverse proxy in front of the reference server: the wire-level log of what the suite sent."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

RESET_PATH = "/api/v1/users.resetE2EKey"
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-encoding", "content-length", "host"}


@dataclass(frozen=True)
class Exchange:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    status: int
    response: bytes


@dataclass
class RecordingProxy:
    upstream: str
    log: list[Exchange] = field(default_factory=list)
    #: After this many users.resetE2EKey calls, answer each further one 503 from here (a gateway whose
    #: upstream went away); None = forward everything.
    unavailable_after: int | None = None

    def start(self) -> RecordingProxy:
        proxy = self
        session = requests.Session()
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # else every answer waits ~40 ms for a delayed ACK

            def log_message(self, *args: object) -> None:  # quiet
                pass

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                if proxy.unavailable_after is not None and self.path.startswith(RESET_PATH) \
                        and len(proxy.resets()) >= proxy.unavailable_after:
                    page = b"<html><body>503 Service Unavailable</body></html>"
                    self.send_response(503)
                    self.send_header("Content-Type", "text/html")
                    self.send_header("Content-Length", str(len(page)))
                    self.end_headers()
                    self.wfile.write(page)
                    return
                resp = session.request(self.command, proxy.upstream + self.path, headers=headers, data=body,
                                       allow_redirects=False, timeout=30)
                with lock:
                    proxy.log.append(Exchange(self.command, self.path, headers, body, resp.status_code, resp.content))
                self.send_response(resp.status_code)
                for name, value in resp.headers.items():
                    if name.lower() not in HOP_BY_HOP:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(resp.content)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(resp.content)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_TRACE = do_QUERY = _forward
            do_HEAD = _forward

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def resets(self) -> list[Exchange]:
        return [e for e in self.log if e.path.split("?")[0] == RESET_PATH]
