"""The HTTP client every request of a run goes through: timeouts, TLS, one-line network errors, 429 count."""
from __future__ import annotations

import errno
import http.cookiejar
import re
import socket
import ssl
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import requests

from rc_e2e_conformance.contract.errors import TargetError
from rc_e2e_conformance.contract.redact import redact

_UNSET: Any = object()
#: Network failures of a GET are retried this many times (setup reads only; POSTs never are).
GET_RETRIES = 2


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception, its causes/contexts and the exceptions urllib3 tucks into args."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        cur = todo.pop()
        if id(cur) in seen:
            continue
        seen.add(id(cur))
        yield cur
        todo.extend(e for e in (cur.__cause__, cur.__context__, getattr(cur, "reason", None))
                    if isinstance(e, BaseException))
        todo.extend(a for a in cur.args if isinstance(a, BaseException))


def describe_network_error(exc: BaseException, timeout: float | None = None) -> str:
    """Name the failure the way an operator would: refused, DNS, timeout, TLS, reset."""
    chain = list(_chain(exc))
    text = " ".join(str(e) for e in chain).lower()
    if any(isinstance(e, (ssl.SSLError, requests.exceptions.SSLError)) for e in chain):
        detail = next((str(e) for e in chain if isinstance(e, ssl.SSLError)), "")
        return f"TLS error ({detail})" if detail else "TLS error"
    if any(isinstance(e, requests.exceptions.Timeout) for e in chain) or "timed out" in text:
        return f"timed out after {timeout:g} s" if timeout else "timed out"
    if any(isinstance(e, ConnectionRefusedError) for e in chain) or "connection refused" in text \
            or any(getattr(e, "errno", None) == errno.ECONNREFUSED for e in chain):
        return "connection refused"
    if any(isinstance(e, socket.gaierror) for e in chain) or any(
            s in text for s in ("name or service not known", "nodename nor servname", "name resolution",
                                "getaddrinfo failed", "no address associated")):
        return "DNS lookup failed"
    if any(isinstance(e, ConnectionResetError) for e in chain) or "connection reset" in text \
            or "connection aborted" in text or "remote end closed" in text:
        return "connection reset by the server"
    last = chain[-1] if chain else exc
    return f"{type(last).__name__}: {str(last).splitlines()[0] if str(last) else 'network error'}"


#: The longest a 429 is waited out (Rocket.Chat's default window is 60 s).
MAX_RATE_LIMIT_WAIT = 65.0
_WAIT_TEXT_RE = re.compile(r"wait (\d+) seconds")


def rate_limit_wait(resp: requests.Response) -> float | None:
    """Seconds until a 429's window resets: X-RateLimit-Reset (epoch ms), else the "wait N seconds" text."""
    reset = resp.headers.get("X-RateLimit-Reset", "")
    if reset.isdigit():
        return max(int(reset) / 1000 - time.time(), 0.0) + 0.5
    match = _WAIT_TEXT_RE.search(resp.text or "")
    return float(match.group(1)) + 0.5 if match else None


class _NoCookies(http.cookiejar.DefaultCookiePolicy):
    def set_ok(self, cookie: http.cookiejar.Cookie, request: Any) -> bool:
        return False


class Client:
    """Requests to one base URL; raises TargetError (one redacted line) on network failure.

    The run's pool threads send too, and a `requests.Session` is not documented as thread-safe: each
    thread gets its own, made alike. None keeps cookies: a user's session is its headers, never a jar
    another user's request could carry.
    """

    def __init__(self, base_url: str, *, timeout: float = 10.0, verify_tls: bool = True,
                 ca_bundle: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        # requests treats a path in `verify` as the CA bundle; False disables verification.
        self.verify: bool | str = ca_bundle if (ca_bundle and verify_tls) else verify_tls
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self.rate_limited = 0  # 429 answers seen, read by the plugin for RunInfo.rate_limited_answers
        self._lock = threading.Lock()
        #: time.monotonic() by which the run must end (None = no deadline): a 429 is waited out only before it.
        self.deadline: float | None = None
        self._waits = threading.local()  # .off: True inside `expecting_429()`
        #: Where one-line notices go (the plugin points it at the console); stderr by default.
        self.notify: Callable[[str], None] = lambda line: print(line, file=sys.stderr, flush=True)

    @property
    def session(self) -> requests.Session:
        """This thread's session."""
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            session.headers["User-Agent"] = "rc-e2e-conformance"
            session.verify = self.verify
            session.trust_env = False  # a proxy from the environment would change what the server sees
            session.cookies.set_policy(_NoCookies())
            with self._lock:
                self._sessions.append(session)
        return session

    @contextmanager
    def expecting_429(self) -> Iterator[None]:
        """Within the block a 429 answer is returned at once (RATE-01 wants to see it)."""
        self._waits.off = True
        try:
            yield
        finally:
            self._waits.off = False

    def _wait_for_window(self, resp: requests.Response, method: str, path: str) -> bool:
        """A 429 the suite did not ask for: sleep until the limiter window resets, if the deadline allows.

        Rocket.Chat's limiter runs before the handler, so a call it refused did nothing and may be
        sent again; a call the suite needs answered is then sent once more (True).
        """
        if getattr(self._waits, "off", False):
            return False
        wait = rate_limit_wait(resp)
        if wait is None or wait > MAX_RATE_LIMIT_WAIT:
            return False
        if self.deadline is not None and time.monotonic() + wait > self.deadline:
            return False
        self.notify(f"rc-conformance: the target rate-limited {method} {path.split('?')[0]}: "
                    f"waiting {wait:.0f} s for its window to reset")
        time.sleep(wait)
        return True

    def url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else f"{self.base_url}/{path.lstrip('/')}"

    def request(self, method: str, path: str, *, headers: dict[str, str] | None = None, json: Any = _UNSET,
                data: Any = None, params: dict[str, Any] | None = None,
                timeout: float | None = None, _waited: bool = False) -> requests.Response:
        """Send one request. Any HTTP answer is returned (tests judge it); network failures raise TargetError."""
        method = method.upper()
        url = self.url(path)
        wait = timeout if timeout is not None else self.timeout
        kwargs: dict[str, Any] = {"headers": headers, "params": params, "timeout": wait,
                                  "allow_redirects": False}
        if json is not _UNSET:
            kwargs["json"] = json
        if data is not None:
            kwargs["data"] = data
        # Only reads are retried: a retried POST could reset a key twice or hide what the server did.
        attempts = 1 + (GET_RETRIES if method == "GET" else 0)
        for attempt in range(attempts):
            try:
                resp = self.session.request(method, url, **kwargs)
            except requests.exceptions.RequestException as exc:
                if attempt + 1 < attempts and not isinstance(exc, requests.exceptions.SSLError):
                    continue
                what = describe_network_error(exc, wait)
                verb = "cannot reach" if not isinstance(exc, requests.exceptions.ReadTimeout) else "no answer from"
                raise TargetError(redact(f"{verb} {self.base_url}: {what} ({method} {path.split('?')[0]})")) from None
            if resp.status_code == 429:
                with self._lock:
                    self.rate_limited += 1
                if not _waited and self._wait_for_window(resp, method, path):  # once: a 429 storm is an answer
                    return self.request(method, path, headers=headers, json=json, data=data, params=params,
                                        timeout=timeout, _waited=True)
            return resp
        raise RuntimeError("unreachable")  # pragma: no cover - the loop returns or raises

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def close(self) -> None:
        with self._lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()
