"""Actors: the users a test acts as. Each acts itself (`privileged.reset(userId=…)` returns the answer) and
keeps its session: one that a (broken) server may have ended is renewed with one login before its next call."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import requests

from rc_e2e_conformance.contract.errors import ProvisioningError, TargetError
from rc_e2e_conformance.contract.redact import redact, register_secret

from .client import Client
from .totp import Totp, password_code

API = "/api/v1"
LOGIN = f"{API}/login"
RESET = f"{API}/users.resetE2EKey"
#: The body keys that name a target (behaviour.md §1.1); a body naming nobody else is a self-reset.
TARGET_KEYS = ("userId", "username", "user")
_DEFAULT: Any = type("_Default", (), {"__repr__": lambda self: "<default>"})()


def json_body(resp: requests.Response, what: str) -> dict[str, Any]:
    """The JSON object of a setup answer; anything else means the target misbehaves (TargetError)."""
    try:
        body = resp.json()
    except ValueError:
        ctype = resp.headers.get("Content-Type", "no content type")
        raise TargetError(redact(f"{what}: HTTP {resp.status_code} with a non-JSON answer ({ctype})")) from None
    if not isinstance(body, dict):
        raise TargetError(redact(f"{what}: HTTP {resp.status_code} with a JSON {type(body).__name__}, not an object"))
    return body


def ok_body(resp: requests.Response, what: str) -> dict[str, Any]:
    """The JSON object of a set-up call that must succeed (HTTP 200, no `success: false`), else ProvisioningError."""
    body = json_body(resp, what)
    if resp.status_code != 200 or body.get("success") is False:
        raise ProvisioningError(redact(f"{what} failed (HTTP {resp.status_code}): {_reason(body)}"))
    return body


def _reason(body: dict[str, Any]) -> str:
    return str(body.get("error") or body.get("message") or body.get("errorType") or "no reason given")


def login(client: Client, user: str, password: str, totp: Totp | None = None) -> tuple[str, str]:
    """Log in by username/e-mail and password (+ TOTP code); return (userId, authToken).

    Sent once: a refused login is never retried (Rocket.Chat blocks an account for 5 minutes after
    10 failures), and the error says which of the usual causes it was.
    """
    register_secret(password)
    body: dict[str, Any] = {"user": user, "password": password}
    if totp is not None:
        body["code"] = totp.fresh()
    resp = client.post(LOGIN, json=body)
    data = json_body(resp, f"login as {user!r}")
    if resp.status_code != 200:
        raise ProvisioningError(redact(f"login as {user!r} refused (HTTP {resp.status_code}): "
                                       f"{refusal_reason(resp.status_code, data, totp is not None)}"))
    try:
        user_id, token = data["data"]["userId"], data["data"]["authToken"]
    except (KeyError, TypeError):
        raise TargetError(redact(f"login as {user!r}: HTTP 200 without data.userId/data.authToken")) from None
    register_secret(token)
    return str(user_id), str(token)


#: The ways out when a setup step needs a code the suite cannot have (an e-mailed one).
EMAIL_CODE_WAYS_OUT = ("use a personal access token created with 'bypass two-factor' (RCC_ADMIN_USER_ID + "
                       "RCC_ADMIN_TOKEN), or give the admin TOTP and set RCC_ADMIN_TOTP_SECRET, or switch "
                       "e-mail 2FA off for the admin")


def refusal_reason(status: int, body: dict[str, Any], sent_code: bool) -> str:
    """What a refused login means, in words: wrong credentials, a blocked account, or a 2FA code needed."""
    error = str(body.get("error") or "")
    text = f"{error} {body.get('message') or ''} {body.get('reason') or ''}".lower()
    details = body.get("details") if isinstance(body.get("details"), dict) else {}
    method = details.get("method") if isinstance(details, dict) else None
    if error == "totp-required":
        if method == "email":
            return ("the account has e-mail 2FA and needs an e-mailed code, which the suite cannot read: "
                    f"{EMAIL_CODE_WAYS_OUT}")
        return "the account has TOTP: set its secret (RCC_ADMIN_TOTP_SECRET)"
    if error == "totp-invalid":
        return ("the TOTP code was refused: check RCC_ADMIN_TOTP_SECRET and this machine's clock"
                if sent_code else "a 2FA code was refused")
    if "blocked" in text:
        return ("the account or this IP is blocked after too many failed logins (Rocket.Chat's default: "
                "5 minutes); wait, then check the password")
    if status == 401 or "incorrect password" in text or "unauthorized" in text:
        return f"wrong user name or password ({_reason(body)})"
    return _reason(body)


@dataclass(eq=False)
class Actor:
    """A user the suite created (or the configured admin), bound to the run's client.

    Its session is renewed (one login, before the next call) when the server may have ended it: a 401
    to its own credentials, or a 2xx to a reset that named no one else (a self-reset). Only an actor
    that can log in again is renewed: password, plus TOTP when it has it — never the admin, nor a
    user with e-mail 2FA only (its codes go to a mailbox the suite cannot read).
    """

    id: str
    username: str
    password: str = field(repr=False)
    email: str
    token: str | None = field(default=None, repr=False)
    totp_secret: str | None = field(default=None, repr=False)
    backup_codes: list[str] = field(default_factory=list, repr=False)
    roles: tuple[str, ...] = ("user",)
    verified: bool = True
    keys: tuple[str, str] | None = field(default=None, repr=False)  # (public, private) as set by the suite
    client: Client | None = field(default=None, repr=False)
    stale: bool = field(default=False, repr=False)  # its session may be gone: log in before the next call
    created: float = field(default_factory=time.monotonic, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def totp(self) -> Totp | None:
        return Totp(self.totp_secret) if self.totp_secret else None

    @property
    def can_login(self) -> bool:
        """Whether the suite can log this user in without a mailbox: a password, and TOTP or no verified address."""
        return bool(self.password) and (self.totp_secret is not None or not self.verified)

    def code(self) -> str:
        """A code the server accepts for this user: fresh TOTP, else the password fallback hash."""
        totp = self.totp
        if totp is not None:
            return totp.fresh()
        if not self.verified:
            return password_code(self.password)
        # A verified e-mail without TOTP means e-mail 2FA (auto opt-in): its codes go to a mailbox we cannot read.
        raise ProvisioningError(f"user {self.username} has e-mail 2FA only; the suite cannot read its codes")

    def relogin(self) -> Actor:
        """Log in (a new token), e.g. after a reset logged the user out."""
        if self.client is None:
            raise ProvisioningError(f"user {self.username} is not bound to a client")
        self.id, self.token = login(self.client, self.username, self.password, self.totp)
        self.stale = False
        return self

    def call(self, method: str, path: str, *, code: str | None = None, token: str | None = None,
             **kwargs: Any) -> requests.Response:
        """One request to /api/v1/`path` as this user: its session (or an old `token`), `x-2fa-code` if `code`."""
        if self.client is None:
            raise ProvisioningError(f"user {self.username} is not bound to a client")
        own = token is None
        if own and (self.stale or not self.token) and self.can_login:
            with self._lock:  # the pool and the pytest thread may both find it stale: one login
                if self.stale or not self.token:
                    self.relogin()
        if own and not self.token:
            raise ProvisioningError(f"user {self.username} has no session (it cannot log in again)")
        headers = {"X-User-Id": self.id, "X-Auth-Token": str(token or self.token)}
        if code is not None:
            headers["x-2fa-code"] = code
        resp = self.client.request(method, f"{API}/{path}", headers=headers, **kwargs)
        if own and resp.status_code == 401:
            self.stale = True
        return resp

    def reset(self, body: Any = _DEFAULT, /, *, code: str | None = _DEFAULT, **fields: Any) -> requests.Response:
        """`users.resetE2EKey` as this user: the body is `fields` (`{}` without any: a self-reset) or a raw
        `body` (e.g. `[]`); `code` is a fresh valid one by default, None for no `x-2fa-code`, or the text to send."""
        if body is _DEFAULT:
            body = fields
        elif fields:
            raise TypeError("reset() takes a raw body or body fields, not both")
        resp = self.call("POST", "users.resetE2EKey", code=self.code() if code is _DEFAULT else code, json=body)
        if 200 <= resp.status_code < 300 and not self._names_another(body):
            self.stale = True  # a self-reset (wanted or not) logs the caller out
        return resp

    def _names_another(self, body: Any) -> bool:
        """Does the body name a target, and only users other than this one (by any key, in any case)?"""
        named = {v.strip().lower() for k in TARGET_KEYS
                 if isinstance(body, dict) and isinstance(v := body.get(k), str) and v.strip()}
        return bool(named) and not named & {self.id.lower(), self.username.lower()}

    def me(self, token: str | None = None) -> requests.Response:
        """`GET me` with this user's session, or with an old `token` (never renewed for that)."""
        return self.call("GET", "me", token=token)

    def fetch_keys(self) -> requests.Response:
        """`GET e2e.fetchMyKeys` as this user (the raw answer, for an expectation)."""
        return self.call("GET", "e2e.fetchMyKeys")

    def logout(self) -> None:
        ok_body(self.call("POST", "logout"), f"logout of {self.username}")
        self.token = None
