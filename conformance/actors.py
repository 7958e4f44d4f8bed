"""Actors: logged-in users a test acts as (their id, token, TOTP secret), and the one login routine."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import requests

from .client import Client
from .errors import ProvisioningError, TargetError
from .redact import redact, register_secret
from .totp import Totp, password_code

LOGIN = "/api/v1/login"
#: A login refused with 429 is retried once after the window resets, at most this long (live servers).
MAX_RATE_LIMIT_WAIT = 61.0


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


def _reason(body: dict[str, Any]) -> str:
    return str(body.get("error") or body.get("message") or body.get("errorType") or "no reason given")


def login(client: Client, user: str, password: str, totp: Totp | None = None) -> tuple[str, str]:
    """Log in by username/e-mail and password (+ TOTP code); return (userId, authToken)."""
    register_secret(password)
    for attempt in (1, 2):
        body: dict[str, Any] = {"user": user, "password": password}
        if totp is not None:
            body["code"] = totp.fresh()
        resp = client.post(LOGIN, json=body)
        if resp.status_code == 429 and attempt == 1:
            # Logins are setup, not the call under test: wait for the limiter window instead of failing.
            time.sleep(_rate_limit_wait(resp))
            continue
        break
    data = json_body(resp, f"login as {user!r}")
    if resp.status_code != 200:
        reason = _reason(data)
        if data.get("error") == "totp-required":
            raise ProvisioningError(f"login as {user!r} needs a TOTP code: set RCC_ADMIN_TOTP_SECRET")
        raise ProvisioningError(redact(f"login as {user!r} refused (HTTP {resp.status_code}): {reason}"))
    try:
        user_id, token = data["data"]["userId"], data["data"]["authToken"]
    except (KeyError, TypeError):
        raise TargetError(redact(f"login as {user!r}: HTTP 200 without data.userId/data.authToken")) from None
    register_secret(token)
    return str(user_id), str(token)


def _rate_limit_wait(resp: requests.Response) -> float:
    reset_ms = resp.headers.get("X-RateLimit-Reset", "")
    try:
        wait = int(reset_ms) / 1000 - time.time()
    except ValueError:
        wait = MAX_RATE_LIMIT_WAIT
    return min(max(wait, 0.5), MAX_RATE_LIMIT_WAIT)


@dataclass
class Actor:
    """A user the suite created (or the configured admin) with a live session."""

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
    client: Client | None = field(default=None, repr=False, compare=False)

    @property
    def totp(self) -> Totp | None:
        return Totp(self.totp_secret) if self.totp_secret else None

    def auth_headers(self, code: str | None = None) -> dict[str, str]:
        """X-User-Id/X-Auth-Token (+ x-2fa-code when `code` is given)."""
        if not self.token:
            raise ProvisioningError(f"user {self.username} has no session (it was never logged in)")
        headers = {"X-User-Id": self.id, "X-Auth-Token": self.token}
        if code is not None:
            headers["x-2fa-code"] = code
        return headers

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
        """Log in again (new token), e.g. after a key reset logged the user out."""
        if self.client is None:
            raise ProvisioningError(f"user {self.username} is not bound to a client")
        self.id, self.token = login(self.client, self.username, self.password, self.totp)
        return self
