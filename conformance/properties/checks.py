"""Which check judges which SCHEMA requirement, the custom checks, and their tuning to real Rocket.Chat.

Every check belongs to exactly one requirement, so a failing check fails only that requirement:

| check                          | requirement | why |
|---|---|---|
| not_a_server_error             | SCHEMA-02 | "no generated request gets a 5xx" |
| status_code_conformance        | SCHEMA-01 | status must be one the spec declares |
| content_type_conformance       | SCHEMA-01 | the declared media type is application/json |
| response_schema_conformance    | SCHEMA-01 | body validates against the schema of its status |
| response_headers_conformance   | SCHEMA-01 | headers the spec declares for the status |
| ignored_auth                   | SCHEMA-01 | the spec declares X-User-Id + X-Auth-Token: a 2xx without them is an undeclared answer |
| negative_data_rejection (tuned)| SCHEMA-01 | input the spec's schema forbids and Rocket.Chat evaluates must get a declared error |
| error_body_shape               | SCHEMA-03 | success:false, string error, `[errorType]` suffix |
| success_names_existing_user    | SCHEMA-04 | a 200 only when the request named an existing user or none |

Not used, because real Rocket.Chat legitimately fails them: positive_data_acceptance (a valid body
naming an unknown user is answered 400), unsupported_method / allow_header_conformance (7.x answers
an undeclared method with 404, not 405), missing_required_header (the spec has no required header
parameter: the auth headers are security schemes, judged by ignored_auth). The stateful checks
(use_after_free, ensure_resource_availability, object_level_authorization) need links the single
operation does not have.

A 5xx is judged only by SCHEMA-02: its status and body say nothing more about the contract, and
filing it under SCHEMA-01/03 as well would fail three requirements for one defect.
"""
from __future__ import annotations

import copy
import json
import threading
from collections.abc import Callable
from typing import Any

from schemathesis.checks import CheckContext, not_a_server_error, run_checks
from schemathesis.core.failures import Failure
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation.meta import CoverageScenario, coverage_scenario, negated_parameters
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from .safety import NameMapper, js_blank

CheckFn = Callable[[CheckContext, Any, Any], Any]
TARGET_KEYS = ("userId", "username", "user")  # the order Rocket.Chat reads them in
JSON_TYPES = ("application/json",)


def _is_other_method_probe(case: Any) -> bool:
    # Coverage probes with a method the spec does not declare hit a different route, not this contract.
    return coverage_scenario(case) == CoverageScenario.UNSPECIFIED_HTTP_METHOD


def error_body_shape(ctx: CheckContext, response: Any, case: Any) -> None:
    """SCHEMA-03: every error body has success:false and a string error ending in [errorType]."""
    status = response.status_code
    # 401 has the documented auth body ({"status","message"}, no `success` up to 6.x); 5xx is SCHEMA-02's.
    if status < 400 or status >= 500 or status == 401 or _is_other_method_probe(case):
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
        elif isinstance(error, str) and not error.endswith(f"[{error_type}]"):
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

    def success_names_existing_user(ctx: CheckContext, response: Any, case: Any) -> None:
        if not 200 <= response.status_code < 300 or _is_other_method_probe(case):
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


def rocket_chat_must_reject(case: Any, response: Any, two_factor: bool | None) -> bool:
    """Does real Rocket.Chat refuse this negative case? Only then is negative_data_rejection asked.

    Rocket.Chat validates no schema: it ignores extra keys and unknown x-2fa-method values, treats a
    non-object or unparsed body as a self-reset (200), and reads userId, username, user in that order,
    stopping at the first non-blank string. So a broken value it never reads is not refused.
    """
    schema = case.operation.schema
    if schema.is_security_param_negated(case):
        return True  # 401 before anything else
    negated = {(name.lower(), location) for name, location in negated_parameters(case._meta)}
    if two_factor and ("x-2fa-code", ParameterLocation.HEADER) in negated:
        return True  # any malformed code is totp-invalid (an empty one totp-required)
    meta = case._meta
    if meta is None or not meta.is_negative_at(ParameterLocation.BODY):
        return False
    is_json, body = sent_json_body(response)
    if not is_json or not isinstance(body, dict):
        return False
    present = False
    for key in TARGET_KEYS:
        if key not in body:
            continue
        present = True
        value = body[key]
        if value is None or (isinstance(value, str) and js_blank(value)):
            continue  # `params.userId?.trim()` is blank: look at the next key
        return not isinstance(value, str)  # a non-string throws (400); a name is looked up (stop)
    return present  # keys present but all blank/null → error-user-param-not-provided


def make_negative_check(two_factor: bool | None) -> CheckFn:
    """schemathesis' negative_data_rejection, asked only where real Rocket.Chat rejects."""

    def negative_data_rejection_rc(ctx: CheckContext, response: Any, case: Any) -> None:
        if rocket_chat_must_reject(case, response, two_factor):
            return negative_data_rejection(ctx, response, case)
        return None

    return negative_data_rejection_rc


def make_ignored_auth_once(lock: threading.Lock, *, probes: bool = True) -> CheckFn:
    """schemathesis' ignored_auth, probing one judgement at a time.

    The check judges a 2xx answer itself (generated or missing credentials must not succeed), and for
    a 2xx with the caller's real credentials it sends three unauthenticated probes (each delayed
    0.5-1 s up to 6.x) until one judgement has proven the operation enforces auth. Answers are judged
    concurrently: while one judgement probes, the others, and every judgement when `probes` is off
    (another process of the run probes), get the check without its probes. They are never queued
    behind the prober, which would hold every worker thread for seconds.
    """

    def ignored_auth_once(ctx: CheckContext, response: Any, case: Any) -> Any:
        if probes and lock.acquire(blocking=False):
            try:
                return ignored_auth(ctx, response, case)
            finally:
                lock.release()
        return ignored_auth(_without_probes(ctx, case), response, case)

    ignored_auth_once.__name__ = "ignored_auth"  # findings name the schemathesis check
    return ignored_auth_once


def _without_probes(ctx: CheckContext, case: Any) -> CheckContext:
    """The same context, with the operation counted as proven: ignored_auth then sends no probe."""
    quiet = copy.copy(ctx)
    quiet.auth_enforced_operations = {*(ctx.auth_enforced_operations or ()), case.operation.label}
    return quiet


def build_checks(mapper: NameMapper, two_factor: bool | None, auth_lock: threading.Lock | None = None,
                 *, auth_probes: bool = True) -> list[tuple[CheckFn, str]]:
    """The checks of one answer; `auth_probes=False` where another process of the run sends
    ignored_auth's probes (the check still judges the answer itself)."""
    return [
        (not_a_server_error, "SCHEMA-02"),
        (status_code_conformance, "SCHEMA-01"),
        (content_type_conformance, "SCHEMA-01"),
        (response_schema_conformance, "SCHEMA-01"),
        (response_headers_conformance, "SCHEMA-01"),
        (make_ignored_auth_once(auth_lock or threading.Lock(), probes=auth_probes), "SCHEMA-01"),
        (make_negative_check(two_factor), "SCHEMA-01"),
        (error_body_shape, "SCHEMA-03"),
        (make_success_check(mapper), "SCHEMA-04"),
    ]


def judge(case: Any, response: Any, ctx: CheckContext,
          checks: list[tuple[CheckFn, str]]) -> list[tuple[str, str, Failure]]:
    """Run the checks on one answer; return (requirement, check name, failure) for each failure."""
    if response.status_code >= 500:
        checks = [(fn, req) for fn, req in checks if req == "SCHEMA-02"]
    requirement_of = {fn.__name__: req for fn, req in checks}
    found: list[tuple[str, str, Failure]] = []

    def on_failure(name: str, collected: set[Failure], failure: Failure) -> None:
        collected.add(failure)
        found.append((requirement_of[name], name, failure))

    run_checks(case=case, response=response, ctx=ctx, checks=[fn for fn, _ in checks], on_failure=on_failure)
    return found
