"""Actors: logged-in users a test acts as (their id, token, TOTP secret), and the one login routine."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import requests

from rc_e2e_conformance.contract.errors import ProvisioningError, TargetError
from rc_e2e_conformance.contract.redact import redact, register_secret

from .client import Client
from .totp import Totp, password_code

LOGIN = "/api/v1/login"


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
