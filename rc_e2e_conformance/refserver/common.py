"""Helpers shared by the setup routes: auth/permission guards and Rocket.Chat's user views."""
from __future__ import annotations

from typing import Any

from starlette.requests import Request

from .auth import Caller, authenticate
from .body import Body, read_body
from .responses import ApiError, present
from .state import AppState, state_of
from .twofactor import iso_ms


class NeedAuth(Exception):
    """Answered 401 with the behaviour's unauthenticated body."""


# API.v1.forbidden() for a missing permissionsRequired: a 403 failure without errorType.
FORBIDDEN = "User does not have the permissions required for this action [error-unauthorized]"


async def authed(request: Request, permission: str | None = None) -> tuple[AppState, Caller, Body]:
    """Authenticate (401), read the body (400 if malformed JSON), check a permission (403)."""
    st = state_of(request)
    body = await read_body(request)
    caller = authenticate(request, st)
    if caller is None:
        raise NeedAuth()
    if body.error is not None:
        raise ApiError(None, body.error)
    if permission and not st.store.has_permission(caller.user, permission):
        raise ApiError(None, FORBIDDEN, status=403)
    return st, caller, body


def user_view(user: dict[str, Any]) -> dict[str, Any]:
    """The public user document (never keys, hashes or secrets)."""
    return {
        "_id": user["id"], "createdAt": iso_ms(user["created_at"]), "username": user["username"],
        "emails": [{"address": user["email"], "verified": bool(user["email_verified"])}] if user["email"] else [],
        "type": user["type"], "status": "offline",
        "active": bool(user["active"]), "roles": user["roles"], "name": user["name"],
        "requirePasswordChange": bool(user["require_password_change"]),
    }


def me_view(user: dict[str, Any]) -> dict[str, Any]:
    """getUserInfo(): the caller's own profile, with the 2FA flags under services."""
    services = present(password={"exists": bool(user["password_hash"])},
                       email2fa={"enabled": True} if user["email2fa_enabled"] else None,
                       totp={"enabled": True} if user["totp_enabled"] else None)
    return {**user_view(user), "services": services, "settings": {"profile": {}, "preferences": {}},
            **present(email=user["email"] if user["email"] and user["email_verified"] else None)}


def invalid(message: str) -> ApiError:
    """validateParams of the setup routes: invalid-params, with the suffix (unlike 8.x's body schema)."""
    return ApiError("invalid-params", message)


def str_param(params: dict[str, Any], key: str) -> str | None:
    value = params.get(key)
    return value if isinstance(value, str) else None
