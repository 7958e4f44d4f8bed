"""behaviour.md §3: when 2FA applies, method selection, TOTP window, backup codes, password fallback."""
from __future__ import annotations

import pyotp
import pytest

from rc_e2e_conformance.refserver.twofactor import js_parse_int, totp_matches

from .conftest import start
from .helpers import RESET, Api, steady_totp_time, totp_code

REQUIRED = "TOTP Required [totp-required]"


def _wrong(code: str) -> str:
    return "000000" if code != "000000" else "111111"


def test_totp_required_body(api: Api, make_user) -> None:
    u = make_user(totp=True)
    r = api.post(RESET, user=u, json={})
    assert r.status_code == 400
    assert r.json() == {"success": False, "error": REQUIRED, "errorType": "totp-required",
                        "details": {"method": "totp", "codeGenerated": False, "availableMethods": ["totp", "email"]}}


def test_totp_invalid_body_includes_available_methods(api: Api, make_user) -> None:
    u = make_user(totp=True, verified=True)
    r = api.post(RESET, user=u, code=_wrong(u.code()), json={})
    assert r.json() == {"success": False, "error": "TOTP Invalid [totp-invalid]", "errorType": "totp-invalid",
                        "details": {"method": "totp", "codeGenerated": False, "availableMethods": ["totp", "email"]}}


def test_empty_code_header_counts_as_absent(api: Api, make_user) -> None:
    u = make_user(totp=True)
    r = api.http.post(api.url + RESET, json={}, headers={**u.headers(), "x-2fa-code": "", "x-2fa-method": ""})
    assert r.json()["errorType"] == "totp-required"


@pytest.mark.parametrize("steps", [-1, 0, 1])
def test_window_accepts_previous_current_next_step(api: Api, make_user, steps: int) -> None:
    u = make_user(totp=True)
    assert api.post(RESET, user=u, code=u.code(steps), json={}).json() == {"success": True}


@pytest.mark.parametrize("steps", [-3, -2, 2, 3])
def test_window_rejects_two_steps_away(api: Api, make_user, steps: int) -> None:
    u = make_user(totp=True)
    now = steady_totp_time()
    code = totp_code(u.totp_secret, steps, at=now)
    if code in {totp_code(u.totp_secret, s, at=now) for s in (-1, 0, 1)}:
        pytest.skip("code collision between steps (1 in ~300000)")
    assert api.post(RESET, user=u, code=code, json={}).json()["errorType"] == "totp-invalid"


@pytest.mark.parametrize("bad", ["12345", "1234567", "abcdef", "12 456", "-12345"])
def test_malformed_codes_are_invalid(api: Api, make_user, bad: str) -> None:
    u = make_user(totp=True)
    assert api.post(RESET, user=u, code=bad, json={}).json()["errorType"] == "totp-invalid"


def test_code_is_compared_as_a_number_of_exactly_six_characters() -> None:
    secret = pyotp.random_base32()
    t = next(t for t in range(10**9, 10**9 + 10**7, 30) if pyotp.TOTP(secret).at(t).startswith("0"))
    code = pyotp.TOTP(secret).at(t)
    assert totp_matches(secret, code, 1, at=t)
    assert totp_matches(secret, "+" + code[1:], 1, at=t)  # parseInt("+12345") == 12345 == 012345
    assert not totp_matches(secret, code[1:], 1, at=t)  # 5 characters
    assert js_parse_int("12a456") == 12 and js_parse_int("abc") is None and js_parse_int(" 7") == 7


def test_same_code_works_repeatedly_and_no_remember_me(api: Api, make_user) -> None:
    caller = make_user("admin", totp=True)
    code = caller.code()
    for _ in range(3):
        target = make_user()
        assert api.post(RESET, user=caller, code=code, json={"userId": target.id}).json() == {"success": True}
    assert api.post(RESET, user=caller, json={"userId": make_user().id}).json()["errorType"] == "totp-required"


def test_backup_codes_twelve_of_eight_chars_each_single_use(api: Api, make_user) -> None:
    caller = make_user("admin", totp=True)
    assert len(caller.backup_codes) == 12 and all(len(c) == 8 for c in caller.backup_codes)
    assert len(set(caller.backup_codes)) == 12
    code = caller.backup_codes[0]
    assert api.post(RESET, user=caller, code=code, json={"userId": make_user().id}).json() == {"success": True}
    assert api.post(RESET, user=caller, code=code, json={"userId": make_user().id}).json()["errorType"] == \
        "totp-invalid"
    assert api.post(RESET, user=caller, code=caller.backup_codes[1], json={"userId": make_user().id}).json() \
        == {"success": True}
    stored = {r["code_hash"] for r in api.store.db.all("SELECT code_hash FROM backup_codes WHERE user_id = ?",
                                                          (caller.id,))}
    assert len(stored) == 10 and not (set(caller.backup_codes) & stored)


def test_password_fallback_for_user_without_totp_or_email(api: Api, make_user) -> None:
    u = make_user(verified=False)  # an unverified address cannot carry e-mail 2FA
    r = api.post(RESET, user=u, json={})
    assert r.json()["details"] == {"method": "password", "codeGenerated": False, "availableMethods": []}
    assert api.post(RESET, user=u, code=u.password, json={}).json()["errorType"] == "totp-invalid"
    assert api.post(RESET, user=u, code=u.fallback(), json={}).json() == {"success": True}


def test_admin_from_env_uses_password_fallback(api: Api) -> None:
    admin = api.admin
    r = api.post(RESET, user=admin, json={"userId": "nobody"})
    assert r.json()["details"]["method"] == "password"
    r = api.post(RESET, user=admin, code=admin.fallback(), json={"userId": "nobody"})
    assert r.json()["errorType"] == "error-invalid-user"


def test_method_header_selects_method(api: Api, make_user) -> None:
    u = make_user(totp=True)
    r = api.http.post(api.url + RESET, json={}, headers={**u.headers(), "x-2fa-method": "email"})
    assert r.json()["details"]["method"] == "email" and r.json()["details"]["codeGenerated"] is True
    r = api.http.post(api.url + RESET, json={}, headers={**u.headers(), "x-2fa-method": "password"})
    assert r.json()["details"]["method"] == "totp"  # "password" is not selectable: first enabled method
    v = make_user(verified=False)
    r = api.http.post(api.url + RESET, json={}, headers={**v.headers(), "x-2fa-method": "totp"})
    assert r.json()["details"] == {"method": "totp", "codeGenerated": False, "availableMethods": []}


@pytest.mark.parametrize("settings,test_mode", [
    ({"Accounts_TwoFactorAuthentication_Enabled": "false"}, False), ({}, True),
    ({"Accounts_TwoFactorAuthentication_Enforce_Password_Fallback": "false"}, False)])
def test_two_factor_skipped(settings: dict[str, str], test_mode: bool) -> None:
    with start(settings={"API_Enable_Rate_Limiter": "false", **settings}, test_mode=test_mode) as server:
        api = Api(server.url, server.store)
        u = api.create_user(verified=False)
        assert api.post(RESET, user=u, json={}).json() == {"success": True}
        if settings.get("Accounts_TwoFactorAuthentication_Enforce_Password_Fallback"):
            t = api.create_user(totp=True)  # the fallback setting does not switch TOTP off
            assert api.post(RESET, user=t, json={}).json()["errorType"] == "totp-required"


def test_totp_method_setting_off_falls_through_to_email() -> None:
    with start(settings={"API_Enable_Rate_Limiter": "false",
                         "Accounts_TwoFactorAuthentication_By_TOTP_Enabled": "false"}) as server:
        api = Api(server.url, server.store)
        u = api.create_user()
        api.enable_totp(u)
        assert api.post(RESET, user=u, json={}).json()["details"]["availableMethods"] == ["email"]


def test_personal_access_token_with_bypass_skips_two_factor(api: Api, make_user) -> None:
    u = make_user("admin", totp=True)  # create-personal-access-tokens: admin only by default (§11.2)
    r = api.post("/api/v1/users.generatePersonalAccessToken", user=u, code=u.code(),
                 json={"tokenName": "ci", "bypassTwoFactor": True})
    assert r.status_code == 200, r.text
    pat = r.json()["token"]
    r = api.http.post(api.url + RESET, json={}, headers={"X-User-Id": u.id, "X-Auth-Token": pat})
    assert r.json() == {"success": True}
    assert api.http.get(api.url + "/api/v1/me", headers={"X-User-Id": u.id, "X-Auth-Token": pat}).status_code == 401


def test_no_lockout_after_many_wrong_totp_codes(api: Api, make_user) -> None:
    u = make_user(totp=True)
    wrong = _wrong(u.code())
    for _ in range(15):
        assert api.post(RESET, user=u, code=wrong, json={}).json()["errorType"] == "totp-invalid"
    assert api.post(RESET, user=u, code=u.code(), json={}).json() == {"success": True}
