"""behaviour.md §2: X-User-Id + X-Auth-Token, 401 body, hashed tokens, auth before anything else."""
from __future__ import annotations

import base64
import hashlib

import pytest

from .helpers import RESET, Api

BODY_7X = {"success": False, "error": "You must be logged in to do this.",
           "status": "error", "message": "You must be logged in to do this."}


def _assert_401(r) -> None:
    assert r.status_code == 401, r.text
    assert r.headers["content-type"] == "application/json"
    assert r.json() == BODY_7X


@pytest.mark.parametrize("which", ["neither", "no-token", "no-user-id", "empty-values"])
def test_missing_headers_are_401(api: Api, make_user, which: str) -> None:
    u = make_user(totp=True)
    headers = {"neither": {}, "no-token": {"X-User-Id": u.id}, "no-user-id": {"X-Auth-Token": u.token},
               "empty-values": {"X-User-Id": "", "X-Auth-Token": ""}}[which]
    _assert_401(api.http.post(api.url + RESET, headers=headers, json={}, timeout=5))


def test_wrong_token_other_users_token_and_logged_out_token_are_401(api: Api, make_user) -> None:
    a, b = make_user(totp=True), make_user(totp=True)
    _assert_401(api.http.post(api.url + RESET, headers={"X-User-Id": a.id, "X-Auth-Token": "x" * 43}, json={}))
    _assert_401(api.http.post(api.url + RESET, headers={"X-User-Id": b.id, "X-Auth-Token": a.token}, json={}))
    assert api.post("/api/v1/logout", user=a).json() == {"status": "success",
                                                         "data": {"message": "You've been logged out!"}}
    _assert_401(api.post(RESET, user=a, code=a.code(), json={}))


def test_header_names_are_case_insensitive(api: Api, make_user) -> None:
    u = make_user(totp=True)
    r = api.http.post(api.url + RESET, json={}, headers={"x-user-id": u.id, "X-AUTH-TOKEN": u.token})
    assert r.json()["errorType"] == "totp-required"


def test_unauthenticated_call_with_code_and_body_is_still_401(api: Api, make_user) -> None:
    target = make_user(totp=True)
    r = api.http.post(api.url + RESET, json={"userId": target.id},
                      headers={"X-User-Id": target.id, "x-2fa-code": target.code()})
    _assert_401(r)
    _assert_401(api.http.post(api.url + RESET, data="{not json", headers={"content-type": "application/json"}))


def test_tokens_are_stored_only_as_sha256_base64(api: Api, make_user) -> None:
    u = make_user()
    rows = api.store.db.all("SELECT hash FROM login_tokens WHERE user_id = ?", (u.id,))
    expected = base64.b64encode(hashlib.sha256(u.token.encode()).digest()).decode()
    assert expected in {r["hash"] for r in rows}
    dump = "\n".join(api.store.db.conn.iterdump())
    assert u.token not in dump


def test_every_authenticated_setup_endpoint_needs_auth(api: Api) -> None:
    for method, path in (("GET", "/api/v1/me"), ("POST", "/api/v1/logout"), ("POST", "/api/v1/users.create"),
                         ("POST", "/api/v1/users.delete"), ("GET", "/api/v1/users.info?username=x"),
                         ("GET", "/api/v1/users.list"), ("POST", "/api/v1/e2e.setUserPublicAndPrivateKeys"),
                         ("GET", "/api/v1/e2e.fetchMyKeys"), ("POST", "/api/v1/permissions.update"),
                         ("GET", "/api/v1/permissions.listAll"), ("POST", "/api/v1/method.call/2fa:enable"),
                         ("POST", "/api/v1/users.2fa.enableEmail"), ("POST", "/api/v1/users.2fa.disableEmail")):
        _assert_401(api.call(method, path))
