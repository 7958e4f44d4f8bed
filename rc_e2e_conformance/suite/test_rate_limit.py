"""Rate limiting (RATE-01): counted callers see the limit, and past it get 429. Runs last (uses up the window)."""
from __future__ import annotations

import pytest

from rc_e2e_conformance.server.expect import expect_error, expect_rate_limit_headers
from rc_e2e_conformance.server.provisioning import RESET

requirement = pytest.mark.requirement
# On a live server this exhausts the window of this client IP for a minute: only when allowed.
pytestmark = pytest.mark.usefixtures("rate_limit_probe_allowed")


@requirement("RATE-01")
def test_rate_limit_headers_on_counted_answer(client, unprivileged, nobody):
    """A caller without api-bypass-rate-limit gets X-RateLimit-Limit/Remaining/Reset (Reset in epoch ms)."""
    resp = client.post(RESET, headers=unprivileged.auth_headers(unprivileged.code()), json={"userId": nobody})
    expect_rate_limit_headers(resp)


@requirement("RATE-01")
def test_too_many_requests_past_the_limit(client, provisioner, unprivileged, nobody):
    """Past the limit a counted caller gets 429 with [error-too-many-requests] in error."""
    with client.expecting_429():
        provisioner.exhaust_rate_limit(unprivileged, {"userId": nobody})
        resp = client.post(RESET, headers=unprivileged.auth_headers(unprivileged.code()), json={"userId": nobody})
    expect_error(resp, 429, None, error_endswith="[error-too-many-requests]")
