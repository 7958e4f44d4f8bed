"""users.create/update/delete/info/list, e2e keys, subscriptions, permissions, settings and GET /api/info:
what a suite's set-up needs (§11)."""
from __future__ import annotations

import json
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from .behaviour import Behaviour
from .body import check_object, invalid_params
from .common import authed, authenticate, invalid, str_param, user_view
from .db import ROLES, storable
from .responses import ApiError, json_response, present, success
from .routes_auth import check_2fa
from .routes_reset import TARGET_KEYS, find_target
from .state import state_of

CREATE_REQUIRED = ("email", "name", "password", "username")
CREATE_FLAGS = ("verified", "active", "joinDefaultChannels", "requirePasswordChange", "sendWelcomeEmail")
USERNAME_RE = re.compile(r"^[0-9a-zA-Z\-_.]+$")  # default UTF8_User_Names_Validation
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
UPDATE_DATA_KEYS = ("email", "name", "password", "username", "bio", "nickname", "statusText", "active", "roles",
                    "joinDefaultChannels", "requirePasswordChange", "sendWelcomeEmail", "verified",
                    "customFields", "status", "setRandomPassword")
UPDATE_FLAGS = ("active", "joinDefaultChannels", "requirePasswordChange", "sendWelcomeEmail", "verified",
                "setRandomPassword")


async def users_create(request: Request) -> Response:
    st, caller, body = await authed(request, "create-user")
    params = body.params()
    unknown = sorted(set(params) - set(CREATE_REQUIRED) - set(CREATE_FLAGS) - {"roles"})
    if unknown:
        raise invalid(f"must NOT have additional properties ({unknown[0]})")
    for key in CREATE_REQUIRED:
        if key not in params:
            raise invalid(f"must have required property '{key}'")
        if not isinstance(params[key], str) or not storable(params[key]):
            raise invalid(f"/{key} must be string")
    for key in CREATE_FLAGS:
        if key in params and not isinstance(params[key], bool):
            raise invalid(f"/{key} must be boolean")
    if st.behaviour.users_create_two_factor:  # 8.x: the admin's second factor, after the schema (§10.4)
        check_2fa(st, caller, request)
    roles = params.get("roles", ["user"])
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise invalid("/roles must be array of strings")
    if any(r not in ROLES for r in roles):
        raise ApiError("error-invalid-role", "Invalid role", {"method": "insertOrUpdateUser"})
    username, email = params["username"].strip(), params["email"].strip()
    if not USERNAME_RE.match(username):
        raise ApiError("error-input-is-not-a-valid-field", f"{username} is not a valid username",
                       {"method": "insertOrUpdateUser", "input": username, "field": "Username"})
    if not EMAIL_RE.match(email):
        raise ApiError("error-invalid-email", f"Invalid email {email}",
                       {"method": "insertOrUpdateUser", "email": email})
    if not params["name"].strip():
        raise ApiError("error-the-field-is-required", "The field Name is required",
                       {"method": "insertOrUpdateUser", "field": "Name"})
    if st.store.find_by_username(username) is not None:
        raise ApiError("error-field-unavailable", f"{username} is already in use :(",
                       {"method": "insertOrUpdateUser", "field": username})
    if st.store.find_by_email(email) is not None:
        raise ApiError("error-field-unavailable", f"{email} is already in use :(",
                       {"method": "insertOrUpdateUser", "field": email})
    # The e-mail 2FA flag is set at creation while 2FA, e-mail 2FA and auto opt-in are on (§11.1);
    # it becomes active once the address is verified.
    auto_opt_in = all(st.settings.flag(f"Accounts_TwoFactorAuthentication_{s}")
                      for s in ("Enabled", "By_Email_Enabled", "By_Email_Auto_Opt_In"))
    user = st.store.create_user(
        username=username, name=params["name"], email=email, password=params["password"], roles=roles,
        verified=params.get("verified", False), active=params.get("active", True),
        require_password_change=params.get("requirePasswordChange", False), email2fa=auto_opt_in,
        join_default_channels=params.get("joinDefaultChannels", True))
    return success({"user": user_view(user)})


def _check_update(params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    if any(k not in ("userId", "data", "confirmRelinquish") for k in params):
        raise invalid("must NOT have additional properties")
    uid, data = params.get("userId"), params.get("data")
    if not isinstance(uid, str) or not storable(uid):
        raise invalid("must have required property 'userId'")
    if not isinstance(data, dict):
        raise invalid("must have required property 'data'")
    if any(k not in UPDATE_DATA_KEYS for k in data):
        raise invalid("/data must NOT have additional properties")
    for key in UPDATE_FLAGS:
        if key in data and not isinstance(data[key], bool):
            raise invalid(f"/data/{key} must be boolean")
    for key in ("email", "name", "password", "username"):
        if key in data and (not isinstance(data[key], str) or not storable(data[key])):
            raise invalid(f"/data/{key} must be string")
    roles = data.get("roles", [])
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise invalid("/data/roles must be array")
    return uid, data


async def users_update(request: Request) -> Response:
    """users.update {userId, data}: twoFactorRequired on every release; edit-other-user-info for others."""
    st, caller, body = await authed(request)
    uid, data = _check_update(body.params())
    check_2fa(st, caller, request)
    if uid != caller.id and not st.store.has_permission(caller.user, "edit-other-user-info"):
        raise ApiError("error-action-not-allowed", "Editing user is not allowed",
                       {"method": "insertOrUpdateUser", "action": "Editing_user"})
    target = st.store.get_user(uid)
    if target is None:
        raise ApiError("error-invalid-user", "Invalid user", {"method": "insertOrUpdateUser"})
    changes: dict[str, Any] = {}
    if "email" in data and data["email"].strip().lower() != (target["email"] or "").lower():
        email = data["email"].strip()
        if st.store.find_by_email(email) is not None:
            raise ApiError("error-field-unavailable", f"{email} is already in use :(",
                           {"method": "insertOrUpdateUser", "field": email})
        changes.update(email=email, email_lower=email.lower(), email_verified=0)  # a new address is unverified
    changes.update({column: int(data[key]) for key, column in (
        ("verified", "email_verified"), ("active", "active"), ("requirePasswordChange", "require_password_change"))
        if key in data})
    if "name" in data and data["name"].strip():
        changes["name"] = data["name"]
    if data.get("roles"):
        if any(r not in ROLES for r in data["roles"]):
            raise ApiError("error-invalid-role", "Invalid role", {"method": "insertOrUpdateUser"})
        changes["roles"] = json.dumps(list(dict.fromkeys(data["roles"])))
    if changes:
        st.store.update_user(uid, **changes)
    if isinstance(data.get("password"), str) and data["password"].strip():
        st.store.set_password(uid, data["password"])  # sessions are kept (assumption, see report)
    return success({"user": user_view(st.store.get_user(uid) or target)})


async def users_delete(request: Request) -> Response:
    st, _, body = await authed(request, "delete-user")
    reports_rooms = st.behaviour.users_delete_reports_rooms  # 8.x: a body schema, and the answer lists deleted rooms
    params = check_object(body, (*TARGET_KEYS, "confirmRelinquish"), TARGET_KEYS) if reports_rooms else body.params()
    if reports_rooms and "confirmRelinquish" in params and not isinstance(params["confirmRelinquish"], bool):
        raise invalid_params("must be boolean")
    target = find_target(st.store, Behaviour(), params)  # RC's real rules: mutants only change users.resetE2EKey
    assert target is not None  # blank_id_means_self is off in the default Behaviour
    st.store.delete_user(target["id"])
    return success({"deletedRooms": []} if reports_rooms else None)  # the refserver has no rooms a user could own


async def users_info(request: Request) -> Response:
    st, _, _ = await authed(request)
    q = request.query_params
    if q.get("userId"):
        user = st.store.get_user(q["userId"])
    elif q.get("username"):
        user = st.store.find_by_username(q["username"])
    else:
        raise ApiError(None, "Invalid search query.")  # API.v1.failure(message): no errorType
    if user is None:
        raise ApiError(None, "User not found.")
    return success({"user": user_view(user)})


def _int_param(raw: str | None, default: int) -> int:
    if raw is None or raw == "":
        return default
    if not raw.isdigit():
        raise ApiError(None, "Invalid count/offset query parameter")
    return int(raw)


async def users_list(request: Request) -> Response:
    st, _, _ = await authed(request, "view-d-room")
    count = _int_param(request.query_params.get("count"), 50)
    offset = _int_param(request.query_params.get("offset"), 0)
    users, total = st.store.list_users(offset, count)
    return success({"users": [user_view(u) for u in users], "count": len(users), "offset": offset, "total": total})


async def set_keys(request: Request) -> Response:
    st, caller, body = await authed(request)
    params = body.params()
    pub, priv = str_param(params, "public_key"), str_param(params, "private_key")
    if pub is None or priv is None or not (storable(pub) and storable(priv)):
        raise invalid("must have required property 'public_key' and 'private_key' (strings)")
    force = params.get("force", False)
    if not isinstance(force, bool):
        raise invalid("/force must be boolean")
    if caller.user["e2e_public_key"] and caller.user["e2e_private_key"] and not force:  # 6.10+
        raise ApiError("error-keys-already-set", "Keys already set")
    st.store.set_keys(caller.id, pub, priv)
    return success()


async def fetch_my_keys(request: Request) -> Response:
    _, caller, _ = await authed(request)
    pub, priv = caller.user["e2e_public_key"], caller.user["e2e_private_key"]
    return success({"public_key": pub, "private_key": priv} if pub and priv else None)


async def update_group_key(request: Request) -> Response:
    """e2e.updateGroupKey {rid, uid, key}: the caller must be in the room; sets uid's subscription key."""
    st, caller, body = await authed(request)
    p = body.params()
    rid, uid, key = str_param(p, "rid"), str_param(p, "uid"), str_param(p, "key")
    if rid is None or uid is None or key is None or not storable(key):
        raise invalid("must have required properties 'rid', 'uid' and 'key' (strings)")
    if st.store.subscription(caller.id, rid) is None or st.store.subscription(uid, rid) is None:
        raise ApiError("error-not-allowed", "Not allowed")
    st.store.set_subscription_key(uid, rid, key)
    return success()


async def subscription_get_one(request: Request) -> Response:
    st, caller, _ = await authed(request)
    rid = request.query_params.get("roomId", "")
    sub = st.store.subscription(caller.id, rid)
    view = sub and present(_id=sub["id"], rid=sub["room_id"], u={"_id": caller.id}, E2EKey=sub["e2e_key"] or None)
    return success({"subscription": view})


async def permissions_list_all(request: Request) -> Response:
    st, _, _ = await authed(request, "access-permissions")
    return success({"update": st.store.list_permissions(), "remove": []})


async def permissions_update(request: Request) -> Response:
    st, _, body = await authed(request, "access-permissions")
    perms = body.params().get("permissions")
    if not isinstance(perms, list) or not all(
            isinstance(p, dict) and isinstance(p.get("_id"), str) and isinstance(p.get("roles"), list)
            and all(isinstance(r, str) for r in p["roles"]) for p in perms):
        raise ApiError("error-invalid-body-params", "Invalid body params")
    for p in perms:
        if not st.store.permission_exists(p["_id"]):
            raise ApiError("error-invalid-permission", "Invalid permission")
        if any(r not in ROLES for r in p["roles"]):
            raise ApiError("error-invalid-role", "Role does not exist")
    for p in perms:
        st.store.set_permission_roles(p["_id"], list(dict.fromkeys(p["roles"])))
    return success({"permissions": st.store.list_permissions()})


async def get_setting(request: Request) -> Response:
    """GET settings/<id>: permissionsRequired view-privileged-setting (403), unknown → 400 {success:false}."""
    st, _, _ = await authed(request, "view-privileged-setting")
    setting_id = request.path_params["setting"]
    values = st.settings.as_dict()
    if setting_id not in values:
        return json_response({"success": False}, 400)  # API.v1.failure() without a message
    return success({"_id": setting_id, "value": values[setting_id]})


async def server_info(request: Request) -> Response:
    st = state_of(request)
    version = st.behaviour.server_version
    caller = authenticate(request, st)
    if caller is not None and st.store.has_permission(caller.user, "view-statistics"):
        return success({"info": {"version": version, "build": {"platform": "refserver"}}})
    short = ".".join(version.split(".")[:2])
    if st.behaviour.info_extended:  # 8.x: more than {version, success} for anonymous callers (§10.4)
        return success({"version": short, "minimumClientVersions": {"desktop": "", "mobile": ""},
                        "supportedVersions": {"signed": ""}})
    return success({"version": short})

