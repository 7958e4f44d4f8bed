"""The mutant catalogue: named one-switch deviations of the reference server, each with the IDs that must catch it."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from .behaviour import PROFILES, RELEASE_SWITCHES, SERVER_PARAMETERS, Behaviour


@dataclass(frozen=True)
class Mutant:
    """One defect switch of the Behaviour flipped; `requirements` are the IDs whose tests must end in *fail*.

    `profiles` are the release lines where the defect can show (its switch is reached there);
    `behaviour` is the flip on the default (8.x) line; `on_profile()` puts it on another release line.
    """

    name: str
    behaviour: Behaviour
    defect: str
    requirements: tuple[str, ...]
    profiles: tuple[str, ...] = tuple(PROFILES)
    #: Settings the defect needs to be observable (OVERWRITE_SETTING_ style), e.g. no registration grace.
    settings: tuple[tuple[str, str], ...] = ()

    def applies_to(self, profile: str | int) -> bool:
        """Whether this mutant's defect exists on that release line ("8", "7" or "6")."""
        return str(profile).strip() in self.profiles

    def on_profile(self, profile: str | int) -> Behaviour:
        """The profile's behaviour with this mutant's switch flipped."""
        if not self.applies_to(profile):
            raise ValueError(f"mutant {self.name} does not apply to profile {profile}")
        return Behaviour.for_profile(profile).replace(**self.flipped())

    def flipped(self) -> dict[str, Any]:
        """The switches this mutant changes from the faithful defaults (exactly one)."""
        default = Behaviour()
        return {f.name: getattr(self.behaviour, f.name) for f in dataclasses.fields(Behaviour)
                if getattr(self.behaviour, f.name) != getattr(default, f.name)}


def _m(name: str, defect: str, requirements: tuple[str, ...], profiles: tuple[str, ...] = tuple(PROFILES),
       settings: tuple[tuple[str, str], ...] = (), **switch: object) -> Mutant:
    if len(switch) != 1:  # one switch per mutant: a kill then says which rule the suite guards
        raise ValueError(f"mutant {name}: exactly one switch expected, got {sorted(switch)}")
    if set(switch) & {*RELEASE_SWITCHES, *SERVER_PARAMETERS}:  # a release fact is not a defect
        raise ValueError(f"mutant {name}: {sorted(switch)} is a release fact or server parameter")
    return Mutant(name, Behaviour().replace(**switch), defect, requirements, profiles, settings)


#: The password fallback shows on 8.6+ only for users older than the registration grace: none, then.
NO_GRACE = (("Accounts_TwoFactorAuthentication_RememberFor", "0"),)


# Requirements listed are the ones the mutant's defect directly contradicts; other requirements may
# fail too (a 403 breaks every AUTH test), which the mutation report shows but does not require.
_CATALOGUE: tuple[Mutant, ...] = (
    # -- API / authentication ---------------------------------------------------------------------
    _m("wrong_content_type", "users.resetE2EKey answers are sent as text/html instead of application/json.",
       ("API-01",), response_content_type="text/html"),
    _m("forbidden_instead_of_401", "A missing or invalid login is answered 403 instead of 401.",
       ("AUTH-01", "AUTH-02", "AUTH-03", "AUTH-04", "AUTH-05", "AUTH-06", "AUTH-07"),
       unauthenticated_status=403),
    _m("wrong_401_message", "The 401 body says \"Unauthorized\" instead of \"You must be logged in to do this.\".",
       ("AUTH-01",), unauthenticated_message="Unauthorized"),
    _m("user_id_alone_trusted", "A call with X-User-Id but no X-Auth-Token is authenticated as that user.",
       ("AUTH-02",), auth_requires_token=False),
    _m("token_alone_trusted", "A call with X-Auth-Token but no X-User-Id is authenticated as the token's owner.",
       ("AUTH-03",), auth_requires_user_id=False),
    _m("token_not_bound_to_user", "Any valid token authenticates any existing X-User-Id.",
       ("AUTH-05",), token_bound_to_user=False),
    _m("logout_keeps_token", "Logging out does not revoke the token.",
       ("AUTH-06",), logout_revokes_token=False),
    _m("auth_checked_late", "An unauthenticated call's target lookup runs before authentication, "
       "so it can get error-invalid-user instead of 401.",
       ("AUTH-07",), auth_checked_first=False),
    # -- two-factor authentication ----------------------------------------------------------------
    _m("two_factor_skipped", "The endpoint never asks for a 2FA code.",
       ("TFA-01", "TFA-05", "TFA-06"), two_factor_checked=False),
    _m("two_factor_after_lookup", "The target lookup and permission check answer before 2FA is asked for.",
       ("TFA-05",), two_factor_checked_first=False),
    _m("any_code_accepted", "Any non-empty x-2fa-code is accepted.",
       ("TFA-02", "TFA-03", "TFA-04"), accept_any_code=True),
    _m("stale_codes_accepted", "TOTP codes from the last ten minutes are accepted.",
       ("TFA-03",), accept_stale_codes=True),
    _m("window_too_wide", "The TOTP window is ±4 steps, so a code three steps old still works.",
       ("TFA-03",), totp_window=4),
    _m("window_too_narrow", "The TOTP window is 0, so a code one step off is refused.",
       ("TFA-07",), totp_window=0),
    _m("remember_me_on", "A successful 2FA check is remembered for 30 minutes.",
       ("TFA-06",), remember_me_minutes=30),
    _m("backup_codes_reusable", "A TOTP backup code can be used again and again.",
       ("TFA-08",), backup_codes_single_use=False),
    _m("password_fallback_plain", "The password fallback also accepts the plain password, not only its SHA-256.",
       ("TFA-09",), settings=NO_GRACE, password_fallback_accepts_plain=True),
    _m("grace_ignored", "A user created seconds ago without any 2FA method is still asked for a code (8.6+).",
       ("TFA-11",), ("8",), registration_grace_honoured=False),
    _m("email_attempts_unlimited", "Wrong e-mailed codes never end in totp-max-attempts.",
       ("TFA-10",), email_attempts_limited=False),
    # -- finding the target -----------------------------------------------------------------------
    _m("lookup_after_permission", "The permission is checked before the target lookup.",
       ("USER-06",), lookup_before_permission=False),
    _m("username_case_sensitive", "Usernames are matched case-sensitively.",
       ("USER-04",), username_ignores_case=False),
    _m("blank_id_is_self", "A blank userId resets the caller instead of error-user-param-not-provided.",
       ("USER-03",), blank_id_means_self=True),
    _m("username_wins", "With both userId and username, the username decides the target.",
       ("USER-05",), user_id_wins=False),
    # 8.x coerces a non-string userId before the handler sees it: the crash cannot happen there.
    _m("server_error_on_non_string", "A non-string userId crashes the handler with HTTP 500.",
       ("USER-07", "SCHEMA-02"), ("7", "6"), error_500_on_non_string=True),
    # -- permission -------------------------------------------------------------------------------
    _m("permission_not_checked", "Any authenticated caller may reset anybody.",
       ("PERM-01", "PERM-02", "PERM-04"), check_permission=False),
    _m("reset_before_refusal", "The target is reset before the permission check refuses the call.",
       ("PERM-02",), reset_after_permission_check=False),
    _m("admin_role_instead_of_permission", "The admin role, not edit-other-user-e2ee, grants the right.",
       ("PERM-03",), permission_checked_on="admin-role"),
    _m("permission_of_target", "edit-other-user-e2ee is checked on the target instead of the caller.",
       ("OK-01", "OK-02"), permission_checked_on="target"),
    _m("self_by_id_is_self_reset", "Naming yourself by userId is a self-reset that needs no permission (pre-5.0).",
       ("PERM-04",), self_by_id_is_self_reset=True),
    # -- success and effects ----------------------------------------------------------------------
    _m("ok_body_off_schema", "The 200 body is {\"success\": \"true\"} (a string).",
       ("OK-01", "OK-02", "SCHEMA-01"), ok_body_off_schema=True),
    _m("wrong_user_reset",
       "The caller's keys and sessions are reset instead of the named target's (who is still e-mailed).",
       ("EFFECT-01", "EFFECT-02", "EFFECT-03"), reset_caller_instead=True),
    _m("keys_not_cleared", "A reset leaves the E2E keys in place.",
       ("EFFECT-01", "SELF-01"), clear_keys=False),
    _m("sessions_not_cleared", "A reset leaves the target's sessions logged in.",
       ("EFFECT-02", "SELF-01"), clear_sessions=False),
    _m("limit_never_enforced", "Past the rate limit, calls are still served instead of answered 429.",
       ("RATE-01",), rate_limit_enforced=False),
    _m("empty_code_checked",
       "An empty x-2fa-code header is checked as a code (totp-invalid) instead of counting as absent.",
       ("TFA-04",), empty_code_is_absent=False),
    _m("password_hash_refused", "The password fallback refuses the SHA-256 hex of the password.",
       ("TFA-09",), settings=NO_GRACE, password_fallback_accepts_hash=False),
    _m("body_checked_after_2fa", "The 8.x body schema runs after 2FA, so a bad body without a code gets totp-required.",
       ("BODY-01",), ("8",), body_schema_before_2fa=False),
    _m("scalars_not_coerced", "The 8.x body schema refuses a number or null as userId instead of coercing it to text.",
       ("BODY-02",), ("8",), body_scalars_coerced=False),
    _m("no_self_reset", "An empty body is error-user-param-not-provided instead of a self-reset.",
       ("SELF-01",), self_reset_on_empty_body=False),
    _m("caller_logged_out", "Resetting another user also logs the caller out.",
       ("EFFECT-03",), logout_caller=True),
    _m("bystander_keys_cleared", "A reset wipes every user's E2E keys, not only the target's.",
       ("EFFECT-03", "SCHEMA-04"), clear_bystander_keys=True),
    # -- rate limit and error bodies --------------------------------------------------------------
    _m("rate_limit_headers_missing", "Counted answers lack X-RateLimit-Limit/Remaining/Reset.",
       ("RATE-01",), rate_limit_headers=False),
    _m("no_error_type_suffix", "Error texts lack the \" [<errorType>]\" suffix.",
       ("TFA-01", "USER-01", "USER-02", "PERM-01", "SCHEMA-03"), error_type_suffix=False),
)

MUTANTS: dict[str, Mutant] = {m.name: m for m in _CATALOGUE}
