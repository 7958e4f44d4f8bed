"""TOTP codes for tests: fresh (never about to expire), previous/next step, stale, wrong and malformed."""
from __future__ import annotations

import hashlib
import time
from collections.abc import Callable

import pyotp

from rc_e2e_conformance.contract.redact import register_secret

STEP = 30  # seconds per TOTP step (RFC 6238 default, what Rocket.Chat uses)
#: A code requested with less than this left in its 30-s step could expire in flight on a server
#: whose window is narrower than ±1 (MaxDelta is a setting): wait for the next step instead, so a
#: hand-written test never fails on timing. (The property caller, where an expired code only
#: yields a declared totp-invalid, uses a shorter margin.)
MIN_REMAINING = 3.0

Clock = Callable[[], float]
Sleep = Callable[[float], None]


class Totp:
    """Codes for one base32 secret; `clock`/`sleep` are injectable so step edges can be tested."""

    def __init__(self, secret: str, *, clock: Clock = time.time, sleep: Sleep = time.sleep,
                 min_remaining: float = MIN_REMAINING) -> None:
        self._otp = pyotp.TOTP(secret, interval=STEP)
        self.clock = clock
        self.sleep = sleep
        self.min_remaining = min_remaining
        register_secret(secret)

    def _steady_now(self, margin: float | None = None) -> float:
        """The current time, after waiting for the next step when less than `margin` is left of this one."""
        margin = self.min_remaining if margin is None else margin
        now = self.clock()
        remaining = STEP - (now % STEP)
        if remaining < margin:
            self.sleep(remaining + 0.05)  # land just inside the next step
            now = self.clock()
        return now

    def at(self, steps: int = 0) -> str:
        """The code of the step `steps` away from the current one (0 = now, -1 previous, +1 next)."""
        now = self._steady_now()
        return self._code(now + steps * STEP)

    def fresh(self) -> str:
        return self.at(0)

    def previous(self) -> str:
        return self.at(-1)

    def next(self) -> str:
        return self.at(+1)

    def window(self, now: float | None = None, width: int = 1) -> set[str]:
        now = self.clock() if now is None else now
        return {self._code(now + k * STEP) for k in range(-width - 1, width + 2)}  # a step of margin each side

    def stale(self, steps_ago: int = 3) -> str:
        """A code from `steps_ago` (>= 3) steps ago that is not also valid now (collisions are 1e-6 rare)."""
        now = self.clock()  # no wait: 3+ steps old stays outside the ±1 window after a step change too
        valid = self.window(now)
        for back in range(max(steps_ago, 3), max(steps_ago, 3) + 20):
            code = self._code(now - back * STEP)
            if code not in valid:
                return code
        raise RuntimeError("no stale code distinct from the current window")  # pragma: no cover

    def wrong(self) -> str:
        """A well-formed 6-digit code that is valid in no nearby step."""
        now = self.clock()  # no wait: the excluded window (±2 steps) covers a step change
        valid = self.window(now)
        base = int(self._code(now))
        for shift in range(500_000, 500_100):
            code = f"{(base + shift) % 1_000_000:06d}"
            if code not in valid:
                return code
        raise RuntimeError("no wrong code found")  # pragma: no cover

    def malformed(self) -> dict[str, str]:
        """Codes a strict server must refuse; built from the valid one so a lax parser would accept them."""
        code = self.fresh()
        return {
            "letters": "abcdef",
            "five-digits": code[:5],
            # "0" + code has the right numeric value: only the length rule rejects it.
            "seven-digits": "0" + code,
        }

    def _code(self, at: float) -> str:
        # Codes are not registered as secrets: they live 90 s, the header/curl redaction masks them,
        # and masking every 6-digit run would garble timestamps and ids in reports.
        return self._otp.at(int(at))


def password_code(password: str) -> str:
    """The 2FA password fallback code: lower-case hex SHA-256 of the plain password."""
    code = hashlib.sha256(password.encode("utf-8")).hexdigest()
    register_secret(code)
    return code
