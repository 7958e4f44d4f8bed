"""Hand-picked cases added to the generated ones: raw bodies, odd media types, missing and empty 2FA codes.

schemathesis' negative mode already sends undecodable bytes, wrong JSON types, missing/garbled auth
headers and malformed `x-2fa-code` values; these add what it does not send: truncated JSON, JSON under
other media types, form and XML bodies, a JSON `null` body, a large value, and the header cases a
positive case (which always gets a fresh code) never has: no code, an empty code. All are sent as
the property caller.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from .caller import CODE_HEADER, PropertyCaller
from .safety import SAFE_NUMBER, NameMapper

LARGE_VALUE = 20_000  # characters: well past any sane id or username, well under server body limits


@dataclass(frozen=True)
class ExplicitCase:
    """How to finish one explicit case right before it is sent (credentials are only known then)."""

    name: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    code: str = "fresh"  # fresh | none | empty

    def apply(self, case: Any, caller: PropertyCaller) -> None:
        case.headers = dict(case.headers or {})
        for header in ("X-User-Id", "X-Auth-Token", CODE_HEADER):
            case.headers.pop(header, None)
        case.headers["X-User-Id"], case.headers["X-Auth-Token"] = caller.session()
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
        # Generation sends non-string targets too, but which ones depends on the versions: this one always.
        ExplicitCase("non-string userId", _json({"userId": SAFE_NUMBER})),
        ExplicitCase("JSON under text/plain", named, {"Content-Type": "text/plain"}),
        ExplicitCase("form body", f"userId={nobody}".encode(), {"Content-Type": "application/x-www-form-urlencoded"}),
        ExplicitCase("XML body", f"<userId>{nobody}</userId>".encode(), {"Content-Type": "application/xml"}),
        ExplicitCase("JSON with a charset parameter", named, {"Content-Type": "application/json; charset=utf-8"}),
        ExplicitCase("large username", _json({"username": nobody + "x" * LARGE_VALUE})),
        ExplicitCase("unicode username", _json({"username": unicode_nobody})),
        ExplicitCase("no 2FA code", named, code="none"),
        ExplicitCase("empty 2FA code", named, code="empty"),
        # No case without valid credentials: the generated negative cases garble and drop the auth
        # headers, and AUTH-01..07 send a wrong token, another user's id and no credentials (each
        # answered 401, delayed up to 6.x): sending them again here would prove nothing more.
    ]
