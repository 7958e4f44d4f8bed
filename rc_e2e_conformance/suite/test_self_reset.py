"""Self-reset (SELF-01): an empty body resets the caller's own keys and logs the caller out.

One self-reset, three judgements (the effects are judged whatever the reset answered: a server that
refuses a self-reset fails all three). It is sent ahead on the run's bounded pool (server/inflight.py): up
to 6.x the old token's 401 is delayed 0.5-1 s.
"""
from __future__ import annotations

from typing import NamedTuple

import pytest
import requests

from rc_e2e_conformance.server.expect import expect_keys, expect_status, expect_success
from rc_e2e_conformance.server.inflight import Context, answered_ahead

requirement = pytest.mark.requirement


class SelfReset(NamedTuple):
    reset: requests.Response  # the self-reset's own answer
    old_token: requests.Response  # GET me with the token that made the call
    keys: requests.Response  # e2e.fetchMyKeys after logging in again


def self_reset(s: Context) -> SelfReset:
    """A caller of its own with keys (admin role: exempt from the rate limiter) resets itself, once."""
    caller = s.provisioner.create_user("admin", keys=True)
    token = caller.token
    reset = caller.reset()
    return SelfReset(reset, caller.me(token=token), caller.relogin().fetch_keys())


one_self_reset = answered_ahead(self_reset)


@requirement("SELF-01")
@one_self_reset
def test_success_when_body_is_empty(answer):
    """An empty body resets the caller's own keys → 200 {"success": true}."""
    expect_success(answer.reset)


@requirement("SELF-01")
@one_self_reset
def test_own_keys_removed_by_self_reset(answer):
    """After a self-reset the caller's own keys are gone."""
    expect_keys(answer.keys, None)


@requirement("SELF-01")
@one_self_reset
def test_own_token_logged_out_by_self_reset(answer):
    """After a self-reset the token that made the call gets 401."""
    expect_status(answer.old_token, 401)
