"""behaviour.md §4: keys, subscription keys, every login token, the e-mail notice, bystanders untouched."""
from __future__ import annotations

from .helpers import RESET, Api

ROOM = "GENERAL"


def _set_room_key(api: Api, u, key: str) -> None:
    r = api.post("/api/v1/e2e.updateGroupKey", user=u, json={"rid": ROOM, "uid": u.id, "key": key})
    assert r.json() == {"success": True}, r.text


def _room_key(api: Api, u):
    return api.get(f"/api/v1/subscriptions.getOne?roomId={ROOM}", user=u).json()["subscription"].get("E2EKey")


def test_other_user_reset_clears_keys_room_keys_all_sessions_and_mails_target(api: Api, make_user) -> None:
    caller, target, bystander = make_user("admin", totp=True), make_user(totp=True), make_user()
    _set_room_key(api, target, "room-key-t")
    _set_room_key(api, bystander, "room-key-b")
    second = api.login(target.username, target.password, target.code()).json()["data"]["authToken"]
    assert api.store.token_count(target.id) >= 2
    r = api.post(RESET, user=caller, code=caller.code(), json={"userId": target.id})
    assert r.status_code == 200 and r.json() == {"success": True}
    assert api.store.token_count(target.id) == 0
    assert api.me_status(target) == 401
    assert api.http.get(api.url + "/api/v1/me", headers={"X-User-Id": target.id, "X-Auth-Token": second}).status_code \
        == 401
    api.relogin(target)
    assert api.fetch_keys(target) == {"success": True}
    assert _room_key(api, target) is None
    row = api.store.get_user(target.id)
    assert row["e2e_public_key"] is None and row["e2e_private_key"] is None
    notices = [m for m in api.store.outbox(target.id) if m["subject"] == "E2E Key Reset Notification"]
    assert len(notices) == 1 and notices[0]["to_address"] == target.email
    # caller and bystander untouched
    assert api.me_status(caller) == 200 and "public_key" in api.fetch_keys(caller)
    assert api.me_status(bystander) == 200 and "public_key" in api.fetch_keys(bystander)
    assert _room_key(api, bystander) == "room-key-b"


def test_notice_only_goes_to_verified_address(api: Api, make_user) -> None:
    caller, target = make_user("admin", totp=True), make_user(verified=False)
    assert api.post(RESET, user=caller, code=caller.code(), json={"userId": target.id}).json()["success"] is True
    assert api.store.outbox(target.id) == []


def test_self_reset_clears_own_keys_and_logs_out_the_calling_token(api: Api, make_user) -> None:
    u = make_user(totp=True)
    _set_room_key(api, u, "mine")
    r = api.post(RESET, user=u, code=u.code(), json={})
    assert r.status_code == 200 and r.json() == {"success": True}
    assert api.post(RESET, user=u, code=u.code(), json={}).status_code == 401
    api.relogin(u)
    assert api.fetch_keys(u) == {"success": True} and _room_key(api, u) is None
    assert api.store.outbox(u.id) == []  # no notice on the self path


def test_reset_also_drops_personal_access_tokens(api: Api, make_user) -> None:
    caller, target = make_user("admin", totp=True), make_user("admin", totp=True)  # PATs: admin by default
    pat = api.post("/api/v1/users.generatePersonalAccessToken", user=target, code=target.code(),
                   json={"tokenName": "t"}).json()["token"]
    assert api.post(RESET, user=caller, code=caller.code(), json={"username": target.username}).json()["success"]
    assert api.http.get(api.url + "/api/v1/me", headers={"X-User-Id": target.id, "X-Auth-Token": pat}).status_code \
        == 401


def test_federated_target_is_not_allowed_after_the_notice_and_keeps_everything(api: Api, make_user) -> None:
    """§10.5: resetUserE2EEncriptionKey e-mails the target, then refuses a federated one (text and details)."""
    caller, target = make_user("admin", totp=True), make_user(totp=True)
    api.store.update_user(target.id, federated=1)  # federation itself is not modelled: only the flag
    r = api.post(RESET, user=caller, code=caller.code(), json={"userId": target.id})
    assert r.status_code == 400 and r.json() == {
        "success": False, "error": "Federated Users cant have TOTP [error-not-allowed]",
        "errorType": "error-not-allowed", "details": {"function": "resetTOTP"}}, r.text
    assert api.me_status(target) == 200 and "public_key" in api.fetch_keys(target)
    assert [m["subject"] for m in api.store.outbox(target.id)].count("E2E Key Reset Notification") == 1
