"""Success (OK-*) and its effects (EFFECT-*): the target's keys and sessions go, nothing else changes."""
from __future__ import annotations

import pytest

from rc_e2e_conformance.server.expect import expect_keys, expect_status, expect_success
from rc_e2e_conformance.server.inflight import Context, answered_ahead
from rc_e2e_conformance.server.provisioning import RESET

requirement = pytest.mark.requirement


@requirement("OK-01")
def test_success_when_target_named_by_user_id(client, privileged, victim):
    """Privileged caller, valid code, existing target by userId → 200 {"success": true}."""
    resp = client.post(RESET, headers=privileged.auth_headers(privileged.code()), json={"userId": victim.id})
    expect_success(resp)


@requirement("OK-02")
def test_success_when_target_named_by_username(client, privileged, victim):
    """Privileged caller, valid code, existing target by username → 200 {"success": true}."""
    resp = client.post(RESET, headers=privileged.auth_headers(privileged.code()), json={"username": victim.username})
    expect_success(resp)


@requirement("EFFECT-01")
def test_target_keys_removed_by_reset(client, provisioner, throwaway_admin, make_user):
    """After a reset the target's E2E keys are gone (e2e.fetchMyKeys after a fresh login returns none)."""
    target = make_user("user", keys=True)
    # "After OK": a refused reset is "error"; a disposable caller, so an earlier broken reset cannot spoil it.
    provisioner.spend_code(throwaway_admin, throwaway_admin.code(), target)
    expect_keys(provisioner.fetch_keys(target.relogin()), None)


def old_token_after_reset(s: Context):
    """Reset a fresh target, then call `me` with the token it had (a 401, delayed up to 6.x: sent ahead)."""
    target = s.provisioner.create_user("user", keys=True)
    caller = s.provisioner.create_user("admin", keys=False, verified=False, login_now=True)  # disposable, see EFFECT-01
    s.provisioner.spend_code(caller, caller.code(), target)  # "after OK": a refused reset is "error"
    return s.provisioner.me(target)


@requirement("EFFECT-02")
@answered_ahead(old_token_after_reset)
def test_target_sessions_logged_out_by_reset(answer):
    """After a reset every existing session of the target is logged out (old token → 401)."""
    expect_status(answer, 401)


@requirement("EFFECT-03")
def test_caller_session_survives_reset(client, provisioner, throwaway_admin, victim):
    """After a reset the caller's own session still works."""
    # The reset is a precondition here: if it did not succeed (e.g. a 5xx) there is no effect to judge.
    provisioner.spend_code(throwaway_admin, throwaway_admin.code(), victim)
    expect_status(provisioner.me(throwaway_admin), 200)


@requirement("EFFECT-03")
def test_bystander_keys_survive_reset(client, provisioner, throwaway_admin, victim, make_user):
    """After a reset other users' keys are untouched."""
    bystander = make_user("user", keys=True)
    # A disposable caller: a server that spoils its callers must not turn this judgement into an error.
    provisioner.spend_code(throwaway_admin, throwaway_admin.code(), victim)  # must succeed, else "error"
    expect_keys(provisioner.fetch_keys(bystander), bystander.keys)
