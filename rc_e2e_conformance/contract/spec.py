"""The OpenAPI contract (openapi/users.resetE2EKey.yaml) as data: load it, resolve it, validate bodies."""
from __future__ import annotations

import copy
import hashlib
from functools import cache, lru_cache
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from .resources import SPEC_PATH

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: ~10x faster, same safety

OPERATION_PATH = "/api/v1/users.resetE2EKey"
OPERATION_METHOD = "post"
MEDIA_TYPE = "application/json"


@lru_cache(maxsize=1)
def load_spec() -> dict:
    """The parsed spec. Cached and shared between callers: treat it as read-only."""
    return yaml.load(SPEC_PATH.read_text(encoding="utf-8"), Loader=_LOADER)


@lru_cache(maxsize=1)
def spec_sha256() -> str:
    """SHA-256 (hex) of the spec file's bytes, so a report can name the exact contract it used."""
    return hashlib.sha256(SPEC_PATH.read_bytes()).hexdigest()


def operation() -> dict:
    """The (unresolved) operation object of POST /api/v1/users.resetE2EKey."""
    return load_spec()["paths"][OPERATION_PATH][OPERATION_METHOD]


def _pointer(doc: dict, ref: str) -> Any:
    if not ref.startswith("#/"):
        # The spec is one self-contained file on purpose; a remote ref would make validation
        # depend on the network or the working directory.
        raise ValueError(f"only local $refs are supported, got {ref!r}")
    node: Any = doc
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _inline(node: Any, doc: dict, seen: tuple[str, ...] = ()) -> Any:
    """A deep copy of `node` with every local $ref replaced by its (inlined) target."""
    if isinstance(node, list):
        return [_inline(item, doc, seen) for item in node]
    if not isinstance(node, dict):
        return copy.deepcopy(node)
    if "$ref" in node:
        ref = node["$ref"]
        if ref in seen:
            raise ValueError(f"recursive $ref {ref!r} cannot be inlined")
        target = _inline(_pointer(doc, ref), doc, seen + (ref,))
        siblings = {k: _inline(v, doc, seen) for k, v in node.items() if k != "$ref"}
        # 2020-12 allows keywords beside $ref; keep both applying, as the original did.
        return {"allOf": [target], **siblings} if siblings else target
    return {key: _inline(value, doc, seen) for key, value in node.items()}


def _response_object(status: int) -> dict | None:
    raw = operation()["responses"].get(str(status))
    return None if raw is None else _inline(raw, load_spec())


def declared_statuses() -> tuple[int, ...]:
    """The HTTP statuses the operation declares, ascending."""
    return tuple(sorted(int(code) for code in operation()["responses"]))


@cache
def _response_schema_cached(status: int) -> dict | None:
    response = _response_object(status)
    return None if response is None else _standalone(response["content"][MEDIA_TYPE]["schema"])


def response_schema(status: int) -> dict | None:
    """The fully resolved JSON schema (Draft 2020-12, no $ref left) of the body for `status`,
    or None when the spec does not declare that status. Returns a fresh copy each call."""
    return copy.deepcopy(_response_schema_cached(int(status)))


def request_schema() -> dict:
    """The fully resolved JSON schema of the (optional) JSON request body."""
    body = _inline(operation()["requestBody"], load_spec())
    return _standalone(body["content"][MEDIA_TYPE]["schema"])


def component_schema(name: str) -> dict:
    """A fully resolved schema from components/schemas, e.g. "TwoFactorDetails" or "TwoFactorCode"."""
    return _standalone(_inline(load_spec()["components"]["schemas"][name], load_spec()))


def _standalone(schema: dict) -> dict:
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)
    return schema


def response_headers(status: int) -> dict[str, dict]:
    """Declared response headers for `status`: name -> {"required": bool, "schema": dict}."""
    headers = (_response_object(int(status)) or {}).get("headers", {})
    return {name: {"required": bool(h.get("required", False)), "schema": h.get("schema", {})}
            for name, h in headers.items()}


def response_examples(status: int) -> dict[str, Any]:
    """The named examples the spec gives for `status`: name -> example value."""
    response = _response_object(int(status)) or {}
    examples = response.get("content", {}).get(MEDIA_TYPE, {}).get("examples", {})
    return {name: example["value"] for name, example in examples.items()}


@cache
def _validator(status: int) -> Draft202012Validator | None:
    schema = _response_schema_cached(status)
    return Draft202012Validator(schema) if schema is not None else None


def validate_response(status: int, body: object) -> list[str]:
    """Human-readable mismatches between `body` and the spec's schema for `status`; [] when valid.

    A status the spec does not declare is itself a mismatch."""
    validator = _validator(int(status))
    if validator is None:
        declared = ", ".join(str(code) for code in declared_statuses())
        return [f"HTTP status {status} is not declared by the spec (declared: {declared})"]
    errors = sorted(validator.iter_errors(body), key=lambda e: (list(e.absolute_path), e.message))
    return [problem for error in errors for problem in _describe(error)]


def _message(error: ValidationError) -> str:
    text = error.message
    if error.validator == "const":
        text = f"{text} (got {error.instance!r})"
    elif error.validator == "pattern":
        # jsonschema's own text repr()s the pattern, doubling every backslash.
        text = f"{error.instance!r} does not match the pattern {error.validator_value}"
    return f"{error.json_path}: {text}"


def _misses_discriminator(error: ValidationError) -> bool:
    """True when a oneOf-branch error only says 'this body is another kind of error'."""
    path = list(error.relative_path)
    # errorType itself, errorType missing, or UndocumentedError's `not` (the body carries a documented errorType)
    return path[:1] == ["errorType"] or (not path and (
        error.validator == "not" or (error.validator == "required" and "'errorType'" in error.message)))


def _describe(error: ValidationError) -> list[str]:
    """Messages for one error; a oneOf failure is explained by the branch the body claims to be."""
    by_branch: dict[int, list[ValidationError]] = {}
    for sub in (error.context or []) if error.validator == "oneOf" else []:
        by_branch.setdefault(sub.relative_schema_path[0], []).append(sub)
    claimed = [errs for errs in by_branch.values() if not any(_misses_discriminator(e) for e in errs)]
    if len(claimed) != 1:
        return [_message(error)]
    title = error.validator_value[claimed[0][0].relative_schema_path[0]].get("title", "branch")
    return [f"{_message(sub)} (as {title})" for sub in claimed[0]]
