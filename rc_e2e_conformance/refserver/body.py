"""Request-body reading by release (size cap, content-type rules, JavaScript-compatible JSON parsing) and
8.x route body schemas (Ajv with coerceTypes): refusals are `invalid-params` without a suffix (§10.2)."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from .responses import ApiError

MAX_BODY_BYTES = 1024 * 1024
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


@dataclass(frozen=True)
class Body:
    """The parsed body: `value` is what the handler sees; `error` is set for a refused body.

    `kind` says what arrived: "none" (empty), "json" (parsed JSON), "form" (a form body) or "other"
    (not JSON at all); 8.x's body schema treats them differently (§10.2).
    """

    value: Any
    error: str | None = None
    kind: str = "none"

    def params(self) -> dict[str, Any]:
        """bodyParams: only a JSON object carries named parameters (arrays/scalars act like {})."""
        return self.value if isinstance(self.value, dict) else {}


def _reject_constant(name: str) -> Any:
    # JSON.parse rejects NaN/Infinity; Python would accept them.
    raise ValueError(f"Unexpected token {name[0]} in JSON")


async def read_raw(request: Request, limited: bool) -> bytes | None:
    """The body bytes, or None past the cap (reading stops there; no cap when not limited)."""
    declared = request.headers.get("content-length", "")
    if limited and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return None
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if limited and len(raw) > MAX_BODY_BYTES:
            return None
    return bytes(raw)


async def read_body(request: Request) -> Body:
    """JSON bodies are parsed strictly; text/plain leniently; anything else carries no parameters.

    ≤7.5 refuses malformed JSON and bodies above 1 MiB; 7.6+/8.x read a non-JSON body as {} and
    have no size limit (behaviour.md §9).
    """
    b = request.app.state.rc.behaviour
    raw = await read_raw(request, b.body_size_limited)
    if raw is None:
        return Body({}, f"request entity too large (limit {MAX_BODY_BYTES} bytes)", "other")
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    is_json = ctype == "application/json" or ctype.endswith("+json")
    if not raw.strip():
        return Body({})
    if ctype in FORM_TYPES:
        return Body({}, kind="form")
    if is_json or ctype == "text/plain":
        try:  # a UnicodeDecodeError is a ValueError: malformed
            return Body(json.loads(raw.decode("utf-8"), parse_constant=_reject_constant), kind="json")
        except (ValueError, RecursionError) as exc:
            if is_json and not b.non_json_body_is_empty:
                return Body({}, f"Malformed JSON body: {str(exc)[:200]}", "other")
    return Body({}, kind="other")  # not JSON: no parameters, as a form body would be


def invalid_params(message: str) -> ApiError:
    # The 8.x router answers {success:false, errorType:"invalid-params", error:<Ajv message>}: no " [..]".
    return ApiError("invalid-params", message, suffix=False)


def js_number_text(value: int | float) -> str:
    """String(n) in JavaScript for the numbers JSON can carry (Ajv coerces numbers this way)."""
    if isinstance(value, int):
        return str(value) if abs(value) < 10**21 else js_number_text(float(value))
    if math.isfinite(value) and value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    text = repr(value)
    if "e" in text:  # 1e+21 / 1e-07 in JS notation
        mant, exp = text.split("e")
        sign = "-" if exp.startswith("-") else "+"
        text = f"{mant.removesuffix('.0')}e{sign}{int(exp.lstrip('+-'))}"
    return text


def coerce_string(value: Any) -> str | None:
    """Ajv's coerceTypes to "string": scalars become text, null becomes ""; objects/arrays cannot."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return js_number_text(value)
    return None


def check_object(body: Body, allowed: tuple[str, ...], strings: tuple[str, ...], coerce: bool = True) -> dict[str, Any]:
    """The body as an object with only `allowed` keys, `strings` coerced to strings, else invalid-params."""
    if body.kind == "other":  # not JSON at all: still read as {} on 8.x
        return {}
    if body.kind == "form" or (body.kind == "json" and not isinstance(body.value, dict)):
        raise invalid_params("must be object")
    params = dict(body.params())
    if any(key not in allowed for key in params):
        raise invalid_params("must NOT have additional properties")
    for key in strings:
        if key in params:
            text = coerce_string(params[key]) if coerce else params[key] if isinstance(params[key], str) else None
            if text is None:
                raise invalid_params("must be string")
            params[key] = text
    return params
