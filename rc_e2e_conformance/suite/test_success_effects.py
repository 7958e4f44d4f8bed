"""Success (OK-*) and its effects (EFFECT-*): the target's keys and sessions go, nothing else changes.

The effects are judged on one reset: a target and a bystander with keys and a session, and a caller
of its own, all sent ahead on the run's bounded pool (server/inflight.py), since up to 6.x the old
token's 401 is delayed 0.5-1 s. A reset that is refused there leaves nothing to judge (an error).
"""
from __future__ import annotations

from typing import NamedTuple

import pytest
import requests

from rc_e2e_conformance.server.expect import expect_keys, expect_status, expect_success, precondition
from rc_e2e_conformance.server.inflight import Context, answered_ahead

requirement = pytest.mark.requirement


@requirement("OK-01")
def test_success_when_target_named_by_user_id(privileged, victim):
    """Privileged caller, valid code, existing target by userId → 200 {"success": true}."""
    expect_success(privileged.reset(userId=victim.id))


@requirement("OK-02")
def test_success_when_target_named_by_username(privileged, victim):
    """Privileged caller, valid code, existing target by username → 200 {"success": true}."""
    expect_success(privileged.reset(username=victim.username))


class Effects(NamedTuple):
    target_keys: requests.Response  # e2e.fetchMyKeys as the target, logged in again
    old_token: requests.Response  # GET me with the target's token from before the reset
    caller: requests.Response  # GET me with the caller's session
    bystander_keys: requests.Response  # e2e.fetchMyKeys as the bystander
    bystander_had: tuple[str, str] | None  # the keys the bystander was given


def one_reset(s: Context) -> Effects:
    """Target and bystander with keys and a session; a caller of its own (password fallback, admin role)
    resets the target once: a broken server that spoils its caller spoils no other test's."""
    target, bystander = s.provisioner.create_user("user"), s.provisioner.create_user("user")
    caller = s.provisioner.create_user("admin", keys=False)
    token = target.token
    precondition(caller.reset(userId=target.id), f"the reset of {target.username}")
    old_token = target.me(token=token)
    return Effects(target_keys=target.relogin().fetch_keys(), old_token=old_token, caller=caller.me(),
                   bystander_keys=bystander.fetch_keys(), bystander_had=bystander.keys)


after_one_reset = answered_ahead(one_reset)


@requirement("EFFECT-01")
@after_one_reset
def test_target_keys_removed_by_reset(answer):
    """After a reset the target's E2E keys are gone (e2e.fetchMyKeys after a fresh login returns none)."""
    expect_keys(answer.target_keys, None)


@requirement("EFFECT-02")
@after_one_reset
def test_target_sessions_logged_out_by_reset(answer):
    """After a reset every existing session of the target is logged out (old token → 401)."""
    expect_status(answer.old_token, 401)


@requirement("EFFECT-03")
@after_one_reset
def test_caller_session_survives_reset(answer):
    """After a reset the caller's own session still works."""
    expect_status(answer.caller, 200)


@requirement("EFFECT-03")
@after_one_reset
def test_bystander_keys_survive_reset(answer):
    """After a reset other users' keys are untouched."""
    expect_keys(answer.bystander_keys, answer.bystander_had)
