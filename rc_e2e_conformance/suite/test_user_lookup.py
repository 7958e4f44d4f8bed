"""Finding the target (USER-*): userId, then username ignoring case; blank and unknown values."""
from __future__ import annotations

import pytest

from rc_e2e_conformance.server.expect import ABSENT, INVALID_USER, USER_PARAM_NOT_PROVIDED, expect_error, expect_success

requirement = pytest.mark.requirement


@requirement("USER-01")
def test_error_invalid_user_when_user_id_unknown(privileged, nobody):
    """An unknown userId → 400 error-invalid-user with the documented text."""
    expect_error(privileged.reset(userId=nobody), 400, "error-invalid-user", error=INVALID_USER)


@requirement("USER-02")
def test_error_invalid_user_when_username_unknown(privileged, nobody):
    """An unknown username → 400 error-invalid-user."""
    expect_error(privileged.reset(username=nobody), 400, "error-invalid-user", error=INVALID_USER)


@requirement("USER-03")
@pytest.mark.parametrize("blank", ["", "   ", None], ids=["empty", "spaces", "null"])
def test_error_user_param_not_provided_when_user_id_blank(fallback_caller, blank):
    """A blank userId ("", spaces, null) → 400 error-user-param-not-provided (not a self-reset)."""
    # The fallback caller: a server that takes this for a self-reset logs it out, and it logs in again.
    expect_error(fallback_caller.reset(userId=blank), 400, "error-user-param-not-provided",
                 error=USER_PARAM_NOT_PROVIDED)


@requirement("USER-07")
def test_type_error_when_user_id_is_not_a_string(privileged):
    """Up to 7.x a non-string userId (123) → 400, success false, a string error, no errorType; never a 5xx.

    Judged by shape: the leaked TypeError's text depends on how the server bundle was compiled.
    """
    expect_error(privileged.reset(userId=123), 400, ABSENT)


@requirement("USER-04")
def test_success_when_username_differs_in_letter_case(privileged, victim):
    """The username is matched ignoring letter case."""
    expect_success(privileged.reset(username=victim.username.upper()))


@requirement("USER-05")
def test_success_when_user_id_names_target_and_username_names_nobody(privileged, victim, nobody):
    """With both userId and username, userId decides the target."""
    expect_success(privileged.reset(userId=victim.id, username=nobody))


@requirement("USER-06")
def test_error_invalid_user_when_unprivileged_caller_names_unknown_user(unprivileged, nobody):
    """The target is looked up before the permission check: no permission + unknown user → error-invalid-user."""
    expect_error(unprivileged.reset(userId=nobody), 400, "error-invalid-user", error=INVALID_USER)
