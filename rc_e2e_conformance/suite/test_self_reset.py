"""Self-reset (SELF-01): an empty body resets the caller's own keys and logs the caller out."""
from __future__ import annotations

import pytest

from rc_e2e_conformance.server.expect import expect_keys, expect_status, expect_success
from rc_e2e_conformance.server.inflight import Context, answered_ahead
from rc_e2e_conformance.server.provisioning import RESET

requirement = pytest.mark.requirement


@pytest.fixture
def self_resetter(make_user):
    """A disposable admin-role caller with keys (admin role: exempt from the rate limiter)."""
    return make_user("admin", keys=True, verified=False)


@requirement("SELF-01")
def test_success_when_body_is_empty(client, self_resetter):
    """An empty body resets the caller's own keys → 200 {"success": true}."""
    resp = client.post(RESET, headers=self_resetter.auth_headers(self_resetter.code()), json={})
    expect_success(resp)


@requirement("SELF-01")
def test_own_keys_removed_by_self_reset(client, provisioner, self_resetter):
    """After a self-reset the caller's own keys are gone."""
    client.post(RESET, headers=self_resetter.auth_headers(self_resetter.code()), json={})
    expect_keys(provisioner.fetch_keys(self_resetter.relogin()), None)


def own_token_after_self_reset(s: Context):
    """A fresh admin-role caller resets itself, then calls `me` with the same token (a 401, delayed up to
    6.x: sent ahead)."""
    caller = s.provisioner.create_user("admin", keys=True, verified=False)
    s.client.post(RESET, headers=caller.auth_headers(caller.code()), json={})
    return s.provisioner.me(caller)


@requirement("SELF-01")
@answered_ahead(own_token_after_self_reset)
def test_own_token_logged_out_by_self_reset(answer):
    """After a self-reset the token that made the call gets 401."""
    expect_status(answer, 401)
