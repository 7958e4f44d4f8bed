"""The reference server's answers on every documented path, on every release profile, judged by the spec."""
from __future__ import annotations

import hashlib
import json
import re
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pyotp
import pytest
import requests

from rc_e2e_conformance.contract.spec import OPERATION_PATH, response_headers, validate_response
from rc_e2e_conformance.refserver.behaviour import Behaviour
from rc_e2e_conformance.refserver.server import serve_in_thread

ADMIN = {"admin_username": "rcc-spec-admin", "admin_password": "Adm1n-" + secrets.token_hex(8),
         "admin_email": "rcc-spec-admin@example.com"}
# The admin's second factor for 2FA-protected setup calls (8.x users.create, users.update): it has
# no TOTP and no e-mail 2FA, so the password fallback.
ADMIN_CODE = {"x-2fa-code": hashlib.sha256(ADMIN["admin_password"].encode()).hexdigest()}
# No registration grace (8.x), so fresh users' second factor shows as on an older server.
NO_GRACE = {"Accounts_TwoFactorAuthentication_RememberFor": "0"}
NO_ERROR_TYPE = object()


@dataclass
class User:
    id: str
    username: str
    password: str
    token: str
    secret: str | None = None
    backup_codes: list[str] = field(default_factory=list)

    def auth(self) -> dict[str, str]:
        return {"X-User-Id": self.id, "X-Auth-Token": self.token}


class Api:
    """A tiny client for the reference server: setup endpoints of behaviour.md §7."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = requests.Session()

    def call(self, method: str, path: str, headers: dict[str, str] | None = None, **kw: object) -> requests.Response:
        return self.http.request(method, self.url + path, headers=headers or {}, timeout=10, **kw)

    def ok(self, method: str, path: str, headers: dict[str, str] | None = None, **kw: object) -> dict:
        resp = self.call(method, path, headers, **kw)
        if resp.status_code != 200:  # setup failure, not a contract finding
            raise RuntimeError(f"setup {method} {path} -> {resp.status_code} {resp.text[:300]}")
        return resp.json()

    def reset(self, headers: dict[str, str], body: object = None, **kw: object) -> requests.Response:
        if body is None:
            return self.call("POST", OPERATION_PATH, headers, **kw)
        return self.call("POST", OPERATION_PATH, headers, json=body, **kw)

    def login(self, username: str, password: str, code: str | None = None) -> tuple[str, str]:
        body = {"user": username, "password": password} | ({"code": code} if code else {})
        data = self.ok("POST", "/api/v1/login", json=body)["data"]
        return data["userId"], data["authToken"]

    def method_call(self, user: User, method: str, params: list) -> object:
        message = json.dumps({"msg": "method", "id": "1", "method": method, "params": params})
        outer = self.ok("POST", f"/api/v1/method.call/{method}", user.auth(), json={"message": message})
        inner = json.loads(outer["message"])
        if "error" in inner:
            raise RuntimeError(f"setup {method} failed: {inner['error']}")
        return inner["result"]

    def create_user(self, admin: User, *, roles: tuple[str, ...] = ("user",), verified: bool = True,
                    totp: bool = False, keys: bool = False) -> User:
        username = "rcc-spec-" + secrets.token_hex(4)
        password = "Pw-" + secrets.token_hex(8)
        # behaviour.md §11.1: created unverified (a verified user would need an e-mailed code to log
        # in), logged in, then verified by the admin; the session from before stays valid.
        user_id = self.ok("POST", "/api/v1/users.create", admin.auth() | ADMIN_CODE, json={
            "email": f"{username}@example.com", "name": username, "password": password,
            "username": username, "roles": list(roles), "verified": False})["user"]["_id"]
        user_id, token = self.login(username, password)
        if verified:
            self.ok("POST", "/api/v1/users.update", admin.auth() | ADMIN_CODE,
                    json={"userId": user_id, "data": {"verified": True}})
        user = User(user_id, username, password, token)
        if totp:
            user.secret = self.method_call(user, "2fa:enable", [])["secret"]
            user.backup_codes = self.method_call(user, "2fa:validateTempToken", [code(user.secret)])["codes"]
        if keys:
            self.ok("POST", "/api/v1/e2e.setUserPublicAndPrivateKeys", user.auth(),
                    json={"public_key": "pub-" + username, "private_key": "priv-" + username})
        return user


def code(secret: str | None) -> str:
    """A current TOTP code, at least 3 s away from the end of its step."""
    assert secret
    if 30 - time.time() % 30 < 3:
        time.sleep(30 - time.time() % 30 + 0.2)  # TOTP wait (the only sleep allowed)
    return pyotp.TOTP(secret).now()


def wrong_code(secret: str | None) -> str:
    assert secret
    totp, now = pyotp.TOTP(secret), time.time()
    near = {totp.at(now + 30 * step) for step in range(-3, 4)}
    return next(c for c in (f"{n:06d}" for n in range(123456, 999999, 7919)) if c not in near)


def judge(resp: requests.Response, status: int, error_type: object = None) -> dict:
    """The answer has `status`, is JSON, validates against the spec and carries sane headers."""
    assert resp.status_code == status, (resp.status_code, resp.text)
    assert resp.headers.get("Content-Type", "").split(";")[0].strip() == "application/json"
    body = resp.json()
    assert validate_response(status, body) == [], (validate_response(status, body), body)
    for name, header in response_headers(status).items():
        value = resp.headers.get(name)
        assert value is not None or not header["required"], f"required header {name} missing"
        if value is not None and header["schema"].get("type") == "integer":
            assert re.fullmatch(r"\d+", value), (name, value)
    if error_type is NO_ERROR_TYPE:
        assert "errorType" not in body, body
    elif error_type is not None:
        assert body.get("errorType") == error_type, body
    return body


@contextmanager
def _serve(tmp: Path, settings: dict[str, str], profile: str) -> Iterator[Api]:
    with serve_in_thread(**ADMIN, db_path=str(tmp / "rc.sqlite"), settings={**NO_GRACE, **settings},
                         behaviour=Behaviour.for_profile(profile)) as server:
        yield Api(server.url)


@pytest.fixture(scope="module", params=["8", "7", "6"])
def profile(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, profile: str) -> Iterator[Api]:
    # The limiter counts per route and IP, shared by every caller here: switched off, and
    # exercised on its own server in test_rate_limiter_answers_429_within_the_contract.
    with _serve(tmp_path_factory.mktemp("refserver"), {"API_Enable_Rate_Limiter": "false"}, profile) as api:
        yield api


@pytest.fixture(scope="module")
def admin(api: Api) -> User:
    uid, token = api.login(ADMIN["admin_username"], ADMIN["admin_password"])
    return User(uid, ADMIN["admin_username"], ADMIN["admin_password"], token)


@pytest.fixture(scope="module")
def privileged(api: Api, admin: User) -> User:
    return api.create_user(admin, roles=("admin",), totp=True)


@pytest.fixture(scope="module")
def unprivileged(api: Api, admin: User) -> User:
    return api.create_user(admin, totp=True)


@pytest.fixture()
def target(api: Api, admin: User) -> User:
    return api.create_user(admin, keys=True)


@pytest.mark.parametrize("who", ["none", "only-user-id", "only-token", "wrong-token", "other-users-token"])
def test_unauthenticated_answers_401(api: Api, unprivileged: User, target: User, who: str) -> None:
    headers = {"none": {}, "only-user-id": {"X-User-Id": unprivileged.id},
               "only-token": {"X-Auth-Token": unprivileged.token},
               "wrong-token": {"X-User-Id": unprivileged.id,  # first character changed, whatever it was
                               "X-Auth-Token": ("y" if unprivileged.token[0] == "x" else "x") + unprivileged.token[1:]},
               "other-users-token": {"X-User-Id": target.id, "X-Auth-Token": unprivileged.token}}[who]
    judge(api.reset(headers | {"x-2fa-code": "123456"}, {"userId": target.id}), 401)


def test_token_after_logout_answers_401(api: Api, target: User) -> None:
    api.ok("POST", "/api/v1/logout", target.auth())
    judge(api.reset(target.auth()), 401)


def test_totp_required(api: Api, unprivileged: User, target: User) -> None:
    body = judge(api.reset(unprivileged.auth(), {"userId": target.id}), 400, "totp-required")
    assert body["details"]["method"] == "totp" and "totp" in body["details"]["availableMethods"]


def test_totp_invalid(api: Api, privileged: User, target: User) -> None:
    judge(api.reset(privileged.auth() | {"x-2fa-code": wrong_code(privileged.secret)}, {"userId": target.id}),
          400, "totp-invalid")


@pytest.mark.parametrize("body", [{"userId": "nope-" + secrets.token_hex(6)},
                                  {"username": "nope-" + secrets.token_hex(6)}], ids=["userId", "username"])
def test_invalid_user(api: Api, privileged: User, body: dict) -> None:
    judge(api.reset(privileged.auth() | {"x-2fa-code": code(privileged.secret)}, body), 400, "error-invalid-user")


@pytest.mark.parametrize("value", ["", "   ", None])
def test_user_param_not_provided(api: Api, privileged: User, value: str | None) -> None:
    judge(api.reset(privileged.auth() | {"x-2fa-code": code(privileged.secret)}, {"userId": value}),
          400, "error-user-param-not-provided")


def test_non_string_user_id(api: Api, privileged: User, profile: str) -> None:
    """≤7.x leaks the TypeError; 8.x coerces 123 to "123", an unknown id."""
    resp = api.reset(privileged.auth() | {"x-2fa-code": code(privileged.secret)}, {"userId": 123})
    if profile == "8":
        judge(resp, 400, "error-invalid-user")
    else:
        assert judge(resp, 400, NO_ERROR_TYPE)["error"] == "params.userId?.trim is not a function"


@pytest.mark.parametrize("body", [{"foo": 1}, {"userId": {}}, {"username": []}, [], "x", 5])
def test_bodies_8x_refuses_before_two_factor(api: Api, unprivileged: User, profile: str, body: object) -> None:
    """8.x: invalid-params without a code; ≤7.x: no schema, so two-factor answers first."""
    expected = "invalid-params" if profile == "8" else "totp-required"
    judge(api.reset(unprivileged.auth(), body), 400, expected)


@pytest.mark.parametrize("raw", [b"{", b"not json"])
def test_body_that_is_not_json(api: Api, admin: User, profile: str, raw: bytes) -> None:
    """7.6+/8.x read it as {} (a self-reset); ≤6.x refuses malformed JSON with a plain 400."""
    me = api.create_user(admin, totp=True)
    resp = api.call("POST", OPERATION_PATH, me.auth() | {"x-2fa-code": code(me.secret),
                                                         "Content-Type": "application/json"}, data=raw)
    if profile == "6":
        judge(resp, 400, NO_ERROR_TYPE)
    else:
        assert judge(resp, 200) == {"success": True}


@pytest.mark.parametrize("whom", ["target", "self"])
def test_not_allowed(api: Api, unprivileged: User, target: User, whom: str) -> None:
    user_id = target.id if whom == "target" else unprivileged.id
    judge(api.reset(unprivileged.auth() | {"x-2fa-code": code(unprivileged.secret)}, {"userId": user_id}),
          400, "error-not-allowed")


def test_success_by_user_id(api: Api, privileged: User, target: User) -> None:
    assert judge(api.reset(privileged.auth() | {"x-2fa-code": code(privileged.secret)},
                           {"userId": target.id}), 200) == {"success": True}


def test_success_by_username_any_case(api: Api, privileged: User, target: User) -> None:
    judge(api.reset(privileged.auth() | {"x-2fa-code": code(privileged.secret)},
                    {"username": target.username.upper()}), 200)


def test_success_with_backup_code(api: Api, privileged: User, target: User) -> None:
    backup = privileged.backup_codes.pop()
    judge(api.reset(privileged.auth() | {"x-2fa-code": backup}, {"userId": target.id}), 200)


def test_self_reset_then_own_token_401(api: Api, admin: User) -> None:
    me = api.create_user(admin, totp=True, keys=True)
    judge(api.reset(me.auth() | {"x-2fa-code": code(me.secret)}, {}), 200)
    judge(api.reset(me.auth() | {"x-2fa-code": code(me.secret)}, {}), 401)


def test_password_fallback(api: Api, admin: User) -> None:
    me = api.create_user(admin, verified=False)  # no TOTP, no verified e-mail
    body = judge(api.reset(me.auth()), 400, "totp-required")
    assert body["details"]["method"] == "password" and body["details"]["availableMethods"] == []
    bad = hashlib.sha256(b"not-" + me.password.encode()).hexdigest()
    judge(api.reset(me.auth() | {"x-2fa-code": bad}), 400, "totp-invalid")
    judge(api.reset(me.auth() | {"x-2fa-code": hashlib.sha256(me.password.encode()).hexdigest()}), 200)


def test_email_method_bodies_and_max_attempts(api: Api, admin: User) -> None:
    me = api.create_user(admin)  # verified e-mail, e-mail 2FA auto opt-in, no TOTP
    first = judge(api.reset(me.auth()), 400, "totp-required")["details"]
    assert first["method"] == "email" and first["codeGenerated"] is True and "emailOrUsername" in first
    again = judge(api.reset(me.auth()), 400, "totp-required")["details"]
    assert again["codeGenerated"] is False
    kinds: list[str] = []
    while len(kinds) < 8 and "totp-max-attempts" not in kinds:
        wrong = api.reset(me.auth() | {"x-2fa-code": "000000", "x-2fa-method": "email"})
        kinds.append(judge(wrong, 400)["errorType"])
    assert kinds[-1] == "totp-max-attempts" and set(kinds[:-1]) == {"totp-invalid"}, kinds


@pytest.mark.parametrize("line", ["8", "7", "6"])
def test_rate_limiter_answers_429_within_the_contract(tmp_path: Path, line: str) -> None:
    with _serve(tmp_path, {"API_Enable_Rate_Limiter_Limit_Calls_Default": "3"}, line) as api:
        admin_id, admin_token = api.login(ADMIN["admin_username"], ADMIN["admin_password"])
        caller = api.create_user(User(admin_id, "", "", admin_token), totp=True)  # role user: counted
        for _ in range(3):
            resp = api.reset(caller.auth(), {})
            judge(resp, 400, "totp-required")
            # requests' headers look names up case-insensitively; set(resp.headers) would not.
            assert all(name in resp.headers for name in ("X-RateLimit-Limit", "X-RateLimit-Remaining",
                                                          "X-RateLimit-Reset")), resp.headers
        body = judge(api.reset(caller.auth(), {}), 429, NO_ERROR_TYPE)
        assert "[error-too-many-requests]" in body["error"]
