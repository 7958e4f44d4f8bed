"""Request-body reading: size cap, content-type rules, JavaScript-compatible JSON parsing."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

MAX_BODY_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Body:
    """The parsed body: `value` is what the handler sees; `error` is set for malformed JSON."""

    value: Any
    error: str | None = None

    def params(self) -> dict[str, Any]:
        """bodyParams: only a JSON object carries named parameters (arrays/scalars act like {})."""
        return self.value if isinstance(self.value, dict) else {}


def _reject_constant(name: str) -> Any:
    # JSON.parse rejects NaN/Infinity; Python would accept them.
    raise ValueError(f"Unexpected token {name[0]} in JSON")


def parse_json(raw: bytes) -> Any:
    text = raw.decode("utf-8")  # UnicodeDecodeError is a ValueError: malformed
    return json.loads(text, parse_constant=_reject_constant)


async def read_raw(request: Request) -> tuple[bytes, bool]:
    """The body bytes and whether it exceeded the cap (reading stops there)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return b"", True
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return b"", True
        chunks.append(chunk)
    return b"".join(chunks), False


async def read_body(request: Request) -> Body:
    """JSON bodies are parsed strictly; text/plain leniently; anything else carries no parameters."""
    raw, too_big = await read_raw(request)
    if too_big:
        return Body({}, f"request entity too large (limit {MAX_BODY_BYTES} bytes)")
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    is_json = ctype == "application/json" or ctype.endswith("+json")
    if not raw.strip():
        return Body({})
    if is_json or ctype == "text/plain":
        try:
            return Body(parse_json(raw))
        except (ValueError, RecursionError) as exc:
            if is_json:
                return Body({}, f"Malformed JSON body: {str(exc)[:200]}")
            return Body({})  # text/plain that is not JSON: no parameters, as a form body would be
    return Body({})
