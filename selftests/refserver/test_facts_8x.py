"""behaviour.md §10 on profile 8 (8.8), each fact beside its 7.x/6.x contrast, over real HTTP."""
from __future__ import annotations

import random

import pytest
import requests

from rc_e2e_conformance.refserver import Behaviour

from .conftest import NO_LIMIT, start
from .helpers import RESET, Api, sha_hex
from .test_robustness import MALFORMED

NO_CODE_NEEDED = {"json": {"foo": 1}}


def _invalid(r: requests.Response, message: str) -> None:
    assert r.status_code == 400 and r.headers["content-type"] == "application/json"
    assert r.json() == {"success": False, "errorType": "invalid-params", "error": message}  # no suffix, no details


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"json": {"foo": 1}}, "must NOT have additional properties"),
    ({"json": {"userId": "x", "userid": "y"}}, "must NOT have additional properties"),
    ({"json": {"userId": {}}}, "must be string"),
    ({"json": {"username": ["a"]}}, "must be string"),
    ({"json": {"user": {"id": 1}}}, "must be string"),
    ({"json": []}, "must be object"),
    ({"json": [{"userId": "x"}]}, "must be object"),
    ({"data": b"null", "headers": {"content-type": "application/json"}}, "must be object"),
    ({"json": "userId"}, "must be object"),
    ({"json": 5}, "must be object"),
    ({"data": "userId=abc", "headers": {"content-type": "application/x-www-form-urlencoded"}}, "must be object"),
], ids=["other-key", "case-other-key", "object", "array", "user-object", "array-body", "array-of-obj", "null-body",
        "string-body", "number-body", "form"])
def test_body_schema_refuses_before_two_factor(api8: Api, kwargs: dict, message: str) -> None:
    """§10.2: refused with invalid-params even without a 2FA code, and nothing is reset."""
    u = api8.create_user(totp=True)
    headers = {**u.headers(), **kwargs.pop("headers", {})}
    _invalid(api8.http.post(api8.url + RESET, headers=headers, **kwargs), message)
    assert api8.me_status(u) == 200


@pytest.mark.parametrize(("value", "answer"), [
    (123, "error-invalid-user"), (True, "error-invalid-user"), (1.5, "error-invalid-user"),
    (None, "error-user-param-not-provided")])
def test_scalars_are_coerced_then_looked_up(api8: Api, value: object, answer: str) -> None:
    """§10.2: 123 → "123", true → "true", null → "" — judged after 2FA, never the ≤7.x TypeError."""
    a = api8.create_user("admin", totp=True)
    assert api8.post(RESET, user=a, json={"userId": value}).json()["errorType"] == "totp-required"
    r = api8.post(RESET, user=a, code=a.code(), json={"userId": value})
    assert r.status_code == 400 and r.json()["errorType"] == answer


def test_a_number_names_the_user_with_that_name(api8: Api) -> None:
    """§10.2: {"username": 918273645} finds the user named "918273645"."""
    a = api8.create_user("admin", totp=True)
    name = str(random.randrange(10**8, 10**9))
    r = api8.post("/api/v1/users.create", user=api8.admin, code=api8.admin_code(),
                  json={"email": f"{name}@example.test", "name": name, "password": "pw-" + name, "username": name})
    uid = r.json()["user"]["_id"]
    api8.store.set_keys(uid, "pub", "priv")
    assert api8.post(RESET, user=a, code=a.code(), json={"username": int(name)}).json() == {"success": True}
    assert api8.store.get_user(uid)["e2e_public_key"] is None


@pytest.mark.parametrize("kwargs", [
    {"data": b"{", "headers": {"content-type": "application/json"}},
    {"data": b"not json", "headers": {"content-type": "text/plain"}}], ids=["malformed-json", "text"])
def test_a_body_that_is_not_json_is_a_self_reset(api8: Api, kwargs: dict) -> None:
    u = api8.create_user(totp=True)
    r = api8.http.post(api8.url + RESET, headers={**u.headers(u.code()), **kwargs.pop("headers")}, **kwargs)
    assert r.json() == {"success": True} and api8.me_status(u) == 401


def test_order_authentication_then_limiter_then_schema() -> None:
    """§10.1: a bad body is 401 when unauthenticated and 429 past the limit; invalid-params only between."""
    with start(settings={"API_Enable_Rate_Limiter_Limit_Calls_Default": "2"}) as server:
        api = Api(server.url, server.store)
        assert api.http.post(api.url + RESET, **NO_CODE_NEEDED).status_code == 401
        u = api.create_user(totp=True)
        for _ in range(2):
            r = api.post(RESET, user=u, **NO_CODE_NEEDED)
            _invalid(r, "must NOT have additional properties")
            assert "x-ratelimit-remaining" in r.headers
        assert api.post(RESET, user=u, **NO_CODE_NEEDED).status_code == 429


def test_unrelated_keys_and_objects_up_to_7x(api: Api, make_user) -> None:
    """Contrast (profile 7): no schema — other keys are a self-reset, an object userId is the TypeError."""
    u = make_user("admin", totp=True)
    r = api.post(RESET, user=u, code=u.code(), json={"userId": {}})
    assert r.json() == {"success": False, "error": "params.userId?.trim is not a function"}
    assert api.post(RESET, user=u, json={"foo": 1}).json()["errorType"] == "totp-required"
    assert api.post(RESET, user=u, code=u.code(), json={"foo": 1}).json() == {"success": True}


def test_registration_grace_skips_two_factor_for_new_users_without_a_method(api8_grace: Api) -> None:
    """§10.3: no code, a wrong code or any code all pass; TOTP and e-mail 2FA users are not affected."""
    api = api8_grace
    fresh = api.create_user("admin", verified=False)
    for code in (None, "000000", "whatever"):
        assert api.post(RESET, user=fresh, code=code, json={"userId": "nobody"}).json()["errorType"] == \
            "error-invalid-user"
    with_totp, with_email = api.create_user("admin", totp=True), api.create_user("admin")
    assert api.post(RESET, user=with_totp, json={"userId": "nobody"}).json()["details"]["method"] == "totp"
    assert api.post(RESET, user=with_email, json={"userId": "nobody"}).json()["details"]["method"] == "email"


def test_no_registration_grace_once_remember_for_has_passed(api8: Api) -> None:
    """RememberFor 0 (as a suite sets it): the same fresh user meets the password fallback."""
    fresh = api8.create_user("admin", verified=False)
    r = api8.post(RESET, user=fresh, json={"userId": "nobody"})
    assert r.json()["details"] == {"method": "password", "codeGenerated": False, "availableMethods": []}


def test_no_registration_grace_on_7x() -> None:
    with start(Behaviour.for_profile("7"), NO_LIMIT) as server:  # default RememberFor 1800
        api = Api(server.url, server.store)
        fresh = api.create_user(verified=False)
        assert api.post(RESET, user=fresh, json={}).json()["details"]["method"] == "password"


def test_remember_for_comes_from_overwrite_setting_env() -> None:
    env = {"OVERWRITE_SETTING_Accounts_TwoFactorAuthentication_RememberFor": "0"}
    with start(settings=NO_LIMIT, env=env) as server:
        api = Api(server.url, server.store)
        r = api.get("/api/v1/settings/Accounts_TwoFactorAuthentication_RememberFor", user=api.admin)
        assert r.json() == {"_id": "Accounts_TwoFactorAuthentication_RememberFor", "value": 0, "success": True}
        fresh = api.create_user(verified=False)
        assert api.post(RESET, user=fresh, json={}).json()["details"]["method"] == "password"


def test_users_create_needs_the_admins_second_factor(api8: Api) -> None:
    """§10.4: the admin's password fallback (upper-case hex too, §10.5); none needed within the grace."""
    body = {"email": "x1@example.test", "name": "x", "password": "x", "username": "x1"}
    r = api8.post("/api/v1/users.create", user=api8.admin, json=body)
    assert r.status_code == 400 and r.json()["errorType"] == "totp-required"
    assert r.json()["details"]["method"] == "password"
    wrong = api8.post("/api/v1/users.create", user=api8.admin, code=sha_hex("nope"), json=body)
    assert wrong.json()["errorType"] == "totp-invalid"
    ok = api8.post("/api/v1/users.create", user=api8.admin, code=api8.admin_code().upper(), json=body)
    assert ok.status_code == 200 and ok.json()["user"]["username"] == "x1"


def test_users_create_in_the_grace_and_on_7x_needs_no_code(api8_grace: Api, api: Api) -> None:
    for server_api in (api8_grace, api):
        r = server_api.post("/api/v1/users.create", user=server_api.admin,
                            json={"email": "g1@example.test", "name": "g", "password": "g", "username": "g1"})
        assert r.status_code == 200, r.text


def test_users_delete_answer_and_schema(api8: Api, api: Api) -> None:
    u = api8.create_user()
    r = api8.post("/api/v1/users.delete", user=api8.admin, json={"userId": u.id, "extra": 1})
    _invalid(r, "must NOT have additional properties")
    r = api8.post("/api/v1/users.delete", user=api8.admin, json={"userId": u.id, "confirmRelinquish": True})
    assert r.json() == {"deletedRooms": [], "success": True}
    v = api.create_user()  # profile 7
    assert api.post("/api/v1/users.delete", user=api.admin, json={"userId": v.id}).json() == {"success": True}


@pytest.mark.parametrize("profile", ["8", "7", "6"])
def test_api_info_version_per_profile(profile: str) -> None:
    with start(Behaviour.for_profile(profile), NO_LIMIT) as server:
        info = requests.get(server.url + "/api/info", timeout=5).json()
    expected = {"8": "8.8", "7": "7.10", "6": "6.10"}[profile]
    assert info["version"] == expected and info["success"] is True
    assert (set(info) > {"version", "success"}) is (profile == "8")  # 8.x tells anonymous callers more


def test_unauthenticated_body_keeps_status_and_message_on_8x(api8: Api) -> None:
    r = api8.http.post(api8.url + RESET, json={})
    assert r.status_code == 401 and r.json() == {
        "success": False, "error": "You must be logged in to do this.", "status": "error",
        "message": "You must be logged in to do this."}


def test_wrong_method_and_body_limits_per_profile(api8: Api) -> None:
    """§9: 404 text/plain on 8.x/7.6+, and no body size limit there (a 2 MiB id is just unknown)."""
    r = api8.http.get(api8.url + RESET)
    assert r.status_code == 404 and r.text == "404 Not Found" and r.headers["content-type"].startswith("text/plain")
    a = api8.create_user("admin", totp=True)
    r = api8.post(RESET, user=a, code=a.code(), json={"userId": "a" * (2 * 1024 * 1024)})
    assert r.json()["errorType"] == "error-invalid-user"
    assert Behaviour.for_profile("8").unauthenticated_delay is None is Behaviour.for_profile("7").unauthenticated_delay


@pytest.mark.parametrize(("name", "raw", "headers"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_input_never_5xx_on_8x(api8: Api, name: str, raw: bytes, headers: dict[str, str]) -> None:
    u = api8.create_user(totp=True)
    r = api8.http.post(api8.url + RESET, data=raw, headers={**u.headers(u.code()), **headers}, timeout=30)
    assert r.status_code < 500 and r.headers["content-type"] == "application/json", (name, r.text[:200])


@pytest.mark.parametrize("profile", ["7", "6"])
def test_body_size_limit_only_up_to_7_5(profile: str) -> None:
    """§9: 7.6+ reads a 2 MiB body (the id is just unknown); 6.x refuses it with a plain 400."""
    with start(Behaviour.for_profile(profile), NO_LIMIT) as server:
        api = Api(server.url, server.store)
        a = api.create_user("admin", totp=True)
        body = api.post(RESET, user=a, code=a.code(), json={"userId": "a" * (2 * 1024 * 1024)}).json()
    if profile == "7":
        assert body["errorType"] == "error-invalid-user"
    else:
        assert "errorType" not in body and body["error"].startswith("request entity too large")
