"""expect_*: every mismatch in one AssertionError, a redacted curl line, evidence for every judged answer."""
from __future__ import annotations

import pytest

from rc_e2e_conformance.contract.errors import ProvisioningError
from rc_e2e_conformance.contract.redact import clear_secrets, register_secret
from rc_e2e_conformance.server.client import Client
from rc_e2e_conformance.server.evidence import take
from rc_e2e_conformance.server.expect import (
    ABSENT,
    INVALID_USER,
    TOTP_REQUIRED,
    contains,
    expect_error,
    expect_keys,
    expect_success,
    expect_unauthorized,
    precondition,
    present,
)

RESET = "/api/v1/users.resetE2EKey"
TOKEN = "tok-abcdefghijklmnopqrstuvwxyz0123"
HEADERS = {"X-User-Id": "U1", "X-Auth-Token": TOKEN, "x-2fa-code": "654321"}


@pytest.fixture
def client(canned):
    c = Client(canned.url, timeout=5)
    yield c
    c.close()
    clear_secrets()


def _reset(client, canned, status, body, ctype="application/json"):
    canned.answer(RESET, status, body, ctype)
    return client.post(RESET, headers=HEADERS, json={"userId": "someone", "password": "pw-in-body-123"})


def test_matching_error_passes_and_records_evidence(client, canned):
    body = {"success": False, "error": INVALID_USER, "errorType": "error-invalid-user"}
    expect_error(_reset(client, canned, 400, body), 400, "error-invalid-user", error=INVALID_USER)
    (ev,) = take()
    assert ev.request.startswith(f"POST {canned.url}{RESET}") and "400 application/json" in ev.response
    assert TOKEN not in ev.request + ev.curl and "654321" not in ev.request + ev.curl


def test_every_mismatch_listed_in_one_assertion(client, canned):
    body = {"success": True, "error": "Nope", "errorType": "wrong-type", "details": {"method": "email"}}
    resp = _reset(client, canned, 403, body, ctype="text/plain")
    with pytest.raises(AssertionError) as info:
        expect_error(resp, 400, "totp-required", error=TOTP_REQUIRED,
                     details={"method": "totp", "codeGenerated": False, "availableMethods": contains("totp")})
    text = str(info.value)
    for fragment in ("status: expected 400, got 403", "Content-Type: expected application/json",
                     "success: expected false, got True", "errorType: expected 'totp-required', got 'wrong-type'",
                     "error: expected 'TOTP Required [totp-required]', got 'Nope'",
                     "details.method: expected 'totp', got 'email'", "details.codeGenerated: expected False",
                     "details.availableMethods: expected a list containing 'totp'", "schema: "):
        assert fragment in text, fragment
    curl = text.splitlines()[-1]
    assert curl.startswith("Reproduce: curl") and RESET in curl
    assert "X-Auth-Token: ***" in curl and "x-2fa-code: ***" in curl and '"password": "***"' in curl
    assert TOKEN not in text and "654321" not in text and "pw-in-body-123" not in text
    assert len(take()) == 1  # evidence recorded for the failing exchange too


def test_registered_secret_is_masked_wherever_it_appears(client, canned):
    register_secret("leaky-secret-value")
    resp = _reset(client, canned, 400, {"success": False, "error": "leaky-secret-value"})
    with pytest.raises(AssertionError) as info:
        expect_error(resp, 400, "error-invalid-user")
    assert "leaky-secret-value" not in str(info.value) and "***" in str(info.value)


def test_non_json_body_is_a_mismatch_not_a_crash(client, canned):
    resp = _reset(client, canned, 200, b"<html>ok</html>", ctype="text/html")
    with pytest.raises(AssertionError, match="body is not JSON"):
        expect_success(resp)


def test_success_and_unauthorized_shapes(client, canned):
    expect_success(_reset(client, canned, 200, {"success": True}))
    expect_unauthorized(_reset(client, canned, 401, {"status": "error",
                                                     "message": "You must be logged in to do this."}))
    with pytest.raises(AssertionError, match="message: expected"):
        expect_unauthorized(_reset(client, canned, 401, {"status": "error", "message": "go away"}))


def test_absent_error_type_and_present_details(client, canned):
    body = {"success": False, "error": "params.userId?.trim is not a function", "errorType": "x"}
    with pytest.raises(AssertionError, match="errorType: expected none"):
        expect_error(_reset(client, canned, 400, body), 400, ABSENT, schema=False)
    body = {"success": False, "error": TOTP_REQUIRED, "errorType": "totp-required", "details": {}}
    with pytest.raises(AssertionError, match="details.emailOrUsername: expected present, got <missing>"):
        expect_error(_reset(client, canned, 400, body), 400, "totp-required",
                     details={"emailOrUsername": present()}, schema=False)


def test_a_429_outside_the_rate_limit_test_is_a_harness_error(client, canned):
    from rc_e2e_conformance.contract.errors import TargetError

    body = {"success": False, "error": "Error, too many requests. [error-too-many-requests]"}
    with pytest.raises(TargetError, match="rate-limited"):
        expect_error(_reset(client, canned, 429, body), 400, "error-invalid-user")
    assert client.rate_limited == 1


def test_expect_keys_tells_removed_from_logged_out(client, canned):
    canned.answer("/keys", 200, {"success": True})
    with pytest.raises(AssertionError, match="were removed"):
        expect_keys(client.get("/keys"), ("pub", "priv"))
    canned.answer("/gone", 401, {"status": "error", "message": "You must be logged in to do this."})
    with pytest.raises(AssertionError, match="session was logged out"):
        expect_keys(client.get("/gone"), ("pub", "priv"))
    canned.answer("/has", 200, {"success": True, "public_key": "pub", "private_key": "priv"})
    expect_keys(client.get("/has"), ("pub", "priv"))
    with pytest.raises(AssertionError, match="expected none"):
        expect_keys(client.get("/has"), None)


@pytest.mark.parametrize(("status", "body", "reached", "judgeable"), [
    (200, {"success": True}, False, True),
    (400, {"success": False, "errorType": "error-not-allowed"}, False, False),
    (503, {"success": False}, False, False),
    (400, {"success": False, "errorType": "error-not-allowed"}, True, True),
    (200, {"success": True}, True, True),  # a server that skips the permission check: judged (it failed)
    (400, {"success": False, "errorType": "totp-required"}, True, False),
    (400, {"success": False, "errorType": "error-invalid-user"}, True, False),
    (401, {"status": "error"}, True, False),
    (429, {"success": False}, True, False),
])
def test_precondition_is_could_not_judge_never_a_failure(client, canned, status, body, reached, judgeable):
    resp = _reset(client, canned, status, body)
    if judgeable:
        precondition(resp, "the set-up reset", reached_permission_check=reached)
        return
    with pytest.raises(ProvisioningError) as info:
        precondition(resp, "the set-up reset", reached_permission_check=reached)
    assert f"the set-up reset was refused (HTTP {status}" in str(info.value) and "Reproduce: curl" in str(info.value)
    assert TOKEN not in str(info.value) and "654321" not in str(info.value)
    assert take() == ()  # not a judgement: no evidence recorded
