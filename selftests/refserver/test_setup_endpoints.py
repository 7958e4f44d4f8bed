"""behaviour.md §7: login, logout, me, users.*, e2e.*, permissions.*, method.call 2FA, /api/info."""
from __future__ import annotations

import json

import pytest

from .helpers import RESET, Api, User, totp_code

FORBIDDEN = {"success": False,
             "error": "User does not have the permissions required for this action [error-unauthorized]"}


def test_login_by_username_email_and_user_key(api: Api, make_user) -> None:
    u = make_user(verified=False)  # no active e-mail 2FA: password alone logs in
    for body in ({"user": u.username, "password": u.password}, {"user": u.email.upper(), "password": u.password},
                 {"username": u.username.upper(), "password": u.password}, {"email": u.email, "password": u.password}):
        r = api.post("/api/v1/login", json=body)
        assert r.status_code == 200, body
        d = r.json()
        assert d["status"] == "success" and d["success"] is True and d["data"]["userId"] == u.id
        assert d["data"]["me"]["username"] == u.username and d["data"]["authToken"]


def test_login_failures(api: Api, make_user) -> None:
    u = make_user()
    r = api.login(u.username, "wrong")
    assert r.status_code == 401 and r.json()["message"] == "Incorrect password" and r.json()["status"] == "error"
    r = api.login("no-such-user-here", "x")
    assert r.status_code == 401 and r.json() == {"status": "error", "error": "Unauthorized", "message": "Unauthorized"}


def test_login_with_totp(api: Api, make_user) -> None:
    u = make_user(totp=True)
    r = api.login(u.username, u.password)
    assert r.status_code == 401
    assert r.json() == {"status": "error", "error": "totp-required", "message": "TOTP Required",
                        "details": {"method": "totp", "codeGenerated": False, "availableMethods": ["totp", "email"]}}
    wrong = "000000" if u.code() != "000000" else "111111"
    assert api.login(u.username, u.password, wrong).json()["error"] == "totp-invalid"
    assert api.login(u.username, u.password, u.code()).status_code == 200
    r = api.post("/api/v1/login", json={"user": u.username, "password": u.password}, headers={"x-2fa-code": u.code()})
    assert r.status_code == 200
    assert api.login(u.username, u.password, u.fallback()).status_code == 401  # no password fallback on login


def test_login_asks_email_2fa_users_for_a_mailed_code(api: Api, make_user) -> None:
    u = make_user()  # auto opt-in flag + verified address: e-mail 2FA active (§11.1)
    r = api.login(u.username, u.password)
    assert r.status_code == 401
    assert r.json() == {"status": "error", "error": "totp-required", "message": "TOTP Required",
                        "details": {"method": "email", "codeGenerated": True, "emailOrUsername": u.username,
                                    "availableMethods": ["email"]}}
    assert api.login(u.username, u.password, u.fallback()).json()["error"] == "totp-invalid"  # no fallback
    assert api.login(u.username, u.password, api.last_code(u)).status_code == 200


def test_ten_failures_block_the_user_for_five_minutes(api: Api, make_user) -> None:
    u = make_user()
    for _ in range(10):
        assert api.login(u.username, "bad").json()["message"] == "Incorrect password"
    r = api.login(u.username, u.password)
    assert r.status_code == 401 and r.json()["error"] == "error-login-blocked-for-user"
    blocked = api.store.get_user(u.id)["blocked_until"]
    import time
    assert 290 < blocked - time.time() <= 300


def test_me_shows_profile_and_totp_flag(api: Api, make_user) -> None:
    u = make_user(totp=True)
    me = api.get("/api/v1/me", user=u).json()
    assert me["success"] is True and me["_id"] == u.id and me["username"] == u.username
    assert me["emails"] == [{"address": u.email, "verified": True}] and me["roles"] == ["user"]
    assert me["services"]["totp"] == {"enabled": True}
    assert "e2e_public_key" not in json.dumps(me) and "pub-" not in json.dumps(me)


def test_users_create_rules(api: Api, make_user) -> None:
    admin = api.admin
    base = {"email": "dup1@example.test", "name": "Dup", "password": "x", "username": "dupuser1"}
    created = api.post("/api/v1/users.create", user=admin, json=base)
    assert created.status_code == 200 and created.json()["user"]["roles"] == ["user"]  # default role
    r = api.post("/api/v1/users.create", user=admin, json={**base, "email": "other@example.test"})
    assert r.status_code == 400 and r.json()["errorType"] == "error-field-unavailable"
    assert r.json()["error"].endswith("[error-field-unavailable]")
    r = api.post("/api/v1/users.create", user=admin,
                 json={**base, "username": "DUPUSER1x", "email": "DUP1@example.test"})
    assert r.json()["errorType"] == "error-field-unavailable"
    r = api.post("/api/v1/users.create", user=admin,
                 json={**base, "username": "n2", "email": "n2@e.test", "bogus": 1})
    assert r.status_code == 400 and r.json()["errorType"] == "invalid-params"
    r = api.post("/api/v1/users.create", user=admin, json={"name": "a", "password": "b", "username": "c"})
    assert r.status_code == 400 and "email" in r.json()["error"]
    r = api.post("/api/v1/users.create", user=make_user(), json={**base, "username": "n3", "email": "n3@e.test"})
    assert r.status_code == 403 and r.json() == FORBIDDEN
    full = {**base, "username": "n4", "email": "n4@e.test", "roles": ["bot"], "verified": True, "active": True,
            "joinDefaultChannels": False, "requirePasswordChange": False, "sendWelcomeEmail": False}
    user = api.post("/api/v1/users.create", user=admin, json=full).json()["user"]
    assert user["roles"] == ["bot"] and user["emails"] == [{"address": "n4@e.test", "verified": True}]


def test_users_delete_info_list(api: Api, make_user) -> None:
    u, v = make_user(), make_user()
    info = api.get(f"/api/v1/users.info?userId={u.id}", user=v).json()
    assert info["success"] is True and info["user"]["username"] == u.username
    assert "pub-" not in json.dumps(info) and "e2e" not in json.dumps(info)
    assert api.get(f"/api/v1/users.info?username={u.username}", user=v).json()["user"]["_id"] == u.id
    r = api.get("/api/v1/users.info?userId=nope", user=v)
    assert r.status_code == 400 and r.json() == {"success": False, "error": "User not found."}
    r = api.post("/api/v1/users.delete", user=v, json={"userId": u.id})
    assert r.status_code == 403 and r.json() == FORBIDDEN
    r = api.post("/api/v1/users.delete", user=api.admin, json={"username": u.username, "confirmRelinquish": True})
    assert r.json() == {"success": True}
    assert api.get(f"/api/v1/users.info?userId={u.id}", user=v).status_code == 400
    assert api.me_status(u) == 401
    page = api.get("/api/v1/users.list?count=2&offset=1", user=api.admin).json()
    assert page["count"] == 2 and page["offset"] == 1 and page["total"] >= 3 and len(page["users"]) == 2
    everyone = api.get("/api/v1/users.list?count=0", user=api.admin).json()
    assert len(everyone["users"]) == everyone["total"] == everyone["count"]
    assert v.id in {x["_id"] for x in everyone["users"]} and u.id not in {x["_id"] for x in everyone["users"]}


def test_e2e_keys_set_refuse_overwrite_force_and_fetch(api: Api, make_user) -> None:
    u = make_user(keys=False)
    assert api.fetch_keys(u) == {"success": True}
    keys = {"public_key": "P1", "private_key": "S1"}
    assert api.post("/api/v1/e2e.setUserPublicAndPrivateKeys", user=u, json=keys).json() == {"success": True}
    assert api.fetch_keys(u) == {**keys, "success": True}
    r = api.post("/api/v1/e2e.setUserPublicAndPrivateKeys", user=u, json={"public_key": "P2", "private_key": "S2"})
    assert r.status_code == 400 and r.json()["error"] == "Keys already set [error-keys-already-set]"
    r = api.post("/api/v1/e2e.setUserPublicAndPrivateKeys", user=u,
                 json={"public_key": "P2", "private_key": "S2", "force": True})
    assert r.json() == {"success": True} and api.fetch_keys(u)["public_key"] == "P2"


def test_permissions_list_and_update_grant_the_reset(api: Api, make_user) -> None:
    r = api.get("/api/v1/permissions.listAll", user=make_user())
    assert r.status_code == 403
    listing = api.get("/api/v1/permissions.listAll", user=api.admin).json()
    roles = {p["_id"]: p["roles"] for p in listing["update"]}
    assert listing["remove"] == [] and roles["edit-other-user-e2ee"] == ["admin"]
    assert roles["api-bypass-rate-limit"] == ["admin", "bot", "app"]
    for perm in ("create-user", "delete-user", "access-permissions", "view-statistics"):
        assert roles[perm] == ["admin"]
    caller, target = make_user("bot", totp=True), make_user()
    assert api.post(RESET, user=caller, code=caller.code(), json={"userId": target.id}).json()["errorType"] == \
        "error-not-allowed"
    upd = {"permissions": [{"_id": "edit-other-user-e2ee", "roles": ["admin", "bot"]}]}
    try:
        r = api.post("/api/v1/permissions.update", user=api.admin, json=upd)
        assert r.json()["success"] is True
        assert {"admin", "bot"} == set(next(p["roles"] for p in r.json()["permissions"]
                                            if p["_id"] == "edit-other-user-e2ee"))
        assert api.post(RESET, user=caller, code=caller.code(), json={"userId": target.id}).json() == {"success": True}
    finally:
        api.post("/api/v1/permissions.update", user=api.admin,
                 json={"permissions": [{"_id": "edit-other-user-e2ee", "roles": ["admin"]}]})


def test_method_call_enable_totp_flow(api: Api, make_user) -> None:
    u = make_user()
    other_session = api.relogin(User(**{**u.__dict__})).token  # a second session (e-mailed code)
    res = api.method_call(u, "2fa:enable", [])
    assert res["msg"] == "result" and res["id"] == "1"
    secret = res["result"]["secret"]
    assert res["result"]["url"] == f"otpauth://totp/Rocket.Chat:{u.username}?secret={secret}"
    bad = api.method_call(u, "2fa:validateTempToken", ["000000" if totp_code(secret) != "000000" else "111111"])
    assert bad["error"]["error"] == "invalid-totp"
    ok = api.method_call(u, "2fa:validateTempToken", [totp_code(secret)])
    assert len(ok["result"]["codes"]) == 12
    assert api.me_status(u) == 200  # the calling session survives
    assert api.http.get(api.url + "/api/v1/me", headers={"X-User-Id": u.id, "X-Auth-Token": other_session}
                        ).status_code == 401
    again = api.method_call(u, "2fa:enable", [])
    assert again["error"]["error"] == "error-2fa-already-enabled"


def test_method_call_refuses_unverified_email(api: Api, make_user) -> None:
    u = make_user(verified=False)
    res = api.method_call(u, "2fa:enable", [])
    assert "result" not in res and res["error"]["error"] == "error-invalid-user"


@pytest.mark.parametrize("message", ["not json", json.dumps({"msg": "method", "id": "1", "method": "other"}), 5])
def test_method_call_malformed_message(api: Api, make_user, message) -> None:
    r = api.post("/api/v1/method.call/2fa:enable", user=make_user(), json={"message": message})
    assert r.status_code == 400 and r.json()["success"] is False
