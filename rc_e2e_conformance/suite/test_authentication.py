"""Authentication (AUTH-*) and JSON answers (API-01): who may call the endpoint at all.

Up to 6.x every 401 is delayed 0.5-1 s, so each test's one request is a scenario sent ahead of the
tests on the run's bounded pool (server/inflight.py); each test judges its own answer.
"""
from __future__ import annotations

import pytest

from rc_e2e_conformance.server.actors import RESET
from rc_e2e_conformance.server.expect import expect_json, expect_unauthorized
from rc_e2e_conformance.server.inflight import Context, answered_ahead

requirement = pytest.mark.requirement
WRONG_TOKEN = "rcc-wrong-token-0000000000000000000000000"


def no_credentials(s: Context):
    return s.client.post(RESET, json={"userId": s.nobody})


def auth_token_missing(s: Context):
    return s.client.post(RESET, headers={"X-User-Id": s.privileged.id}, json={"userId": s.nobody})


def user_id_missing(s: Context):
    return s.client.post(RESET, headers={"X-Auth-Token": s.privileged.token}, json={"userId": s.nobody})


def wrong_token(s: Context):
    return s.client.post(RESET, headers={"X-User-Id": s.privileged.id, "X-Auth-Token": WRONG_TOKEN},
                         json={"userId": s.nobody})


def token_of_another_user(s: Context):
    return s.client.post(RESET, headers={"X-User-Id": s.unprivileged.id, "X-Auth-Token": s.privileged.token},
                         json={"userId": s.nobody})


def logged_out_token(s: Context):
    caller = s.provisioner.create_user("admin", keys=False).relogin()  # its own user: the scenario logs it out
    token = caller.token
    caller.logout()
    return s.client.post(RESET, headers={"X-User-Id": caller.id, "X-Auth-Token": token, "x-2fa-code": caller.code()},
                         json={"userId": s.nobody})


def code_and_body_without_credentials(s: Context):
    # An unknown target: a server that looked it up before authenticating would answer error-invalid-user.
    return s.client.post(RESET, headers={"x-2fa-code": s.privileged.code()}, json={"userId": s.nobody})


@requirement("AUTH-01")
@answered_ahead(no_credentials)
def test_unauthorized_when_no_credentials(answer):
    """Neither X-User-Id nor X-Auth-Token → 401 "You must be logged in to do this."."""
    expect_unauthorized(answer)


@requirement("AUTH-02")
@answered_ahead(auth_token_missing)
def test_unauthorized_when_auth_token_missing(answer):
    """X-Auth-Token missing → 401 with the documented body."""
    expect_unauthorized(answer)


@requirement("AUTH-03")
@answered_ahead(user_id_missing)
def test_unauthorized_when_user_id_missing(answer):
    """X-User-Id missing → 401 with the documented body."""
    expect_unauthorized(answer)


@requirement("AUTH-04")
@answered_ahead(wrong_token)
def test_unauthorized_when_token_is_wrong(answer):
    """A wrong token for an existing user id → 401."""
    expect_unauthorized(answer)


@requirement("AUTH-05")
@answered_ahead(token_of_another_user)
def test_unauthorized_when_token_belongs_to_another_user(answer):
    """A valid token of user A sent with user B's id → 401."""
    expect_unauthorized(answer)


@requirement("AUTH-06")
@answered_ahead(logged_out_token)
def test_unauthorized_when_token_was_logged_out(answer):
    """A token used after logout → 401."""
    expect_unauthorized(answer)


@requirement("AUTH-07")
@answered_ahead(code_and_body_without_credentials)
def test_unauthorized_before_two_factor_and_body(answer):
    """Authentication is checked first: an unauthenticated call with a code and a body still gets 401."""
    expect_unauthorized(answer)


def totp_required(s: Context):
    return s.privileged.reset(userId=s.nobody, code=None)


def invalid_user(s: Context):
    return s.privileged.reset(userId=s.nobody)


# Three answers of different kinds; each must be JSON whatever its status.
@requirement("API-01")
@pytest.mark.parametrize("kind", [
    pytest.param("invalid-user", marks=answered_ahead(invalid_user)),
    pytest.param("totp-required", marks=answered_ahead(totp_required)),
    pytest.param("unauthenticated", marks=answered_ahead(no_credentials)),
])
def test_answer_is_json_whatever_the_outcome(answer, kind):
    """Every answer of the endpoint is JSON (Content-Type: application/json)."""
    expect_json(answer)
