"""Client: network failures become one-line TargetErrors (never AssertionError); only GETs are retried."""
from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from rc_e2e_conformance.contract.errors import TargetError
from rc_e2e_conformance.server.client import Client


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RawServer:
    """A TCP listener with a chosen misbehaviour: 'silent' (never answers) or 'reset' (closes at once)."""

    def __init__(self, mode: str) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.mode = mode
        self.accepted = 0
        self.conns: list[socket.socket] = []
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            if self.mode == "reset":
                conn.recv(65536)
                # SO_LINGER 0 makes close() send RST: a real "connection reset by peer".
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                conn.close()
            else:
                self.conns.append(conn)

    def close(self) -> None:
        self.sock.close()
        for c in self.conns:
            c.close()


@pytest.fixture
def raw() -> Iterator[list[RawServer]]:
    servers: list[RawServer] = []
    yield servers
    for s in servers:
        s.close()


def _one_line_target_error(exc: pytest.ExceptionInfo) -> str:
    text = str(exc.value)
    assert "\n" not in text and not isinstance(exc.value, AssertionError)
    return text


def test_connection_refused():
    url = f"http://127.0.0.1:{_free_port()}"
    with pytest.raises(TargetError) as info:
        Client(url, timeout=2).post("/api/v1/users.resetE2EKey", json={})
    assert _one_line_target_error(info) == f"cannot reach {url}: connection refused (POST /api/v1/users.resetE2EKey)"


def test_dns_failure():
    with pytest.raises(TargetError) as info:
        Client("http://rcc-no-such-host.invalid", timeout=2).get("/api/info")
    assert "DNS lookup failed" in _one_line_target_error(info)


def test_timeout_names_the_timeout(raw):
    raw.append(RawServer("silent"))
    with pytest.raises(TargetError) as info:
        Client(raw[0].url, timeout=0.3).post("/api/v1/login", json={"password": "hunter2-secret"})
    text = _one_line_target_error(info)
    assert "timed out after 0.3 s" in text and "hunter2-secret" not in text


def test_connection_reset(raw):
    raw.append(RawServer("reset"))
    with pytest.raises(TargetError) as info:
        Client(raw[0].url, timeout=2).post("/api/v1/users.resetE2EKey", json={})
    assert "connection reset" in _one_line_target_error(info)


def test_tls_error_against_plain_http(canned):
    https = canned.url.replace("http://", "https://")
    with pytest.raises(TargetError) as info:
        Client(https, timeout=2).get("/api/info")
    assert "TLS error" in _one_line_target_error(info)


def test_gets_are_retried_posts_never(raw):
    raw.append(RawServer("reset"))
    client = Client(raw[0].url, timeout=2)
    with pytest.raises(TargetError):
        client.post("/api/v1/users.resetE2EKey", json={})
    assert raw[0].accepted == 1
    with pytest.raises(TargetError):
        client.get("/api/info")
    assert raw[0].accepted == 1 + 3  # one try + two retries


def test_non_json_answers_are_returned_and_429s_counted(canned):
    canned.answer("/html", 502, b"<html>bad gateway</html>", ctype="text/html")
    canned.answer("/busy", 429, {"success": False, "error": "slow down [error-too-many-requests]"})
    client = Client(canned.url, timeout=2)
    assert client.get("/html").status_code == 502  # tests judge it; the client does not raise
    client.post("/busy", json={})
    client.post("/busy", json={})
    assert client.rate_limited == 2


def test_no_cookie_is_sent_back_and_each_thread_has_its_own_session(canned):
    """A user's session is its headers: a cookie one answer sets never rides on the next request (which
    may be another user's); the pool's threads each get their own requests session."""
    canned.answer("/api/v1/login", 200, {"status": "success"}, headers={"Set-Cookie": "rc_token=abc; Path=/"})
    canned.answer("/api/v1/me", 200, {"success": True})
    client = Client(canned.url)
    client.post("/api/v1/login", json={})
    client.get("/api/v1/me")
    assert canned.cookies == [None, None]
    seen: list[object] = []
    thread = threading.Thread(target=lambda: seen.append(client.session))
    thread.start()
    thread.join()
    assert seen[0] is not client.session and client.session is client.session
    client.close()
