"""Authentication (AUTH-*) and JSON answers (API-01): who may call the endpoint at all."""
from __future__ import annotations

import pytest

from conformance.expect import expect_json, expect_unauthorized
from conformance.provisioning import RESET

requirement = pytest.mark.requirement


@requirement("AUTH-01")
def test_unauthorized_when_no_credentials(client, nobody):
    """Neither X-User-Id nor X-Auth-Token → 401 "You must be logged in to do this."."""
    resp = client.post(RESET, json={"userId": nobody})
    expect_unauthorized(resp)


@requirement("AUTH-02")
def test_unauthorized_when_auth_token_missing(client, privileged, nobody):
    """X-Auth-Token missing → 401 with the documented body."""
    resp = client.post(RESET, headers={"X-User-Id": privileged.id}, json={"userId": nobody})
    expect_unauthorized(resp)


@requirement("AUTH-03")
def test_unauthorized_when_user_id_missing(client, privileged, nobody):
    """X-User-Id missing → 401 with the documented body."""
    resp = client.post(RESET, headers={"X-Auth-Token": privileged.token}, json={"userId": nobody})
    expect_unauthorized(resp)


@requirement("AUTH-04")
def test_unauthorized_when_token_is_wrong(client, privileged, nobody):
    """A wrong token for an existing user id → 401."""
    headers = {"X-User-Id": privileged.id, "X-Auth-Token": "rcc-wrong-token-0000000000000000000000000"}
    resp = client.post(RESET, headers=headers, json={"userId": nobody})
    expect_unauthorized(resp)


@requirement("AUTH-05")
def test_unauthorized_when_token_belongs_to_another_user(client, privileged, unprivileged, nobody):
    """A valid token of user A sent with user B's id → 401."""
    headers = {"X-User-Id": unprivileged.id, "X-Auth-Token": privileged.token}
    resp = client.post(RESET, headers=headers, json={"userId": nobody})
    expect_unauthorized(resp)


@requirement("AUTH-06")
def test_unauthorized_when_token_was_logged_out(client, provisioner, throwaway_admin, nobody):
    """A token used after logout → 401."""
    provisioner.logout(throwaway_admin)
    resp = client.post(RESET, headers=throwaway_admin.auth_headers(throwaway_admin.code()), json={"userId": nobody})
    expect_unauthorized(resp)


@requirement("AUTH-07")
def test_unauthorized_before_two_factor_and_body(client, privileged):
    """Authentication is checked first: an unauthenticated call with a code and a body still gets 401."""
    resp = client.post(RESET, headers={"x-2fa-code": privileged.code()}, json={"userId": privileged.id})
    expect_unauthorized(resp)


# Three answers of different kinds; each must be JSON whatever its status.
_HEADERS = {
    "unauthenticated": lambda caller: {},
    "totp-required": lambda caller: caller.auth_headers(),
    "invalid-user": lambda caller: caller.auth_headers(caller.code()),
}


@requirement("API-01")
@pytest.mark.parametrize("kind", sorted(_HEADERS))
def test_answer_is_json_whatever_the_outcome(client, privileged, nobody, kind):
    """Every answer of the endpoint is JSON (Content-Type: application/json)."""
    resp = client.post(RESET, headers=_HEADERS[kind](privileged), json={"userId": nobody})
    expect_json(resp)
