"""The property tests' own caller: a disposable admin with TOTP, re-logged in after a self-reset."""
from __future__ import annotations

from typing import Any

from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation.meta import negated_parameters

from ..actors import Actor, login
from ..errors import ProvisioningError
from ..redact import register_secret
from ..totp import Totp

CODE_HEADER = "x-2fa-code"
AUTH_HEADERS = ("X-User-Id", "X-Auth-Token")
#: A TOTP code is fetched right before each call. The server accepts the previous step too
#: (MaxDelta 1), so waiting for a new step is only worth it in the very last half second.
CODE_MIN_REMAINING = 0.5


class PropertyCaller:
    """Credentials of the dedicated property-test caller, always current when a request leaves.

    Dedicated because a generated empty body is a self-reset: it logs the caller out and wipes its
    keys, which must never happen to the hand-written tests' `privileged` actor. The caller holds
    role admin (edit-other-user-e2ee, and api-bypass-rate-limit so generated calls are not counted).
    """

    def __init__(self, actor: Actor) -> None:
        if not actor.totp_secret:
            raise ProvisioningError("the property caller needs TOTP (it is created with totp=True)")
        self.actor = actor
        self.totp = Totp(actor.totp_secret, min_remaining=CODE_MIN_REMAINING)
        self.stale = False  # set when an answer shows (or suggests) that the session is gone
        self.logins = 0

    @property
    def id(self) -> str:
        return self.actor.id

    def session(self) -> tuple[str, str]:
        """(user id, token), logging in again first when a self-reset logged the caller out."""
        if self.stale or not self.actor.token:
            if self.actor.client is None:
                raise ProvisioningError(f"user {self.actor.username} is not bound to a client")
            # Like Actor.relogin, but with this caller's Totp: a self-reset forces many logins, and the
            # default 3-s wait near a step's end would add up (login accepts the previous step too).
            self.actor.id, self.actor.token = login(self.actor.client, self.actor.username,
                                                    self.actor.password, self.totp)
            self.logins += 1
            self.stale = False
        assert self.actor.token is not None
        register_secret(self.actor.token)
        return self.actor.id, self.actor.token

    def code(self) -> str:
        """A fresh TOTP code, computed for this call (never cached across the 30-s step)."""
        return self.totp.fresh()

    def apply(self, case: Any, *, code: bool = True) -> None:
        """Put current credentials (and a fresh code, unless the case negates that header) on `case`."""
        user_id, token = self.session()
        if case.headers is None:
            case.headers = {}
        case.headers["X-User-Id"] = user_id
        case.headers["X-Auth-Token"] = token
        if code and not negates_code(case):
            case.headers[CODE_HEADER] = self.code()

    def note_answer(self, status: int, *, had_auth: bool, named_pool_user: bool) -> None:
        """After an answer: a 2xx that did not name a pool user may have been a self-reset; a 401 to
        our own credentials means the session is gone. Either way, log in again before the next call."""
        if not had_auth:
            return
        if (200 <= status < 300 and not named_pool_user) or status == 401:
            self.stale = True


def negates_code(case: Any) -> bool:
    """Whether a negative case deliberately broke `x-2fa-code` (then its generated value is kept)."""
    meta = getattr(case, "_meta", None)
    return any(name.lower() == CODE_HEADER and location == ParameterLocation.HEADER
               for name, location in negated_parameters(meta))


def make_auth_provider(caller: PropertyCaller) -> type:
    """A schemathesis auth provider class bound to `caller`.

    schemathesis applies it while generating (skipping cases that negate the security headers), which
    marks those cases as carrying explicit auth (what `ignored_auth` needs). Coverage cases are built
    long before they are sent, so the test re-applies it right before each call.
    """

    class PropertyCallerAuth:
        def get(self, case: Any, context: Any) -> PropertyCaller:
            return caller

        def set(self, case: Any, data: PropertyCaller, context: Any) -> None:
            data.apply(case)

    return PropertyCallerAuth
