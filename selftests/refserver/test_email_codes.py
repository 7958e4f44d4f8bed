"""behaviour.md §3.3: e-mailed codes (recorded in the outbox table), expiry, single use, max attempts."""
from __future__ import annotations

import time

from .helpers import RESET, Api


def _email_user(make_user):
    return make_user()  # verified e-mail + auto opt-in => e-mail 2FA, no TOTP


def test_first_call_emails_a_six_digit_code(api: Api, make_user) -> None:
    u = _email_user(make_user)
    r = api.post(RESET, user=u, json={})
    assert r.status_code == 400
    assert r.json()["details"] == {"method": "email", "codeGenerated": True, "emailOrUsername": u.username,
                                   "availableMethods": ["email"]}
    mails = [m for m in api.store.outbox(u.id) if m["code"]]
    assert len(mails) == 1 and mails[0]["to_address"] == u.email
    code = mails[0]["code"]
    assert len(code) == 6 and code.isdigit() and f"{code[:3]}-{code[3:]}" in mails[0]["body"]
    row = api.store.get_user(u.id)
    assert 3590 < row["email_code_expire"] - time.time() <= 3600
    assert row["email_code_hash"] != code  # stored hashed


def test_second_call_reports_pending_code_without_sending(api: Api, make_user) -> None:
    u = _email_user(make_user)
    api.post(RESET, user=u, json={})
    r = api.post(RESET, user=u, json={})
    d = r.json()["details"]
    assert d["codeGenerated"] is False and d["codeExpires"].endswith("Z") and d["emailOrUsername"] == u.username
    assert len([m for m in api.store.outbox(u.id) if m["code"]]) == 1


def test_code_works_once_and_dash_is_ignored(api: Api, make_user) -> None:
    u = _email_user(make_user)
    api.post(RESET, user=u, json={})
    code = api.last_code(u)
    assert api.post(RESET, user=u, code=f"{code[:3]}-{code[3:]}", json={}).json() == {"success": True}
    api.relogin(u)
    r = api.post(RESET, user=u, code=code, json={})
    assert r.json()["errorType"] == "totp-invalid" and r.json()["details"]["codeGenerated"] is True


def test_expired_code_is_rejected_and_replaced(api: Api, make_user) -> None:
    u = _email_user(make_user)
    api.post(RESET, user=u, json={})
    code = api.last_code(u)
    api.store.update_user(u.id, email_code_expire=time.time() - 1)  # 3600 s later
    r = api.post(RESET, user=u, code=code, json={})
    assert r.json()["errorType"] == "totp-invalid" and r.json()["details"]["codeGenerated"] is True
    assert api.last_code(u) != code or len(api.store.outbox(u.id)) == 2


def test_five_wrong_codes_reach_max_attempts(api: Api, make_user) -> None:
    u = _email_user(make_user)
    api.post(RESET, user=u, json={})
    code = api.last_code(u)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(4):
        assert api.post(RESET, user=u, code=wrong, json={}).json()["errorType"] == "totp-invalid"
    r = api.post(RESET, user=u, code=wrong, json={})
    assert r.status_code == 400
    assert r.json()["errorType"] == "totp-max-attempts"
    assert r.json()["error"] == "TOTP Maximun Failed Attempts Reached [totp-max-attempts]"
    r = api.post(RESET, user=u, code=code, json={})  # the locked-out code is gone, even the right one
    assert r.json()["errorType"] == "totp-invalid" and r.json()["details"]["codeGenerated"] is True
    assert api.last_code(u) != code or len([m for m in api.store.outbox(u.id) if m["code"]]) == 2
    assert api.post(RESET, user=u, code=api.last_code(u), json={}).json() == {"success": True}


def test_email_method_needs_verified_address_and_flag(api: Api, make_user) -> None:
    u = make_user(verified=False)
    assert api.post(RESET, user=u, json={}).json()["details"]["method"] == "password"
    v = make_user(email2fa=False)
    assert api.post(RESET, user=v, json={}).json()["details"]["method"] == "password"
    assert api.post("/api/v1/users.2fa.enableEmail", user=v).json() == {"success": True}
    assert api.post(RESET, user=v, json={}).json()["details"]["method"] == "email"


def test_disable_email_needs_two_factor(api: Api, make_user) -> None:
    u = _email_user(make_user)
    r = api.post("/api/v1/users.2fa.disableEmail", user=u)
    assert r.status_code == 400 and r.json()["errorType"] == "totp-required"
    assert api.post("/api/v1/users.2fa.disableEmail", user=u, code=api.last_code(u)).json() == {"success": True}
    assert api.get("/api/v1/me", user=u).json()["services"].get("email2fa") is None
