"""Rate limiting (RATE-01): counted callers see the limit, and past it get 429. Runs last (uses up the window)."""
from __future__ import annotations

import pytest

from rc_e2e_conformance.server.expect import expect_error, expect_rate_limit_headers

requirement = pytest.mark.requirement
# On a live server this exhausts the window of this client IP for a minute: only when allowed.
pytestmark = pytest.mark.usefixtures("rate_limit_probe_allowed")


@requirement("RATE-01")
def test_rate_limit_headers_on_counted_answer(unprivileged, nobody):
    """A caller without api-bypass-rate-limit gets X-RateLimit-Limit/Remaining/Reset (Reset in epoch ms)."""
    expect_rate_limit_headers(unprivileged.reset(userId=nobody))


@requirement("RATE-01")
def test_too_many_requests_past_the_limit(client, unprivileged, nobody):
    """Past the limit a counted caller gets 429 with [error-too-many-requests] in error."""
    with client.expecting_429():
        cap, sent = 10, 0  # Rocket.Chat's default; replaced by X-RateLimit-Limit when the server sends it
        while sent <= cap:  # use the window up: Remaining 0 or a 429
            resp = unprivileged.reset(userId=nobody, code=None)
            sent += 1
            if resp.status_code == 429 or resp.headers.get("X-RateLimit-Remaining") == "0":
                break
            limit = resp.headers.get("X-RateLimit-Limit", "")
            cap = min(int(limit), 100) if limit.isdigit() else cap
        resp = unprivileged.reset(userId=nobody)
    expect_error(resp, 429, None, error_endswith="[error-too-many-requests]")
