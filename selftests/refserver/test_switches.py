"""Every defect switch (and the older release switches), flipped alone on profiles 8 and 7, changes exactly
the facts it is declared to change. The newer release facts are checked per profile in test_profile_facts.py."""
from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from rc_e2e_conformance.refserver import Behaviour
from rc_e2e_conformance.refserver.behaviour import SERVER_PARAMETERS, switch_names

from .conftest import start
from .helpers import RESET, Api
from .switchprobes import PROBE_RATE_LIMIT, PROBES, provision

# A limiter above every probe's counted calls but the last one's (p_past_limit), which then meets the 429;
# no 8.x registration grace, so the probes' fresh users show their second factor.
SETTINGS = {"API_Enable_Rate_Limiter_Limit_Calls_Default": str(PROBE_RATE_LIMIT),
            "Accounts_TwoFactorAuthentication_RememberFor": "0"}
#: Release facts observed by the per-profile fact matrix (test_profile_facts.py), not by flipping here.
FACT_MATRIX_SWITCHES = {"body_schema_checked", "non_json_body_is_empty", "body_size_limited", "registration_grace",
                        "users_create_two_factor", "users_delete_reports_rooms", "info_extended"}
#: Switches a profile never reaches (8.x coerces a non-string userId before the handler could crash).
UNREACHED = {"8": {"error_500_on_non_string"},
             "7": {"body_schema_before_2fa", "body_scalars_coerced"}}  # <=7.x has no body schema
#: Consequences only one line shows: without a body schema (<=7.x), a bad body without a code meets 2FA first.
ALSO_AFFECTS = {"7": {"two_factor_checked": {"body_extra_key_without_code"},
                      "two_factor_checked_first": {"body_extra_key_without_code"}}}
#: Defect switches of a release fact the matrix's settings hide (no registration grace): tested on their own below.
OWN_TEST = {"registration_grace_honoured"}

FLIPS: dict[str, Any] = {
    "auth_checked_first": False, "unauthenticated_status": 403, "unauthenticated_message": "Unauthorized",
    "unauthenticated_body_7x": False, "unauthenticated_delay": (0.3, 0.35), "wrong_method_status": 405,
    "two_factor_checked": False, "accept_any_code": True, "totp_window": 0, "accept_stale_codes": True,
    "remember_me_minutes": 30, "backup_codes_single_use": False, "password_fallback_accepts_plain": True,
    "lookup_before_permission": False, "username_ignores_case": False, "blank_id_means_self": True,
    "check_permission": False, "permission_checked_on": "target", "reset_caller_instead": True,
    "clear_keys": False, "clear_sessions": False, "logout_caller": True, "clear_bystander_keys": True,
    "error_500_on_non_string": True, "ok_body_off_schema": True, "response_content_type": "text/html",
    "rate_limit_headers": False, "error_type_suffix": False, "user_id_wins": False,
    "self_by_id_is_self_reset": True, "totp_invalid_available_methods": False, "cache_control_headers": False,
    "send_reset_email": False, "server_version": "7.1.0",
    # switches added for the mutant catalogue (refserver/mutants.py)
    "auth_requires_token": False, "auth_requires_user_id": False, "token_bound_to_user": False,
    "logout_revokes_token": False, "two_factor_checked_first": False, "email_attempts_limited": False,
    "self_reset_on_empty_body": False, "reset_after_permission_check": False,
    "rate_limit_enforced": False, "empty_code_is_absent": False, "password_fallback_accepts_hash": False,
    "body_schema_before_2fa": False, "body_scalars_coerced": False,
}

# Reviewed by hand: each set is the switch's own deviation plus its direct consequences in the probes
# (e.g. no 2FA check also means a wrong code is no longer answered totp-invalid).
AFFECTS: dict[str, set[str]] = {
    "auth_checked_first": {'lookup_before_auth'},
    "unauthenticated_status": {'unauth_status'},
    "unauthenticated_message": {'unauth_body'},
    "unauthenticated_body_7x": {'unauth_body'},
    "unauthenticated_delay": {'unauth_delayed'},
    "wrong_method_status": {'wrong_method'},
    "two_factor_checked": {'empty_code', 'backup_second', 'email_fifth_wrong', 'code_step_-3', 'code_step_2',
                           'fallback_plain',
        'no_code', 'second_call_without_code', 'wrong_code', 'wrong_code_detail_keys', 'wrong_code_text'},
    "accept_any_code": {'backup_second', 'email_fifth_wrong', 'code_step_-3', 'code_step_2', 'fallback_plain',
        'wrong_code', 'wrong_code_detail_keys', 'wrong_code_text'},
    "totp_window": {'code_step_-1', 'code_step_1'},
    "accept_stale_codes": {'code_step_-3'},
    "remember_me_minutes": {'backup_second', 'second_call_without_code'},
    "backup_codes_single_use": {'backup_second'},
    "password_fallback_accepts_plain": {'fallback_plain'},
    "lookup_before_permission": {'unprivileged_unknown'},
    "username_ignores_case": {'username_upper'},
    "blank_id_means_self": {'blank_id'},
    "check_permission": {'not_allowed_text', 'target_untouched', 'unprivileged_existing', 'unprivileged_on_admin',
        'unprivileged_self_by_id'},
    "permission_checked_on": {'both_keys_resets', 'both_status', 'notice_mails', 'ok_body', 'ok_status',
        'target_keys_gone', 'target_logged_out', 'unprivileged_on_admin', 'username_upper'},
    "reset_caller_instead": {'both_keys_resets', 'caller_keys_kept', 'caller_logged_in', 'target_keys_gone',
        'target_logged_out'},
    "clear_keys": {'both_keys_resets', 'self_keys_gone', 'target_keys_gone'},
    "clear_sessions": {'self_logged_out', 'target_logged_out'},
    "logout_caller": {'caller_logged_in'},
    "clear_bystander_keys": {'both_keys_resets', 'bystander_keys_kept', 'caller_keys_kept'},
    "error_500_on_non_string": {'non_string'},
    "ok_body_off_schema": {'ok_body'},
    "response_content_type": {'content_type'},
    "rate_limit_headers": {'ratelimit_headers'},
    "error_type_suffix": {'not_allowed_text', 'wrong_code_text'},
    "user_id_wins": {'both_keys_resets'},
    "self_by_id_is_self_reset": {'unprivileged_self_by_id'},
    "totp_invalid_available_methods": {'wrong_code_detail_keys'},
    "cache_control_headers": {'cache_control'},
    "send_reset_email": {'notice_mails'},
    "server_version": {'version'},
    "auth_requires_token": {'id_only_authenticates'},
    "auth_requires_user_id": {'token_only_authenticates'},
    "token_bound_to_user": {'foreign_token_authenticates'},
    "logout_revokes_token": {'logged_out_token_works'},
    "two_factor_checked_first": {'empty_code', 'backup_second', 'code_step_-3', 'code_step_2', 'email_fifth_wrong',
                                 'fallback_plain',
        'no_code', 'second_call_without_code', 'wrong_code', 'wrong_code_detail_keys', 'wrong_code_text'},
    "email_attempts_limited": {'email_fifth_wrong'},
    "self_reset_on_empty_body": {'self_keys_gone', 'self_logged_out', 'self_status'},
    "reset_after_permission_check": {'target_untouched'},
    "rate_limit_enforced": {'past_limit_status'},
    "empty_code_is_absent": {'empty_code'},
    "password_fallback_accepts_hash": {'fallback_hex'},
    "body_schema_before_2fa": {'body_extra_key_without_code'},
    "body_scalars_coerced": {'body_numeric_user_id'},
}


def observe(behaviour: Behaviour) -> dict[str, Any]:
    # Probes run one after another on purpose: clear_bystander_keys touches other probes' users.
    with start(behaviour, SETTINGS) as server:
        api = Api(server.url, server.store)
        facts: dict[str, Any] = {}
        for probe in PROBES:
            facts.update(probe(api))
    return facts


@pytest.fixture(scope="module", params=["8", "7"])
def profile(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def baseline(profile: str) -> dict[str, Any]:
    return observe(Behaviour.for_profile(profile))


@pytest.fixture(scope="module")
def flipped(profile: str) -> dict[str, dict[str, Any]]:
    """All one-switch servers observed up front, a few at a time (each server is independent)."""
    names = sorted(FLIPS)
    base = Behaviour.for_profile(profile)
    with ThreadPoolExecutor(4) as pool:
        facts = pool.map(lambda n: observe(dataclasses.replace(base, **{n: FLIPS[n]})), names)
        return dict(zip(names, facts, strict=True))


def test_every_switch_has_a_flip_and_a_declared_effect() -> None:
    assert set(FLIPS) | FACT_MATRIX_SWITCHES | set(SERVER_PARAMETERS) | OWN_TEST == set(switch_names())
    assert not set(FLIPS) & FACT_MATRIX_SWITCHES
    assert set(AFFECTS) == set(FLIPS)
    assert all(AFFECTS.values())


def test_baseline_is_real_behaviour(baseline: dict[str, Any]) -> None:
    assert baseline["unauth_status"] == 401 and baseline["no_code"] == "totp-required"
    assert baseline["ok_status"] == 200 and baseline["ok_body"] == '{"success":true}'
    assert baseline["unprivileged_unknown"] == "error-invalid-user" and baseline["unprivileged_existing"] == 400
    assert baseline["code_step_-3"] == "totp-invalid" and baseline["code_step_1"] == "error-invalid-user"


@pytest.mark.parametrize("name", sorted(FLIPS))
def test_switch_changes_exactly_its_behaviour(profile: str, baseline: dict[str, Any],
                                              flipped: dict[str, dict[str, Any]], name: str) -> None:
    observed = flipped[name]
    changed = {k for k in baseline if baseline[k] != observed[k]}
    expected = set() if name in UNREACHED[profile] else AFFECTS[name] | ALSO_AFFECTS.get(profile, {}).get(name, set())
    assert changed == expected, {k: (baseline[k], observed[k]) for k in changed | AFFECTS[name]}


@pytest.mark.parametrize("honoured", [True, False])
def test_registration_grace_honoured_switch(honoured: bool) -> None:
    """8.6+: a fresh user without 2FA passes 2FA with no code; the defect asks it for the password fallback."""
    behaviour = dataclasses.replace(Behaviour.for_profile("8"), registration_grace_honoured=honoured)
    with start(behaviour, {}) as server:  # default RememberFor: 1800 s
        api = Api(server.url, server.store)
        u = provision(api, "admin", totp=False, verified=False)
        answer = api.post(RESET, user=u, json={"userId": "nobody"}).json()
    assert answer.get("errorType") == ("error-invalid-user" if honoured else "totp-required"), answer
