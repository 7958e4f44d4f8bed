"""Two-factor authentication (TFA-*): every call needs its own valid code, checked before anything else."""
from __future__ import annotations

import pytest

from rc_e2e_conformance.server.expect import (
    TOTP_INVALID,
    TOTP_REQUIRED,
    contains,
    expect_error,
    expect_success,
    precondition,
)

requirement = pytest.mark.requirement
# On a live server with 2FA off (TEST_MODE, setting off) these tests are skipped with that reason.
pytestmark = pytest.mark.usefixtures("two_factor_enforced")

TOTP_DETAILS = {"method": "totp", "codeGenerated": False}


@requirement("TFA-01")
def test_totp_required_when_no_code(privileged, victim):
    """An authenticated TOTP user without x-2fa-code → 400 totp-required, method totp, availableMethods has totp."""
    expect_error(privileged.reset(userId=victim.id, code=None), 400, "totp-required", error=TOTP_REQUIRED,
                 details={**TOTP_DETAILS, "availableMethods": contains("totp")})


@requirement("TFA-02")
def test_totp_invalid_when_code_is_wrong(privileged, victim):
    """A wrong 6-digit code → 400 totp-invalid, details.method totp, details.codeGenerated false."""
    expect_error(privileged.reset(userId=victim.id, code=privileged.totp.wrong()), 400, "totp-invalid",
                 error=TOTP_INVALID, details=TOTP_DETAILS)


@requirement("TFA-03")
def test_totp_invalid_when_code_is_three_steps_old(privileged, victim):
    """A code from 3 or more 30-s steps ago → 400 totp-invalid."""
    expect_error(privileged.reset(userId=victim.id, code=privileged.totp.stale(3)), 400, "totp-invalid",
                 error=TOTP_INVALID, details=TOTP_DETAILS)


@requirement("TFA-04")
@pytest.mark.parametrize("kind", ["letters", "five-digits", "seven-digits"])
def test_totp_invalid_when_code_is_malformed(privileged, victim, kind):
    """Malformed codes (letters, 5 or 7 digits) → 400 totp-invalid."""
    expect_error(privileged.reset(userId=victim.id, code=privileged.totp.malformed()[kind]), 400, "totp-invalid",
                 error=TOTP_INVALID, details=TOTP_DETAILS)


@requirement("TFA-04")
def test_totp_required_when_code_header_is_empty(privileged, victim):
    """An empty x-2fa-code header counts as absent → 400 totp-required."""
    expect_error(privileged.reset(userId=victim.id, code=""), 400, "totp-required", error=TOTP_REQUIRED,
                 details=TOTP_DETAILS)


@requirement("TFA-05")
def test_totp_required_before_permission_check(unprivileged, victim):
    """2FA runs before the permission check: no code + missing permission → totp-required."""
    expect_error(unprivileged.reset(userId=victim.id, code=None), 400, "totp-required", error=TOTP_REQUIRED,
                 details=TOTP_DETAILS)


@requirement("TFA-05")
def test_totp_required_before_target_lookup(privileged, nobody):
    """2FA runs before the target lookup: no code + unknown target → totp-required."""
    expect_error(privileged.reset(userId=nobody, code=None), 400, "totp-required", error=TOTP_REQUIRED,
                 details=TOTP_DETAILS)


@requirement("TFA-06")
def test_totp_required_right_after_a_successful_call(privileged, victim, nobody):
    """No "remember me": right after a successful call, a call without a code → totp-required."""
    precondition(privileged.reset(userId=victim.id), "a reset with a valid code")
    expect_error(privileged.reset(userId=nobody, code=None), 400, "totp-required", error=TOTP_REQUIRED,
                 details=TOTP_DETAILS)


@requirement("TFA-07")
@pytest.mark.parametrize("step", [-1, +1], ids=["previous-step", "next-step"])
def test_success_when_code_is_one_step_off(privileged, victim, step):
    """Codes of the previous and next 30-s step are accepted (clock-skew window ±1)."""
    expect_success(privileged.reset(userId=victim.id, code=privileged.totp.at(step)))


@requirement("TFA-08")
def test_success_when_code_is_a_backup_code(privileged, victim):
    """A TOTP backup code (8 characters) is accepted."""
    expect_success(privileged.reset(userId=victim.id, code=privileged.backup_codes.pop()))


@requirement("TFA-08")
def test_totp_invalid_when_backup_code_is_reused(privileged, victim):
    """A backup code works once: the second use → totp-invalid."""
    backup = privileged.backup_codes.pop()
    precondition(privileged.reset(userId=victim.id, code=backup), "a reset with an unused backup code")
    expect_error(privileged.reset(userId=victim.id, code=backup), 400, "totp-invalid", error=TOTP_INVALID,
                 details=TOTP_DETAILS)
