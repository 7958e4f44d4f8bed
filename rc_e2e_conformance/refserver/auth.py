"""X-User-Id + X-Auth-Token authentication against hashed login tokens."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from .state import AppState

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
