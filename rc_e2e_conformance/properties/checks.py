"""Which check judges which SCHEMA requirement, the custom checks, and their tuning to real Rocket.Chat.

Every check belongs to exactly one requirement, so a failing check fails only that requirement:

| check                          | requirement | why |
|---|---|---|
| not_a_server_error             | SCHEMA-02 | "no generated request gets a 5xx" |
| status_code_conformance        | SCHEMA-01 | status must be one the spec declares |
| content_type_conformance       | SCHEMA-01 | the declared media type is application/json |
| response_schema_conformance    | SCHEMA-01 | body validates against the schema of its status |
| response_headers_conformance   | SCHEMA-01 | headers the spec declares for the status |
| auth_enforced                  | SCHEMA-01 | a 2xx without the caller's X-User-Id + X-Auth-Token is undeclared |
| rocket_chat_rejects            | SCHEMA-01 | input Rocket.Chat refuses on the target's release never gets a 2xx |
| error_body_shape               | SCHEMA-03 | success:false, string error, `[errorType]` suffix |
| success_names_existing_user    | SCHEMA-04 | a 200 only when the request named an existing user or none |

The first five are schemathesis' own, looked up by name in `schemathesis.checks`; every check runs
through the public `Case.validate_response`, one call per check, so each failure group is one
check's. Not used, because real Rocket.Chat legitimately fails them: positive_data_acceptance (a
valid body naming an unknown user is answered 400), unsupported_method / allow_header_conformance
(7.x answers an undeclared method with 404, not 405), missing_required_header (the auth headers are
security schemes, judged by auth_enforced). ignored_auth and negative_data_rejection are replaced by
auth_enforced and rocket_chat_rejects: they judge the request as sent (what the server read), not
schemathesis' generation metadata, which has no public API, and they send no probe (AUTH-01..07
already send the request without credentials, with a wrong token and with another user's id). The
stateful checks need links the single operation does not have.

A 5xx is judged only by SCHEMA-02: its status and body say nothing more about the contract, and
filing it under SCHEMA-01/03 as well would fail three requirements for one defect.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import schemathesis.checks
from schemathesis.errors import FailureGroup

from rc_e2e_conformance.contract.releases import Release

from .safety import NameMapper, js_blank

CheckFn = Callable[[Any, Any, Any], Any]
TARGET_KEYS = ("userId", "username", "user")  # the order Rocket.Chat reads them in
JSON_TYPES = ("application/json",)
#: 8.x answers schema violations of the body with this errorType, its `error` without the suffix.
INVALID_PARAMS = "invalid-params"
SCHEMATHESIS_CHECKS = {
    "SCHEMA-01": ("status_code_conformance", "content_type_conformance", "response_schema_conformance",
                  "response_headers_conformance"),
    "SCHEMA-02": ("not_a_server_error",),
}


def _other_route(response: Any) -> bool:
    # Coverage probes with a method the spec does not declare hit a different route, not this contract.
    return (response.request.method or "").upper() != "POST"


def error_body_shape(ctx: Any, response: Any, case: Any) -> None:
    """SCHEMA-03: every error body has success:false and a string error ending in [errorType]."""
    status = response.status_code
    # 401 has the documented auth body ({"status","message"}, no `success` up to 6.x); 5xx is SCHEMA-02's.
    if status < 400 or status >= 500 or status == 401 or _other_route(response):
        return None
    try:
        body = json.loads(response.content or b"")
    except (ValueError, RecursionError):
        raise AssertionError(f"HTTP {status} error body is not JSON") from None
    if not isinstance(body, dict):
        raise AssertionError(f"HTTP {status} error body is a JSON {type(body).__name__}, not an object")
    problems = []
    if body.get("success") is not False:
        problems.append(f"`success` is {body.get('success')!r}, expected false")
    error = body.get("error")
    if not isinstance(error, str):
        problems.append(f"`error` is {type(error).__name__}, expected a string")
    if "errorType" in body:
        error_type = body["errorType"]
        if not isinstance(error_type, str):
            problems.append(f"`errorType` is {type(error_type).__name__}, expected a string")
        elif isinstance(error, str) and error_type != INVALID_PARAMS and not error.endswith(f"[{error_type}]"):
            # invalid-params: 8.x's body validator has no suffix, older parameter checks do; both are fine.
            problems.append(f"`error` {error[:120]!r} does not end with [{error_type}]")
    if problems:
        raise AssertionError(f"HTTP {status} error body breaks the error format: " + "; ".join(problems))
    return None


def sent_json_body(response: Any) -> tuple[bool, Any]:
    """(sent as JSON?, parsed body) of the request that got `response`, as the server read it."""
    request = response.request
    ctype = (request.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if not (ctype in JSON_TYPES or ctype.endswith("+json")):
        return False, None
    raw = request.body or b""
    try:
        return True, json.loads(raw.decode("utf-8") if isinstance(raw, bytes) else raw)
    except (ValueError, RecursionError):
        return True, None


def make_success_check(mapper: NameMapper) -> CheckFn:
    """SCHEMA-04 per request: a 2xx only when the body named an existing (pool) user or none."""

    def success_names_existing_user(ctx: Any, response: Any, case: Any) -> None:
        if not 200 <= response.status_code < 300 or _other_route(response):
            return None
        is_json, body = sent_json_body(response)
        # Only a JSON object names a target; other media types may or may not be parsed by a server,
        # and a body it does not read is a self-reset (200 is right).
        if not is_json or not isinstance(body, dict) or not any(key in body for key in TARGET_KEYS):
            return None
        named = [body[key] for key in TARGET_KEYS if isinstance(body.get(key), str) and not js_blank(body[key])]
        if any(mapper.pool_user(value) is not None for value in named):
            return None
        shown = {key: body[key] for key in TARGET_KEYS if key in body}
        raise AssertionError(f"HTTP {response.status_code} for a request naming no existing user: "
                             f"{json.dumps(shown, ensure_ascii=False)[:300]}")

    return success_names_existing_user


def make_auth_check(caller_session: Callable[[Any], bool]) -> CheckFn:
    """SCHEMA-01: the spec requires X-User-Id + X-Auth-Token; a 2xx to a request without the caller's
    live session (none, a generated or wrong token, a token sent with another id) is undeclared."""

    def auth_enforced(ctx: Any, response: Any, case: Any) -> None:
        if 200 <= response.status_code < 300 and not _other_route(response) and not caller_session(response):
            raise AssertionError(f"HTTP {response.status_code} to a request without valid credentials: "
                                 "the operation does not enforce the authentication the spec declares")
        return None

    return auth_enforced


def rocket_chat_must_reject(response: Any, two_factor: bool | None, release: Release) -> bool:
    """Does real Rocket.Chat refuse the request as sent (whatever the caller holds)?

    All lines read userId, username, user in that order, stopping at the first non-blank string; a
    value that is not a string is refused (≤7.x a leaked TypeError, 8.x `invalid-params` for objects
    and arrays and a lookup of the coerced text for scalars, which names nobody), and keys present but
    all blank or null are `error-user-param-not-provided`. With 2FA on, a malformed code is refused.
    8.x validates the body's schema first: another key, or JSON that is not an object, is
    `invalid-params`; ≤7.x ignores other keys and treats a non-object body as a self-reset (200).
    """
    from .caller import CODE_HEADER, malformed_code  # local: caller imports nothing from here

    sent_code = response.request.headers.get(CODE_HEADER)
    if two_factor and sent_code is not None and malformed_code(sent_code):
        return True
    is_json, body = sent_json_body(response)
    if not is_json or body is None:
        return False  # not JSON, or not parseable: read as {} (a self-reset) on every line
    if release.at_least(8) and (not isinstance(body, dict) or any(k not in TARGET_KEYS for k in body)):
        return True
    if not isinstance(body, dict):
        return False
    present = False
    for key in TARGET_KEYS:
        if key not in body:
            continue
        present = True
        value = body[key]
        if value is None or (isinstance(value, str) and js_blank(value)):
            continue  # `params.userId?.trim()` is blank: look at the next key
        return not isinstance(value, str)  # a non-string is refused; a name is looked up (stop)
    return present  # keys present but all blank/null → error-user-param-not-provided


def make_reject_check(two_factor: bool | None, release: Release) -> CheckFn:
    """SCHEMA-01: a request Rocket.Chat refuses must not be answered 2xx (the spec declares 4xx for it)."""

    def rocket_chat_rejects(ctx: Any, response: Any, case: Any) -> None:
        if 200 <= response.status_code < 300 and not _other_route(response) \
                and rocket_chat_must_reject(response, two_factor, release):
            raise AssertionError(f"HTTP {response.status_code} to a request Rocket.Chat {release.profile}.x "
                                 "refuses (a non-string or blank target, another key on 8.x, or a malformed code)")
        return None

    return rocket_chat_rejects


def build_checks(mapper: NameMapper, two_factor: bool | None, release: Release,
                 caller_session: Callable[[Any], bool]) -> dict[str, list[CheckFn]]:
    """The checks of one answer, by requirement."""
    checks: dict[str, list[CheckFn]] = {rid: [getattr(schemathesis.checks, name) for name in names]
                                        for rid, names in SCHEMATHESIS_CHECKS.items()}
    checks["SCHEMA-01"] += [make_auth_check(caller_session), make_reject_check(two_factor, release)]
    checks["SCHEMA-03"] = [error_body_shape]
    checks["SCHEMA-04"] = [make_success_check(mapper)]
    return checks


def judge(case: Any, response: Any, checks: dict[str, list[CheckFn]], *,
          base_url: str) -> list[tuple[str, str, Any]]:
    """Run the checks on one answer; return (requirement, check name, failure) for each failure.

    One `validate_response` call per check: its failure group then belongs to that one check.
    """
    found: list[tuple[str, str, Any]] = []
    for requirement, fns in checks.items():
        if response.status_code >= 500 and requirement != "SCHEMA-02":
            continue
        for fn in fns:
            try:
                case.validate_response(response, checks=[fn], transport_kwargs={"base_url": base_url})
            except FailureGroup as group:
                found += [(requirement, fn.__name__, failure) for failure in group.exceptions]
    return found
