"""behaviour.md §1.1: auth -> rate limit -> 2FA -> lookup -> permission -> reset, and its consequences."""
from __future__ import annotations

from .helpers import RESET, Api

NOT_ALLOWED = {"success": False, "error": "Not allowed [error-not-allowed]", "errorType": "error-not-allowed"}
INVALID_USER = {"success": False, "errorType": "error-invalid-user", "error":
                'The required "userId" or "username" param provided does not match any users [error-invalid-user]'}


def test_unprivileged_caller_naming_unknown_user_gets_invalid_user(api: Api, make_user) -> None:
    u = make_user(totp=True)
    r = api.post(RESET, user=u, code=u.code(), json={"userId": "nope-no-such-id"})
    assert r.status_code == 400 and r.json() == INVALID_USER


def test_unprivileged_caller_naming_existing_user_gets_not_allowed_and_nothing_changes(api: Api, make_user) -> None:
    u, target = make_user(totp=True), make_user(totp=True)
    r = api.post(RESET, user=u, code=u.code(), json={"userId": target.id})
    assert r.status_code == 400 and r.json() == NOT_ALLOWED
    assert "public_key" in api.fetch_keys(target) and api.me_status(target) == 200
    assert not [m for m in api.store.outbox(target.id) if m["subject"] == "E2E Key Reset Notification"]


def test_two_factor_runs_before_permission_and_lookup(api: Api, make_user) -> None:
    u, target = make_user(totp=True), make_user()
    for body in ({"userId": target.id}, {"userId": "unknown-id"}, {"userId": ""}, {"userId": 5}):
        r = api.post(RESET, user=u, json=body)
        assert r.status_code == 400 and r.json()["errorType"] == "totp-required", body
        r = api.post(RESET, user=u, code="000000" if u.code() != "000000" else "111111", json=body)
        assert r.json()["errorType"] == "totp-invalid", body


def test_naming_yourself_by_id_takes_the_other_user_path(api: Api, make_user) -> None:
    u = make_user(totp=True)
    r = api.post(RESET, user=u, code=u.code(), json={"userId": u.id})
    assert r.json() == NOT_ALLOWED
    assert "public_key" in api.fetch_keys(u)


def test_privileged_caller_naming_yourself_resets_own_key_with_notice(api: Api, make_user) -> None:
    admin = make_user("admin", totp=True)
    r = api.post(RESET, user=admin, code=admin.code(), json={"username": admin.username})
    assert r.status_code == 200 and r.json() == {"success": True}
    assert api.me_status(admin) == 401
    assert [m["subject"] for m in api.store.outbox(admin.id)] == ["E2E Key Reset Notification"]


def test_empty_body_is_self_reset_without_permission(api: Api, make_user) -> None:
    u = make_user(totp=True)
    assert api.post(RESET, user=u, code=u.code(), json={}).json() == {"success": True}
    assert api.me_status(u) == 401
    assert "public_key" not in api.fetch_keys(api.relogin(u))
