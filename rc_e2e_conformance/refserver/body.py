"""Request-body reading by release: size cap, content-type rules, JavaScript-compatible JSON parsing."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

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


async def read_raw(request: Request, limited: bool = True) -> tuple[bytes, bool]:
    """The body bytes and whether it exceeded the cap (reading stops there; no cap when not limited)."""
    declared = request.headers.get("content-length", "")
    if limited and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return b"", True
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if limited and size > MAX_BODY_BYTES:
            return b"", True
        chunks.append(chunk)
    return b"".join(chunks), False


async def read_body(request: Request) -> Body:
    """JSON bodies are parsed strictly; text/plain leniently; anything else carries no parameters.

    ≤7.5 refuses malformed JSON and bodies above 1 MiB; 7.6+/8.x read a non-JSON body as {} and
    have no size limit (behaviour.md §9).
    """
    b = request.app.state.rc.behaviour
    raw, too_big = await read_raw(request, b.body_size_limited)
    if too_big:
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
