"""users.update (verified, password, …) and GET /api/v1/settings/<id>: what a suite's set-up needs (§11)."""
from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from .common import authed, invalid, user_view
from .db import ROLES, storable
from .responses import ApiError, json_response, success
from .routes_auth import check_2fa

UPDATE_DATA_KEYS = ("email", "name", "password", "username", "bio", "nickname", "statusText", "active", "roles",
                    "joinDefaultChannels", "requirePasswordChange", "sendWelcomeEmail", "verified",
                    "customFields", "status", "setRandomPassword")
_BOOLS = ("active", "joinDefaultChannels", "requirePasswordChange", "sendWelcomeEmail", "verified",
          "setRandomPassword")


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
    for key in _BOOLS:
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
    if "verified" in data:
        changes["email_verified"] = int(data["verified"])
    if "name" in data and data["name"].strip():
        changes["name"] = data["name"]
    if "active" in data:
        changes["active"] = int(data["active"])
    if "requirePasswordChange" in data:
        changes["require_password_change"] = int(data["requirePasswordChange"])
    if data.get("roles"):
        if any(r not in ROLES for r in data["roles"]):
            raise ApiError("error-invalid-role", "Invalid role", {"method": "insertOrUpdateUser"})
        changes["roles"] = json.dumps(list(dict.fromkeys(data["roles"])))
    if changes:
        st.store.update_user(uid, **changes)
    if isinstance(data.get("password"), str) and data["password"].strip():
        st.store.set_password(uid, data["password"])  # sessions are kept (assumption, see report)
    return success({"user": user_view(st.store.get_user(uid) or target)})


async def get_setting(request: Request) -> Response:
    """GET settings/<id>: permissionsRequired view-privileged-setting (403), unknown → 400 {success:false}."""
    st, _, _ = await authed(request, "view-privileged-setting")
    setting_id = request.path_params["setting"]
    values = st.settings.as_dict()
    if setting_id not in values:
        return json_response({"success": False}, 400)  # API.v1.failure() without a message
    return success({"_id": setting_id, "value": values[setting_id]})
