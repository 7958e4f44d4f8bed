"""Authentication (X-User-Id + X-Auth-Token against hashed login tokens), the setup routes' guards and
Rocket.Chat's user views."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from .body import Body, read_body
from .responses import ApiError, present
from .state import AppState, state_of
from .twofactor import iso_ms

# The token row of a caller authenticated without a token (only the auth_requires_token mutant).
NO_TOKEN: dict[str, Any] = {"hash": "", "user_id": "", "kind": "resume", "name": None, "bypass_2fa": 0,
                            "created_at": 0.0, "remember_until": 0.0}


@dataclass(frozen=True)
class Caller:
    user: dict[str, Any]
    token_row: dict[str, Any]

    @property
    def id(self) -> str:
        return str(self.user["id"])


def authenticate(request: Request, st: AppState) -> Caller | None:
    """Both headers needed; the token must hash to a stored token of exactly that user id."""
    uid = request.headers.get("x-user-id", "")
    token = request.headers.get("x-auth-token", "")
    b = st.behaviour
    if uid and not token and not b.auth_requires_token:  # mutant: the user id alone is trusted
        user = st.store.get_user(uid)
        return Caller(user, NO_TOKEN) if user is not None and user["active"] else None
    if token and not uid and not b.auth_requires_user_id:  # mutant: the token alone names its owner
        found = st.store.find_token(token)
        uid = str(found["user_id"]) if found is not None else ""
    if not uid or not token:
        return None
    row = st.store.token_row(uid, token)
    if row is None and not b.token_bound_to_user:  # mutant: any valid token will do for any user id
        row = st.store.find_token(token)
    if row is None:
        return None
    user = st.store.get_user(uid)
    if user is None or not user["active"]:
        return None
    return Caller(user, row)


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
