"""Harness fixtures: the embedded reference server, and a tiny real HTTP server answering canned responses."""
from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from rc_e2e_conformance.contract.config import load_settings
from rc_e2e_conformance.server.client import Client
from rc_e2e_conformance.server.evidence import take
from rc_e2e_conformance.server.targets import Target, open_target, stop


@pytest.fixture(scope="module")
def embedded() -> Iterator[tuple[Target, Client]]:
    """The embedded reference server (profile 8) and a client for it."""
    target, client = open_target(load_settings({}, {}, None))
    yield target, client
    client.close()
    stop(target)


class Canned:
    """Routes: path -> (status, content type, body bytes, extra headers)."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, str, bytes, dict[str, str]]] = {}
        self.hits: dict[str, int] = {}
        self.cookies: list[str | None] = []  # the Cookie header of every request, in order
        self.url = ""

    def answer(self, path: str, status: int, body: Any, ctype: str = "application/json",
               headers: dict[str, str] | None = None) -> str:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.routes[path] = (status, ctype, raw, headers or {})
        return path


@pytest.fixture
def canned() -> Iterator[Canned]:
    state = Canned()

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            path = self.path.split("?")[0]
            state.hits[path] = state.hits.get(path, 0) + 1
            state.cookies.append(self.headers.get("Cookie"))
            status, ctype, raw, extra = state.routes.get(path, (404, "application/json", b'{"success":false}', {}))
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(raw)))
            for k, v in extra.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(raw)

        do_GET = do_POST = _serve

        def log_message(self, *args: Any) -> None:  # keep test output clean
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        take()  # drop evidence recorded by the test
