"""8.x body validation (BODY-*): the route's JSON schema runs before 2FA, coerces scalars, refuses the rest."""
from __future__ import annotations

import pytest

from rc_e2e_conformance.server.expect import INVALID_USER, USER_PARAM_NOT_PROVIDED, expect_error

requirement = pytest.mark.requirement


@requirement("BODY-01")
@pytest.mark.parametrize("body", [
    pytest.param({"userId": "x", "foo": 1}, id="another-key"),
    pytest.param([], id="json-array"),
    pytest.param({"userId": {}}, id="object-value"),
    pytest.param({"username": ["a"]}, id="array-value"),
])
def test_invalid_params_before_two_factor_when_body_breaks_the_schema(privileged, body):
    """A body the 8.x schema refuses → 400 invalid-params, before 2FA: no code is needed to get it."""
    expect_error(privileged.reset(body, code=None), 400, "invalid-params")


@requirement("BODY-02")
def test_invalid_user_when_numeric_user_id_is_coerced(privileged):
    """8.x coerces a number to its decimal text: {"userId":123} names user "123" → error-invalid-user."""
    expect_error(privileged.reset(userId=123), 400, "error-invalid-user", error=INVALID_USER)


@requirement("BODY-02")
def test_user_param_not_provided_when_user_id_is_null(privileged):
    """8.x coerces null to "": {"userId":null} is a blank userId → error-user-param-not-provided."""
    expect_error(privileged.reset(userId=None), 400, "error-user-param-not-provided", error=USER_PARAM_NOT_PROVIDED)
