"""Rocket.Chat's checkCodeForUser: method selection, TOTP, e-mail codes, password fallback."""
from __future__ import annotations

import datetime as dt
import re
import secrets
import time
from typing import Any

import pyotp

from .behaviour import Behaviour
from .db import random_id, sha256_hex
from .responses import ApiError
from .state import AppState

S = "Accounts_TwoFactorAuthentication_"
# Characters JavaScript's String.prototype.trim / parseInt skip (a superset of str.isspace()).
JS_SPACE = " \t\n\v\f\r\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009" \
           "\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_INT_PREFIX = re.compile(r"[+-]?[0-9]+")


class TwoFactorError(ApiError):
    """totp-required / totp-invalid / totp-max-attempts, with Rocket.Chat's details object."""


def js_parse_int(text: str) -> int | None:
    """parseInt(text, 10): leading whitespace, optional sign, digit prefix; None for NaN."""
    m = _INT_PREFIX.match(text.lstrip(JS_SPACE))
    return int(m.group(0)) if m else None


def iso_ms(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def new_backup_codes() -> list[str]:
    """TOTP.generateCodes(): 12 codes of 8 Random.id characters."""
    return [random_id(8) for _ in range(12)]


class TwoFactor:
    def __init__(self, st: AppState, behaviour: Behaviour | None = None) -> None:
        self.st = st
        self.s = st.settings
        self.b = st.behaviour if behaviour is None else behaviour

    # ---- which methods ---------------------------------------------------------------------
    def totp_enabled(self, user: dict[str, Any]) -> bool:
        return self.s.flag(S + "By_TOTP_Enabled") and bool(user["totp_enabled"])

    def email_enabled(self, user: dict[str, Any]) -> bool:
        return (self.s.flag(S + "By_Email_Enabled") and bool(user["email2fa_enabled"])
                and bool(user["email"]) and bool(user["email_verified"]))

    def password_enabled(self, user: dict[str, Any]) -> bool:
        return self.s.flag(S + "Enforce_Password_Fallback") and bool(user["password_hash"])

    def available_methods(self, user: dict[str, Any]) -> list[str]:
        return [m for m, on in (("totp", self.totp_enabled(user)), ("email", self.email_enabled(user))) if on]

    # ---- verification ----------------------------------------------------------------------
    def verify_totp(self, user: dict[str, Any], code: str) -> bool:
        if not self.totp_enabled(user) or not user["totp_secret"]:
            return False
        if len(code) == 8:  # an 8-character code is only ever a backup code
            store = self.st.store
            return (store.use_backup_code if self.b.backup_codes_single_use else store.backup_code_exists)(
                user["id"], sha256_hex(code))
        window = self.b.totp_window if self.b.totp_window is not None else self.s.number(S + "MaxDelta")
        return totp_matches(user["totp_secret"], code, window, self.b.accept_stale_codes)

    def verify_email(self, user: dict[str, Any], code: str) -> bool:
        expired = (user["email_code_expire"] or 0) < time.time()
        if not self.email_enabled(user) or not user["email_code_hash"] or expired:
            return False
        if secrets.compare_digest(sha256_hex(re.sub(r"[^0-9]", "", code)), user["email_code_hash"]):
            self.st.store.clear_email_code(user["id"])  # single use
            return True
        self.st.store.bump_email_attempts(user["id"])
        return False

    def verify_password(self, user: dict[str, Any], code: str) -> bool:
        store = self.st.store
        if self.b.password_fallback_accepts_hash and store.check_password(user, code.lower()):
            return True
        return self.b.password_fallback_accepts_plain and store.check_password(user, sha256_hex(code))

    def code_data(self, user: dict[str, Any], method: str) -> dict[str, Any]:
        """The details of a missing or invalid code; for e-mail EmailCheck.processInvalidCode: reuse an
        unexpired code, else e-mail a new one."""
        if method != "email":
            return {"codeGenerated": False}
        fresh = self.st.store.get_user(user["id"]) or user
        who = fresh["username"] or fresh["email"]
        expire = fresh["email_code_expire"]
        if fresh["email_code_hash"] and expire and expire > time.time() and not self.email_maxed(fresh):
            return {"emailOrUsername": who, "codeGenerated": False, "codeExpires": iso_ms(expire)}
        code = "".join(secrets.choice("0123456789") for _ in range(6))
        expire = time.time() + self.s.number(S + "By_Email_Code_Expiration")
        self.st.store.set_email_code(fresh["id"], sha256_hex(code), expire)
        if fresh["email"] and fresh["email_verified"]:
            self.st.store.send_mail(fresh["id"], fresh["email"], "Authentication code",
                                    f"Here is your authentication code:\n\n{code[:3]}-{code[3:]}\n", code)
        return {"codeGenerated": True, "emailOrUsername": who}

    def email_maxed(self, user: dict[str, Any]) -> bool:
        fresh = self.st.store.get_user(user["id"]) or user
        return fresh["email_code_attempts"] >= self.s.number(S + "Max_Invalid_Email_Code_Attempts")

    # ---- checkCodeForUser ------------------------------------------------------------------
    def in_registration_grace(self, user: dict[str, Any]) -> bool:
        """8.6+ (§10.3): created less than RememberFor seconds ago and no 2FA method of its own."""
        return (self.b.registration_grace and self.b.registration_grace_honoured and not self.available_methods(user)
                and time.time() - user["created_at"] < self.s.number(S + "RememberFor"))

    def check(self, user: dict[str, Any], token_row: dict[str, Any] | None, code: str, method: str,
              password_fallback: bool = True) -> None:
        """Raise TwoFactorError unless the call may proceed; code/method "" mean absent.

        `password_fallback` is off for login, which never offers it (§7).
        """
        if self.s.test_mode or not self.s.flag(S + "Enabled"):
            return
        remembered = token_row is not None and self.b.remember_me_minutes and token_row["remember_until"] > time.time()
        if (token_row is not None and token_row["bypass_2fa"]) or remembered or self.in_registration_grace(user):
            return
        available = self.available_methods(user)
        selected = method if method in ("totp", "email") else available[0] if available else None
        if selected is None:
            if not password_fallback or not self.password_enabled(user):
                return
            selected = "password"
        if not code:
            raise TwoFactorError("totp-required", "TOTP Required",
                                 {"method": selected, **self.code_data(user, selected), "availableMethods": available})
        verify = {"totp": self.verify_totp, "email": self.verify_email, "password": self.verify_password}[selected]
        if not (self.b.accept_any_code or verify(user, code)):
            if selected == "email" and self.b.email_attempts_limited and self.email_maxed(user):
                self.st.store.clear_email_code(user["id"])
                raise TwoFactorError("totp-max-attempts", "TOTP Maximun Failed Attempts Reached",
                                     {"method": selected, "availableMethods": available})
            details = {"method": selected, **self.code_data(user, selected)}
            if self.b.totp_invalid_available_methods:
                details["availableMethods"] = available
            raise TwoFactorError("totp-invalid", "TOTP Invalid", details)
        if self.b.remember_me_minutes and token_row is not None:
            self.st.store.remember_2fa(token_row["hash"], time.time() + 60 * self.b.remember_me_minutes)


def totp_matches(secret: str, code: str, window: int, stale: bool = False, at: float | None = None) -> bool:
    """speakeasy.totp.verifyDelta: exactly 6 characters, compared as a number, steps -w..+w."""
    if len(code) != 6:
        return False
    wanted = js_parse_int(code)
    if wanted is None:
        return False
    totp = pyotp.TOTP(secret)
    now = time.time() if at is None else at
    lowest = -20 if stale else -window  # the stale-codes mutant accepts ~10 minutes of old codes
    return any(int(totp.at(now + 30 * delta)) == wanted for delta in range(lowest, window + 1))
