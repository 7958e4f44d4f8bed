"""Small local fault servers: a switchable HTTP fault proxy (optionally TLS), a silent server, a refused port.

Loopback only; every thread is a daemon and every server stops by itself after `lifetime` seconds,
so a selftest that forgets to stop one cannot hang the session.
"""
from __future__ import annotations

import http.client
import json
import socket
import ssl
import struct
import subprocess
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

RESET_PATH = "/api/v1/users.resetE2EKey"
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host", "proxy-connection"}
LIFETIME_S = 120.0
HOLD_MAX_S = 30.0


def refused_url() -> str:
    """A loopback URL nothing listens on (the port was free a moment ago)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    fault: str  # the fault applied, "" when forwarded
    status: int = 0  # the answer's status (0 = none: reset or held)
    response: bytes = b""
    at: float = field(default_factory=time.monotonic)  # when the request arrived


@dataclass
class FaultProxy:
    """An HTTP proxy in front of `upstream` that the selftest switches into a fault mode.

    Modes: "pass"; "reset" (read the request, then RST the connection without answering); "hang"
    (hold the request unanswered until stop or HOLD_MAX_S, then close); "status" (answer `status`
    with a JSON body, never forwarding); "ratelimit" (429 with X-RateLimit-* headers, reset 1 s
    ahead); "html" (200 text/html); "slow" (forward after `delay` seconds). A fault applies to
    requests whose path is in `paths` (None = all), from the first request matching `trigger`
    ("METHOD /path", None = from the start) on;
    `trigger_after` = the trigger request itself is still forwarded (the fault starts after it).
    """

    upstream: str | None = None
    mode: str = "pass"
    paths: frozenset[str] | None = None
    trigger: str | None = None
    trigger_after: bool = False
    status: int = 500
    delay: float = 0.2  # "slow" mode
    max_faults: int | None = None  # apply the fault to at most this many requests, then forward again
    tls: ssl.SSLContext | None = None
    lifetime: float = LIFETIME_S
    seen: list[Seen] = field(default_factory=list)
    armed: threading.Event = field(default_factory=threading.Event)
    holding: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    faults: int = 0  # requests the fault was applied to

    def start(self) -> FaultProxy:
        proxy = self
        lock = threading.Lock()
        if self.trigger is None:
            self.armed.set()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = 30  # an idle client connection is dropped, not held forever

            def log_message(self, *args: object) -> None:
                pass

            def handle_one(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                path = self.path.split("?")[0]
                key = f"{self.command} {path}"
                with lock:
                    if not proxy.armed.is_set() and key == proxy.trigger and not proxy.trigger_after:
                        proxy.armed.set()
                    fault = proxy.mode if proxy.armed.is_set() and (proxy.paths is None or path in proxy.paths) else ""
                    if fault == "pass" or (fault and proxy.max_faults is not None and proxy.faults >= proxy.max_faults):
                        fault = ""
                    proxy.faults += bool(fault)
                self._status, self._response, arrived = 0, b"", time.monotonic()
                if fault == "reset":
                    self._rst()
                elif fault == "hang":
                    proxy.holding.set()
                    proxy.release.wait(HOLD_MAX_S)
                    self._rst()  # never forward a held request: it must not take effect late
                elif fault == "status":
                    self._answer(proxy.status, {"Content-Type": "application/json"},
                                 json.dumps({"success": False, "error": "fault proxy says no"}).encode())
                elif fault == "ratelimit":
                    reset_ms = int((time.time() + 1.0) * 1000)
                    self._answer(429, {"Content-Type": "application/json", "X-RateLimit-Limit": "10",
                                       "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset_ms)},
                                 json.dumps({"success": False, "error": "Error, too many requests. Please slow "
                                             "down. [error-too-many-requests]"}).encode())
                elif fault == "slow":
                    time.sleep(proxy.delay)
                    self._forward(body)
                elif fault == "html":
                    self._answer(200, {"Content-Type": "text/html; charset=utf-8"},
                                 b"<!doctype html><html><body><h1>Welcome to nginx!</h1></body></html>")
                else:
                    self._forward(body)
                with lock:
                    proxy.seen.append(Seen(self.command, path, tuple(self.headers.items()), body, fault,
                                           self._status, self._response, arrived))
                if proxy.trigger_after and not proxy.armed.is_set() and key == proxy.trigger:
                    proxy.armed.set()

            def _rst(self) -> None:
                # SO_LINGER 0 makes close() send RST: the client sees "connection reset", not a clean EOF.
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.close_connection = True
                self.connection.close()

            def _answer(self, status: int, headers: dict[str, str], body: bytes) -> None:
                self._status, self._response = status, body
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def _forward(self, body: bytes) -> None:
                if proxy.upstream is None:
                    self._answer(502, {"Content-Type": "text/plain"}, b"no upstream")
                    return
                up = urlsplit(proxy.upstream)
                conn = http.client.HTTPConnection(up.hostname, up.port, timeout=30)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                    conn.request(self.command, self.path, body=body or None, headers=headers)
                    resp = conn.getresponse()
                    data = resp.read()
                    self._answer(resp.status, {k: v for k, v in resp.getheaders() if k.lower() not in HOP_BY_HOP},
                                 data)
                finally:
                    conn.close()

            def __getattr__(self, name: str):  # every method (TRACE, QUERY, …): property tests send them all
                if name.startswith("do_"):
                    return self.handle_one
                raise AttributeError(name)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        if self.tls is not None:
            self._server.socket = self.tls.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        daemon=True, name="fault-proxy")
        self._thread.start()
        self._timer = threading.Timer(self.lifetime, self.stop)
        self._timer.daemon = True
        self._timer.start()
        return self

    @property
    def url(self) -> str:
        scheme = "https" if self.tls is not None else "http"
        return f"{scheme}://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        self.release.set()
        self._timer.cancel()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def requests_to(self, path: str) -> list[Seen]:
        return [s for s in list(self.seen) if s.path == path]


class SilentServer:
    """Accepts TCP connections and never answers (a hung server); gives up after `lifetime` seconds."""

    def __init__(self, lifetime: float = LIFETIME_S) -> None:
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self._sock.settimeout(0.2)
        self._stop = threading.Event()
        self._held: list[socket.socket] = []
        self._until = time.monotonic() + lifetime
        self.accepted = 0
        self._thread = threading.Thread(target=self._loop, daemon=True, name="silent-server")
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}"

    def _loop(self) -> None:
        while not self._stop.is_set() and time.monotonic() < self._until:
            try:
                conn, _ = self._sock.accept()
            except (TimeoutError, OSError):
                continue
            self.accepted += 1
            self._held.append(conn)  # keep it open, say nothing
        for conn in self._held:
            conn.close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._sock.close()

    def __enter__(self) -> SilentServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def self_signed_cert(folder: Path) -> tuple[Path, Path]:
    """A throwaway certificate for 127.0.0.1/localhost: (cert.pem, key.pem); `cryptography`, else openssl."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    try:
        import ipaddress

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
    except ImportError:
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-days", "1", "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert),
                        "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                       check=True, capture_output=True, timeout=30)
        return cert, key
    pkey = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(pkey.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                    x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(pkey, hashes.SHA256()))
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key.write_bytes(pkey.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    return cert, key


def server_tls_context(cert: Path, key: Path) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(cert), str(key))
    return ctx
