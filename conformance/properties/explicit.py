"""Hand-picked cases added to the generated ones: raw bodies, odd media types, broken auth and 2FA headers.

schemathesis' negative mode already sends undecodable bytes, wrong JSON types, missing/garbled auth
headers and malformed `x-2fa-code` values; these add what it does not send: truncated JSON, JSON under
other media types, form and XML bodies, a JSON `null` body, a large value, and the header cases a
positive case (which always gets a fresh code) never has: no code, an empty code, a wrong token,
a token sent with another user's id.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from .caller import CODE_HEADER, PropertyCaller
from .safety import NameMapper

LARGE_VALUE = 20_000  # characters: well past any sane id or username, well under server body limits


@dataclass(frozen=True)
class ExplicitCase:
    """How to finish one explicit case right before it is sent (credentials are only known then)."""

    name: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    auth: str = "caller"  # caller | none | wrong-token | other-user-id
    code: str = "fresh"  # fresh | none | empty

    def apply(self, case: Any, caller: PropertyCaller, pool: list[Any]) -> None:
        case.headers = dict(case.headers or {})
        for header in ("X-User-Id", "X-Auth-Token", CODE_HEADER):
            case.headers.pop(header, None)
        if self.auth != "none":
            user_id, token = caller.session()
            if self.auth == "wrong-token":
                token = "rcc-wrong-token-" + "0" * 24
            elif self.auth == "other-user-id":
                user_id = pool[0].id  # a valid token of the caller sent with another user's id
            case.headers["X-User-Id"] = user_id
            case.headers["X-Auth-Token"] = token
        if self.code == "fresh":
            case.headers[CODE_HEADER] = caller.code()
        elif self.code == "empty":
            case.headers[CODE_HEADER] = ""


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


def explicit_cases(mapper: NameMapper) -> list[ExplicitCase]:
    nobody = mapper.nobody("explicit-case")
    unicode_nobody = mapper.nobody("Ädmin \u202e \U0001d518 ß")
    named = _json({"userId": nobody})
    return [
        ExplicitCase("truncated JSON", named[:-2]),
        ExplicitCase("JSON with trailing garbage", named + b" }{"),
        ExplicitCase("JSON null body", b"null"),
        ExplicitCase("JSON under text/plain", named, {"Content-Type": "text/plain"}),
        ExplicitCase("form body", f"userId={nobody}".encode(), {"Content-Type": "application/x-www-form-urlencoded"}),
        ExplicitCase("XML body", f"<userId>{nobody}</userId>".encode(), {"Content-Type": "application/xml"}),
        ExplicitCase("JSON with a charset parameter", named, {"Content-Type": "application/json; charset=utf-8"}),
        ExplicitCase("large username", _json({"username": nobody + "x" * LARGE_VALUE})),
        ExplicitCase("unicode username", _json({"username": unicode_nobody})),
        ExplicitCase("no 2FA code", named, code="none"),
        ExplicitCase("empty 2FA code", named, code="empty"),
        ExplicitCase("wrong token", named, auth="wrong-token"),
        ExplicitCase("token with another user's id", named, auth="other-user-id"),
        ExplicitCase("no credentials, code and body", named, auth="none"),
        # What ignored_auth's probe proved: the self-reset a caller may always make is refused without credentials.
        ExplicitCase("no credentials, empty body", b"{}", auth="none", code="none"),
    ]
