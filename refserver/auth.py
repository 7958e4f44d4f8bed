"""X-User-Id + X-Auth-Token authentication against hashed login tokens."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from .state import AppState


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
    if not uid or not token:
        return None
    row = st.store.token_row(uid, token)
    if row is None:
        return None
    user = st.store.get_user(uid)
    if user is None or not user["active"]:
        return None
    return Caller(user, row)
