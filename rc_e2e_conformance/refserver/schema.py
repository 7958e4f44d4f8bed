"""8.x route body schemas (Ajv with coerceTypes): refusals are `invalid-params` without a suffix (§10.2)."""
from __future__ import annotations

import math
from typing import Any

from .body import Body
from .responses import ApiError


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
