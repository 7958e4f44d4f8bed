"""The property tests' own caller: a disposable admin with TOTP, re-logged in after a self-reset."""
from __future__ import annotations

import re
from typing import Any

from rc_e2e_conformance.contract.errors import ProvisioningError
from rc_e2e_conformance.contract.redact import register_secret
from rc_e2e_conformance.server.actors import Actor, login
from rc_e2e_conformance.server.totp import Totp

CODE_HEADER = "x-2fa-code"
AUTH_HEADERS = ("X-User-Id", "X-Auth-Token")
#: A TOTP code is fetched right before each call. The server accepts the previous step too
#: (MaxDelta 1), so waiting for a new step is only worth it in the very last half second.
CODE_MIN_REMAINING = 0.5
#: The code forms the spec's TwoFactorCode schema allows (6 digits, an 8-character backup code, a
#: 64-hex password hash). A generated value of another shape was generated to be refused: it is sent.
WELL_FORMED_CODE = re.compile(r"[0-9]{6}|[0-9A-Za-z]{8}|[0-9a-f]{64}")


class PropertyCaller:
    """Credentials of a dedicated property-test caller, always current when a request leaves.

    Dedicated because a generated empty body is a self-reset: it logs the caller out and wipes its
    keys, which must never happen to the hand-written tests' actors. The caller holds role admin
    (edit-other-user-e2ee, and api-bypass-rate-limit so generated calls are not counted). Its
    session is renewed like any actor's (`Actor.stale`), with codes that wait less near a step's end.
    """

    def __init__(self, actor: Actor) -> None:
        self.actor = actor
        # Without TOTP (a server with the TOTP method switched off) its code is the password fallback.
        self.totp = Totp(actor.totp_secret, min_remaining=CODE_MIN_REMAINING) if actor.totp_secret else None

    @property
    def id(self) -> str:
        return self.actor.id

    def session(self) -> tuple[str, str]:
        """(user id, token), logging in again first when an answer showed the session may be gone."""
        actor = self.actor
        if actor.stale or not actor.token:
            if actor.client is None:
                raise ProvisioningError(f"user {actor.username} is not bound to a client")
            # Like Actor.relogin, but with this caller's Totp: a self-reset forces many logins, and the
            # default 3-s wait near a step's end would add up (login accepts the previous step too).
            actor.id, actor.token = login(actor.client, actor.username, actor.password, self.totp)
            actor.stale = False
        assert actor.token is not None
        register_secret(actor.token)
        return actor.id, actor.token

    def code(self) -> str:
        """A fresh TOTP code, computed for this call (never cached across the 30-s step); else the fallback."""
        return self.totp.fresh() if self.totp is not None else self.actor.code()

    def apply(self, case: Any) -> None:
        """Put current credentials on `case`, and a fresh code unless it carries a malformed one on purpose."""
        user_id, token = self.session()
        headers = {k: v for k, v in dict(case.headers or {}).items() if k.lower() not in ("x-user-id", "x-auth-token")}
        headers["X-User-Id"], headers["X-Auth-Token"] = user_id, token
        generated = next((v for k, v in headers.items() if k.lower() == CODE_HEADER), None)
        if not malformed_code(generated):
            headers = {k: v for k, v in headers.items() if k.lower() != CODE_HEADER}
            headers[CODE_HEADER] = self.code()
        case.headers = headers

    def note_answer(self, status: int, *, named_pool_user: bool) -> None:
        """After an answer to its credentials: a 2xx that did not name a pool user may have been a
        self-reset, and a 401 means the session is gone. Either way, log in again before the next call."""
        if (200 <= status < 300 and not named_pool_user) or status == 401:
            self.actor.stale = True


def malformed_code(value: object) -> bool:
    """Is `value` an `x-2fa-code` no caller could hold (a negative case's)? Absent and well-formed are not."""
    return value is not None and not (isinstance(value, str) and WELL_FORMED_CODE.fullmatch(value))
