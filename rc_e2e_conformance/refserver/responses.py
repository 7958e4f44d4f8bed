"""JSON answers in Rocket.Chat's shapes: success, Meteor.Error (400), 401, 403, 404/405."""
from __future__ import annotations

import json
from typing import Any

from starlette.responses import Response

from .behaviour import Behaviour


class ApiError(Exception):
    """A thrown Meteor.Error (or a plain failure when error_type is None), answered as JSON."""

    def __init__(self, error_type: str | None, reason: str, details: dict[str, Any] | None = None,
                 status: int = 400, suffix: bool = True) -> None:
        super().__init__(reason)
        self.error_type = error_type
        self.reason = reason
        self.details = details
        self.status = status
        self.suffix = suffix  # API.v1.failure without a type: the text is sent as-is

    def body(self, with_suffix: bool = True) -> dict[str, Any]:
        text = self.reason
        if self.error_type and self.suffix and with_suffix:
            text = f"{self.reason} [{self.error_type}]" if self.reason else f"[{self.error_type}]"
        error_type = self.error_type if self.error_type and self.status == 400 else None
        return present(success=False, error=text, errorType=error_type, details=self.details)


def present(**fields: Any) -> dict[str, Any]:
    """The fields that are not None, in order (a JavaScript object leaves undefined members out of its JSON)."""
    return {k: v for k, v in fields.items() if v is not None}


def dumps(body: object) -> bytes:
    # Compact like JSON.stringify; ensure_ascii=False keeps unicode readable, surrogatepass never raises.
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8", "surrogatepass")


def json_response(body: object, status: int = 200, headers: dict[str, str] | None = None,
                  content_type: str = "application/json") -> Response:
    resp = Response(dumps(body), status_code=status, headers=headers)
    resp.headers["content-type"] = content_type
    return resp


def success(extra: dict[str, Any] | None = None) -> Response:
    return json_response({**(extra or {}), "success": True})


def error_response(err: ApiError, *, with_suffix: bool = True, headers: dict[str, str] | None = None,
                   content_type: str = "application/json") -> Response:
    return json_response(err.body(with_suffix), err.status, headers, content_type)


def unauthorized(b: Behaviour, content_type: str = "application/json") -> Response:
    msg = b.unauthenticated_message
    body_7x = {"success": False, "error": msg} if b.unauthenticated_body_7x else {}
    return json_response({**body_7x, "status": "error", "message": msg}, b.unauthenticated_status,
                         content_type=content_type)


def wrong_method(b: Behaviour, allowed: str) -> Response:
    if b.wrong_method_status == 404:  # 7.6+/8.x router: its default 404, plain text, not JSON (§6)
        return Response(b"404 Not Found", 404, media_type="text/plain")
    allow = {"Allow": f"{allowed}, OPTIONS"} if b.wrong_method_status == 405 else None  # <=6.x Restivus
    return json_response({"status": "error", "message": "API endpoint does not exist"}, b.wrong_method_status, allow)
