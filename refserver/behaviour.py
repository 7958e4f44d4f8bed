"""The behaviour switchboard: defaults model real Rocket.Chat 7.x; each switch is one deviation."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass


@dataclass(frozen=True)
class Behaviour:
    """One field per behaviour a mutant may flip; the defaults are a fresh Rocket.Chat 7.x install."""

    # Authentication runs before rate limit, 2FA and the handler (RC's authRequired wrapper).
    auth_checked_first: bool = True
    # RC answers a missing/invalid login with HTTP 401.
    unauthenticated_status: int = 401
    # RC's API.v1.unauthorized() message text.
    unauthenticated_message: str = "You must be logged in to do this."
    # 7.x adds "success": false and "error" to the documented {"status","message"} 401 body.
    unauthenticated_body_7x: bool = True
    # <=6.x delays every 401/403 by a random 0.5-1 s (timing-attack defence); 7.x does not.
    unauthenticated_delay: tuple[float, float] | None = None
    # Wrong HTTP method on a known route: 7.x answers 404; <=6.x Restivus answers 405 + Allow.
    wrong_method_status: int = 404
    # users.resetE2EKey is declared twoFactorRequired.
    two_factor_checked: bool = True
    # RC verifies the code; a mutant could accept any non-empty code.
    accept_any_code: bool = False
    # TOTP window in 30-s steps; None = setting Accounts_TwoFactorAuthentication_MaxDelta (1).
    totp_window: int | None = None
    # RC rejects codes older than the window; a mutant accepts codes from the last ~10 minutes.
    accept_stale_codes: bool = False
    # disableRememberMe: every call needs its own code since 3.8.0 (0 = no grace period).
    remember_me_minutes: int = 0
    # TOTP backup codes are removed from hashedBackup when used.
    backup_codes_single_use: bool = True
    # The password fallback only accepts the SHA-256 hex digest, never the plain password.
    password_fallback_accepts_plain: bool = False
    # getUserFromParams runs before hasPermission('edit-other-user-e2ee').
    lookup_before_permission: bool = True
    # findOneByUsernameIgnoringCase for "username"/"user".
    username_ignores_case: bool = True
    # A blank userId is error-user-param-not-provided, not a self-reset.
    blank_id_means_self: bool = False
    # The other-user path checks edit-other-user-e2ee.
    check_permission: bool = True
    # The permission is checked on the caller ("target" = mutant checking the target's roles;
    # "admin-role" = mutant asking for the admin role instead of the permission).
    permission_checked_on: str = "caller"
    # The named target is reset, not the caller.
    reset_caller_instead: bool = False
    # resetUserE2EEncriptionKey removes e2e keys (user + subscriptions).
    clear_keys: bool = True
    # resetUserE2EEncriptionKey removes all the target's login tokens.
    clear_sessions: bool = True
    # Resetting another user leaves the caller logged in.
    logout_caller: bool = False
    # Only the target's keys are removed; a mutant wipes every user's keys.
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
    # With both userId and username, userId decides the target.
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
    server_version: str = "7.4.0"
    # --- switches added for the mutant catalogue (refserver/mutants.py) ---
    # A call without X-Auth-Token is unauthenticated (mutant: X-User-Id alone is trusted).
    auth_requires_token: bool = True
    # A call without X-User-Id is unauthenticated (mutant: the token alone identifies its owner).
    auth_requires_user_id: bool = True
    # The token must belong to X-User-Id (mutant: any valid token authenticates any existing user id).
    token_bound_to_user: bool = True
    # POST /api/v1/logout revokes the token (mutant: the token keeps working after logout).
    logout_revokes_token: bool = True
    # checkCodeForUser runs before the handler's lookup and permission check (mutant: after them).
    two_factor_checked_first: bool = True
    # Max_Invalid_Email_Code_Attempts wrong e-mail codes end in totp-max-attempts (mutant: never).
    email_attempts_limited: bool = True
    # No target parameter = reset the caller's own keys (mutant: error-user-param-not-provided).
    self_reset_on_empty_body: bool = True
    # The permission is checked before the reset (mutant: reset first, refuse afterwards).
    reset_after_permission_check: bool = True
    # Past the limit the route answers 429 (mutant: headers counted, calls never refused).
    rate_limit_enforced: bool = True
    # An empty x-2fa-code header counts as absent (mutant: it is checked as a code, so totp-invalid).
    empty_code_is_absent: bool = True
    # The password fallback accepts the SHA-256 hex of the password (mutant: it never matches).
    password_fallback_accepts_hash: bool = True

    @classmethod
    def for_profile(cls, profile: str) -> Behaviour:
        """Behaviour of a release line: "7" (default) or "6" (6.10-ish)."""
        if str(profile) == "7":
            return cls()
        if str(profile) == "6":
            return cls(
                unauthenticated_body_7x=False,
                unauthenticated_delay=(0.5, 1.0),
                wrong_method_status=405,
                cache_control_headers=False,
                server_version="6.10.0",
            )
        raise ValueError(f"unknown refserver profile {profile!r} (expected '7' or '6')")

    def replace(self, **changes: object) -> Behaviour:
        """A copy with some switches flipped."""
        return dataclasses.replace(self, **changes)


def switch_names() -> tuple[str, ...]:
    """All switch names in declaration order."""
    return tuple(f.name for f in dataclasses.fields(Behaviour))
