"""The behaviour switchboard: defaults model Rocket.Chat 8.x; release switches and defect switches kept apart."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Behaviour:
    """One field per behaviour; the defaults are a fresh Rocket.Chat 8.x (8.8) install.

    Two kinds of switches: RELEASE_SWITCHES state a fact of a release line (True = that line does it;
    `for_profile` sets them), the others are defects a mutant may inject (their defaults are what every
    line does). SERVER_PARAMETERS (latency) are neither: they only slow the server down. A switch is
    commented where its name does not say it all; mutants.py describes the defect of each flip.
    """

    # Authentication runs before rate limit, 2FA and the handler (RC's authRequired wrapper).
    auth_checked_first: bool = True
    unauthenticated_status: int = 401
    # RC's API.v1.unauthorized() message text.
    unauthenticated_message: str = "You must be logged in to do this."
    # 7.x adds "success": false and "error" to the documented {"status","message"} 401 body.
    unauthenticated_body_7x: bool = True
    # <=6.x delays every 401/403 by a random 0.5-1 s (timing-attack defence); 7.6+ and 8.x do not.
    unauthenticated_delay: tuple[float, float] | None = None
    # Wrong HTTP method on a known route: 7.6+/8.x answer 404 text/plain "404 Not Found";
    # <=6.x Restivus answers 405 JSON + Allow.
    wrong_method_status: int = 404
    # users.resetE2EKey is declared twoFactorRequired.
    two_factor_checked: bool = True
    accept_any_code: bool = False
    # TOTP window in 30-s steps; None = setting Accounts_TwoFactorAuthentication_MaxDelta (1).
    totp_window: int | None = None
    accept_stale_codes: bool = False
    # disableRememberMe: every call needs its own code since 3.8.0 (0 = no grace period).
    remember_me_minutes: int = 0
    # TOTP backup codes are removed from hashedBackup when used.
    backup_codes_single_use: bool = True
    password_fallback_accepts_plain: bool = False
    # getUserFromParams runs before hasPermission('edit-other-user-e2ee').
    lookup_before_permission: bool = True
    # findOneByUsernameIgnoringCase for "username"/"user".
    username_ignores_case: bool = True
    blank_id_means_self: bool = False
    # The other-user path checks edit-other-user-e2ee.
    check_permission: bool = True
    # The permission is checked on the caller ("target" = mutant checking the target's roles;
    # "admin-role" = mutant asking for the admin role instead of the permission).
    permission_checked_on: str = "caller"
    reset_caller_instead: bool = False
    # resetUserE2EEncriptionKey removes e2e keys (user + subscriptions).
    clear_keys: bool = True
    # resetUserE2EEncriptionKey removes all the target's login tokens.
    clear_sessions: bool = True
    logout_caller: bool = False
    clear_bystander_keys: bool = False
    # A non-string userId leaks a JS TypeError as HTTP 400 (mutant: HTTP 500).
    error_500_on_non_string: bool = False
    # 200 body is exactly {"success": true} (mutant: {"success": "true"}).
    ok_body_off_schema: bool = False
    # Content-Type of every users.resetE2EKey answer.
    response_content_type: str = "application/json"
    # Counted answers carry X-RateLimit-Limit/Remaining/Reset.
    rate_limit_headers: bool = True
    # Meteor.Error messages end with " [<errorType>]".
    error_type_suffix: bool = True
    user_id_wins: bool = True
    # Since 5.0 {"userId": <own id>} is the "other user" path (True = pre-5.0 self-reset).
    self_by_id_is_self_reset: bool = False
    # 6.3+ totp-invalid details include availableMethods.
    totp_invalid_available_methods: bool = True
    # --- extra switches (beyond the agreed list) ---
    # 7.x sends Cache-Control: no-store and Pragma: no-cache on API answers.
    cache_control_headers: bool = True
    # The other-user path e-mails the target ("E2E Key Reset Notification").
    send_reset_email: bool = True
    # Reported by GET /api/info (patch number stripped for anonymous callers).
    server_version: str = "8.8.0"
    # --- release facts (behaviour.md §9-§10; True = the release line does it) ---
    # 8.x: the route's JSON schema (userId/username/user, strings, coerced) runs before 2FA (§10.2);
    # without it (<=7.x) a non-string userId leaks the JS TypeError `params.userId?.trim is not a function`.
    body_schema_checked: bool = True
    # 7.6+/8.x: a body that is not JSON at all is read as {} (<=7.5: malformed JSON is a 400).
    non_json_body_is_empty: bool = True
    # <=7.5: bodies above 1 MiB are refused; 7.6+/8.x have no body size limit.
    body_size_limited: bool = False
    # 8.6+: a user younger than Accounts_TwoFactorAuthentication_RememberFor seconds with no 2FA
    # method skips 2FA (§10.3).
    registration_grace: bool = True
    # 8.x: users.create asks the caller (an admin) for its second factor (§10.4).
    users_create_two_factor: bool = True
    # 8.x: users.delete answers {"deletedRooms": [...], "success": true} and checks its body schema.
    users_delete_reports_rooms: bool = True
    # 8.x: anonymous GET /api/info returns more than {version, success}.
    info_extended: bool = True
    # --- server parameters (not facts, not defects): simulate a real server's speed ---
    # Seconds every answer is delayed by (--latency).
    latency: float = 0.0
    # Extra seconds for POST /api/v1/login (bcrypt), on top of `latency`.
    login_latency: float = 0.0
    # --- switches added for the mutant catalogue (refserver/mutants.py) ---
    auth_requires_token: bool = True
    auth_requires_user_id: bool = True
    token_bound_to_user: bool = True
    logout_revokes_token: bool = True
    # checkCodeForUser runs before the handler's lookup and permission check (mutant: after them).
    two_factor_checked_first: bool = True
    # Max_Invalid_Email_Code_Attempts wrong e-mail codes end in totp-max-attempts (mutant: never).
    email_attempts_limited: bool = True
    # No target parameter = reset the caller's own keys (mutant: error-user-param-not-provided).
    self_reset_on_empty_body: bool = True
    reset_after_permission_check: bool = True
    rate_limit_enforced: bool = True
    empty_code_is_absent: bool = True
    # The password fallback accepts the SHA-256 hex of the password (mutant: it never matches).
    password_fallback_accepts_hash: bool = True
    # Where the body schema exists (8.x), it runs before 2FA (mutant: after it).
    body_schema_before_2fa: bool = True
    # The body schema coerces scalars to strings (mutant: a non-string scalar is invalid-params).
    body_scalars_coerced: bool = True
    # Where the registration grace exists (8.6+), a fresh user without 2FA skips 2FA (mutant: asked anyway).
    registration_grace_honoured: bool = True

    @classmethod
    def for_profile(cls, profile: str | int) -> Behaviour:
        """Behaviour of a release line: "8" (8.8, the default), "7" (7.6+) or "6" (6.10-ish)."""
        key = str(profile).strip()
        if key not in PROFILES:
            raise ValueError(f"unknown refserver profile {profile!r} (expected one of {', '.join(PROFILES)})")
        return cls(**PROFILES[key])

    def with_release_of(self, other: Behaviour) -> Behaviour:
        """This behaviour's defect switches with `other`'s release facts and server parameters."""
        return dataclasses.replace(self, **{n: getattr(other, n) for n in (*RELEASE_SWITCHES, *SERVER_PARAMETERS)})

    def with_latency(self, seconds: float, login_extra: float = 0.1) -> Behaviour:
        """Every answer `seconds` later; logins `login_extra` more, like bcrypt (0 s = no delay at all)."""
        if seconds < 0 or login_extra < 0:
            raise ValueError("latency must not be negative")
        return dataclasses.replace(self, latency=seconds, login_latency=login_extra if seconds > 0 else 0.0)

    def replace(self, **changes: Any) -> Behaviour:
        """A copy with some switches flipped."""
        return dataclasses.replace(self, **changes)


def switch_names() -> tuple[str, ...]:
    """All switch names in declaration order."""
    return tuple(f.name for f in dataclasses.fields(Behaviour))


#: The switches that state a fact of a release line (set by `for_profile`, never flipped by a mutant).
RELEASE_SWITCHES: tuple[str, ...] = (
    "unauthenticated_body_7x", "unauthenticated_delay", "wrong_method_status", "cache_control_headers",
    "server_version", "totp_invalid_available_methods", "body_schema_checked", "non_json_body_is_empty",
    "body_size_limited", "registration_grace", "users_create_two_factor",
    "users_delete_reports_rooms", "info_extended")
#: Speed only: neither a fact of Rocket.Chat nor a defect.
SERVER_PARAMETERS: tuple[str, ...] = ("latency", "login_latency")

_7X: dict[str, object] = {  # 7.6+ (§9): new router, no delay, non-JSON body read as {}, no size limit
    "server_version": "7.10.0", "body_schema_checked": False,
    "registration_grace": False, "users_create_two_factor": False, "users_delete_reports_rooms": False,
    "info_extended": False}
#: Release facts per profile; unnamed switches keep the 8.x defaults.
PROFILES: dict[str, dict[str, Any]] = {
    "8": {},
    "7": _7X,
    "6": {**_7X, "server_version": "6.10.0", "unauthenticated_body_7x": False, "unauthenticated_delay": (0.5, 1.0),
          "wrong_method_status": 405, "cache_control_headers": False, "non_json_body_is_empty": False,
          "body_size_limited": True},
}
