"""Other 2FA methods (TFA-09, TFA-10, TFA-11): the password fallback, e-mailed codes, the 8.6+ registration grace."""
from __future__ import annotations

import time

import pytest

from rc_e2e_conformance.server.expect import (
    INVALID_USER,
    TOTP_INVALID,
    TOTP_MAX_ATTEMPTS,
    TOTP_REQUIRED,
    expect_error,
    expect_success,
    present,
)
from rc_e2e_conformance.server.totp import password_code

requirement = pytest.mark.requirement
pytestmark = pytest.mark.usefixtures("two_factor_enforced")


EMAIL_2FA_SETTINGS = ("Accounts_TwoFactorAuthentication_By_Email_Enabled",
                      "Accounts_TwoFactorAuthentication_By_Email_Auto_Opt_In")
GRACE_MARGIN_S = 10  # the fallback caller must still be inside the grace when TFA-11 calls


@pytest.fixture(scope="module")
def email_codes(two_factor_enforced, provisioner, nobody):
    """An admin-role user whose only 2FA method is e-mail (verified address, auto opt-in, no TOTP) calls
    without a code (a code is e-mailed), then with five wrong codes: the answers, in that order.

    Its codes go to <username>@example.com (a reserved domain), so the suite never knows them; it calls
    with the session of its first login, made before its address was verified. Where the server's
    settings switch e-mail 2FA (or its auto opt-in for new users) off, no such user exists: not judged.
    """
    off = [name for name in EMAIL_2FA_SETTINGS if provisioner.read_setting(name) is False]
    if off:
        pytest.skip(f"not judged: e-mail 2FA for new users is off on this server ({', '.join(off)} false)")
    email_only = provisioner.create_user("admin", keys=False, verified=True)
    return [email_only.reset(userId=nobody, code=code) for code in (None, *["000000"] * 5)]


@pytest.fixture
def password_fallback_observable(target, registration_grace):
    """On 8.6+ a fresh user without 2FA skips 2FA (registration grace): the fallback shows only with no grace."""
    if target.release.at_least(8, 6) and registration_grace != 0:
        pytest.skip(f"not judged on 8.6+ while the registration grace is {registration_grace} s: the suite's users "
                    f"are fresh, so they skip 2FA (set Accounts_TwoFactorAuthentication_RememberFor to 0 to judge)")


@pytest.fixture
def within_registration_grace(registration_grace, fallback_caller):
    if registration_grace == 0:
        pytest.skip("not judged: the registration grace (Accounts_TwoFactorAuthentication_RememberFor) is 0 here")
    age = time.monotonic() - fallback_caller.created
    if age > registration_grace - GRACE_MARGIN_S:  # the session's caller is too old to show the grace
        pytest.skip(f"not judged: the suite's fallback caller was created {age:.0f} s ago, and the registration "
                    f"grace is {registration_grace} s")


@requirement("TFA-11")
@pytest.mark.parametrize("code", [None, "000000"], ids=["no-code", "wrong-code"])
def test_fresh_user_without_2fa_skips_2fa(fallback_caller, nobody, within_registration_grace, code):
    """8.6+: a user created within the registration grace without any 2FA method passes 2FA with no or any code."""
    expect_error(fallback_caller.reset(userId=nobody, code=code), 400, "error-invalid-user", error=INVALID_USER)


@requirement("TFA-09")
@pytest.mark.usefixtures("password_fallback_observable")
def test_totp_required_asks_for_password_when_user_has_no_2fa_method(fallback_caller, nobody):
    """A user without TOTP or e-mail 2FA is asked for the password fallback: method password, availableMethods []."""
    expect_error(fallback_caller.reset(userId=nobody, code=None), 400, "totp-required", error=TOTP_REQUIRED,
                 details={"method": "password", "codeGenerated": False, "availableMethods": []})


@requirement("TFA-09")
@pytest.mark.usefixtures("password_fallback_observable")
def test_success_when_code_is_password_hash(fallback_caller, victim):
    """With the password fallback, the SHA-256 hex of the password is accepted as the code."""
    expect_success(fallback_caller.reset(userId=victim.id, code=password_code(fallback_caller.password)))


@requirement("TFA-09")
@pytest.mark.usefixtures("password_fallback_observable")
def test_totp_invalid_when_code_is_the_plain_password(fallback_caller, nobody):
    """The password fallback takes the SHA-256 hex of the password, not the plain password → totp-invalid."""
    expect_error(fallback_caller.reset(userId=nobody, code=fallback_caller.password), 400, "totp-invalid",
                 error=TOTP_INVALID, details={"method": "password", "codeGenerated": False})


@requirement("TFA-10")
def test_totp_required_sends_email_code_when_user_has_only_email_2fa(email_codes):
    """A user whose only 2FA method is e-mail gets totp-required: method email, codeGenerated true, emailOrUsername."""
    expect_error(email_codes[0], 400, "totp-required", error=TOTP_REQUIRED,
                 details={"method": "email", "codeGenerated": True, "emailOrUsername": present()})


@requirement("TFA-10")
def test_totp_max_attempts_after_five_wrong_email_codes(email_codes):
    """The fifth wrong e-mailed code → 400 totp-max-attempts, "TOTP Maximun Failed Attempts Reached"."""
    *first_four, fifth = email_codes[1:]
    for resp in first_four:
        if resp.status_code != 400:  # broke the rule while being set up for it: a failure, not an error
            expect_error(resp, 400, "totp-invalid")
    expect_error(fifth, 400, "totp-max-attempts", error=TOTP_MAX_ATTEMPTS)
