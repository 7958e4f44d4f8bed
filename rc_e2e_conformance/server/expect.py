"""Declarative expectations: judge one answer completely, list every mismatch, end with a curl line."""
from __future__ import annotations

import shlex
import time
from collections.abc import Iterable, Mapping
from typing import Any

import requests

from rc_e2e_conformance.contract.errors import ProvisioningError, TargetError
from rc_e2e_conformance.contract.redact import redact
from rc_e2e_conformance.contract.results import Evidence

from .evidence import record

UNAUTHORIZED_MESSAGE = "You must be logged in to do this."
# The documented `error` texts (docs page; error-user-param-not-provided from behaviour.md §6).
NOT_ALLOWED = "Not allowed [error-not-allowed]"
INVALID_USER = 'The required "userId" or "username" param provided does not match any users [error-invalid-user]'
USER_PARAM_NOT_PROVIDED = 'The required "userId" or "username" param was not provided [error-user-param-not-provided]'
TOTP_REQUIRED = "TOTP Required [totp-required]"
TOTP_INVALID = "TOTP Invalid [totp-invalid]"
TOTP_MAX_ATTEMPTS = "TOTP Maximun Failed Attempts Reached [totp-max-attempts]"  # sic: Rocket.Chat's typo
#: Answers of a gateway or an overloaded server (502 Bad Gateway, 503 Unavailable, 504 Gateway Timeout).
UNAVAILABLE = (502, 503, 504)
TWO_FACTOR_ERRORS = ("totp-required", "totp-invalid", "totp-max-attempts")
#: Refusals that come before the handler's permission check (behaviour.md §1.1).
BEFORE_PERMISSION = ("totp-required", "totp-invalid", "error-invalid-user", "error-user-param-not-provided")
RATE_LIMIT_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")
#: Request headers worth showing in evidence and curl lines (the rest is requests' boilerplate).
_SHOWN_HEADERS = ("x-user-id", "x-auth-token", "x-2fa-code", "x-2fa-method", "content-type")
_EXCERPT = 2048


class contains:
    """Matcher for `details`: the value is a list holding (at least) these items."""

    def __init__(self, *items: Any) -> None:
        self.items = items

    def matches(self, value: Any) -> bool:
        return isinstance(value, list) and all(i in value for i in self.items)

    def __repr__(self) -> str:
        return f"a list containing {', '.join(map(repr, self.items))}"


class present:
    """Matcher for `details`: the key is there, whatever its value."""

    def matches(self, value: Any) -> bool:
        return value is not _MISSING

    def __repr__(self) -> str:
        return "present"


class _Absent:
    def __repr__(self) -> str:
        return "absent"


#: `expect_error(..., error_type=ABSENT)`: the body must have no errorType at all.
ABSENT: Any = _Absent()
_MISSING: Any = type("_Missing", (), {"__repr__": lambda self: "<missing>"})()


def _truncate(text: str, limit: int = _EXCERPT) -> str:
    return text if len(text) <= limit else text[:limit] + f"… [{len(text) - limit} more characters]"


def _body_text(body: Any) -> str:
    if body is None:
        return ""
    return body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)


def _request_headers(req: requests.PreparedRequest) -> list[tuple[str, str]]:
    return [(k, v) for k, v in req.headers.items() if k.lower() in _SHOWN_HEADERS]


def curl_line(req: requests.PreparedRequest) -> str:
    """A copy-pasteable curl command for `req`, secrets shown as *** (via redact)."""
    parts = ["curl", "-sS", "-X", req.method or "GET", shlex.quote(req.url or "")]
    for key, value in _request_headers(req):
        parts += ["-H", f"'{key}: {value}'"]  # shape kept as -H '<name>: <value>' so redact() masks it
    body = _body_text(req.body)
    if body:
        parts += ["--data-raw", shlex.quote(body)]
    return redact(" ".join(parts))


def evidence_of(resp: requests.Response) -> Evidence:
    req = resp.request
    head = "\n".join(f"{k}: {v}" for k, v in _request_headers(req))
    request = f"{req.method} {req.url}\n{head}\n\n{_body_text(req.body)}".rstrip()
    ctype = resp.headers.get("Content-Type", "(no content type)")
    response = f"{resp.status_code} {ctype}\n{resp.text}".rstrip()
    return Evidence(request=_truncate(redact(request)), response=_truncate(redact(response)),
                    curl=_truncate(curl_line(req)))


def _parse(resp: requests.Response, problems: list[str]) -> Any:
    ctype = resp.headers.get("Content-Type", "")
    if ctype.split(";")[0].strip().lower() != "application/json":
        problems.append(f"Content-Type: expected application/json, got {ctype or 'none'!r}")
    try:
        return resp.json()
    except ValueError:
        problems.append(f"body is not JSON: {_truncate(resp.text, 200)!r}")
        return None


def _judge(resp: requests.Response, what: str, problems: list[str], expected_status: int | None = None) -> None:
    """Record the exchange as evidence (pass or fail), then raise one AssertionError listing everything."""
    __tracebackhide__ = True
    ev = evidence_of(resp)
    record(ev)
    if not problems:
        return
    if resp.status_code in UNAVAILABLE:
        # A gateway or an overloaded server, not the endpoint's own answer (a crash is a 500): could not judge.
        raise TargetError(redact(f"the target answered HTTP {resp.status_code} (unavailable) while expecting {what}: "
                                 f"a gateway or overload answer says nothing about the rule; re-run when it is up. "
                                 f"Reproduce: {ev.curl}"))
    if resp.status_code == 429 and expected_status != 429:
        # The limiter window of this client IP is used up (an earlier run, or other clients): the
        # answer says nothing about the rule under test, so this is "could not judge", not a failure.
        raise TargetError(redact(f"rate-limited (HTTP 429) while expecting {what}: the window of this client IP "
                                 f"is used up (another run within the last minute?); wait and re-run. "
                                 f"Reproduce: {ev.curl}"))
    req = resp.request
    lines = [f"{req.method} {req.path_url.split('?')[0]} answered {resp.status_code}, expected {what}:"]
    lines += [f"  - {redact(p)}" for p in problems]
    lines.append(f"  answer: {_truncate(redact(resp.text), 500)}")
    lines.append(f"Reproduce: {ev.curl}")
    raise AssertionError("\n".join(lines))


def _check_status(resp: requests.Response, status: int, problems: list[str]) -> None:
    if resp.status_code != status:
        problems.append(f"status: expected {status}, got {resp.status_code}")


def _check_schema(resp: requests.Response, body: Any, problems: list[str]) -> None:
    from rc_e2e_conformance.contract.spec import (
        validate_response,  # the contract engineer's module; imported late to keep this light
    )

    if body is not None:
        problems.extend(f"schema: {p}" for p in validate_response(resp.status_code, body))


def _check_headers(resp: requests.Response, headers: Iterable[str], problems: list[str]) -> None:
    for name in headers:
        if name not in resp.headers:
            problems.append(f"header {name}: missing")


def _field(body: Any, key: str) -> Any:
    return body.get(key) if isinstance(body, dict) else None


def expect_error(resp: requests.Response, status: int = 400, error_type: str | None = ..., *,  # type: ignore[assignment]
                 error: str | None = None, error_endswith: str | None = None,
                 details: Mapping[str, Any] | None = None, headers: Iterable[str] = (),
                 schema: bool = True) -> Any:
    """An error answer: status, success false, errorType, exact `error` text, `details` subset, JSON, schema."""
    __tracebackhide__ = True
    if error_type is ...:
        raise TypeError("expect_error needs error_type (None to leave it unchecked)")
    problems: list[str] = []
    _check_status(resp, status, problems)
    body = _parse(resp, problems)
    if body is not None:
        if _field(body, "success") is not False:
            problems.append(f"success: expected false, got {_field(body, 'success')!r}")
        if error_type is ABSENT:
            if isinstance(body, dict) and "errorType" in body:
                problems.append(f"errorType: expected none, got {body['errorType']!r}")
        elif error_type is not None and _field(body, "errorType") != error_type:
            problems.append(f"errorType: expected {error_type!r}, got {_field(body, 'errorType')!r}")
            if error_type in TWO_FACTOR_ERRORS and _field(body, "errorType") not in TWO_FACTOR_ERRORS:
                problems.append("hint: the server did not ask for a 2FA code although 2FA is on "
                                "(a server started with TEST_MODE skips 2FA)")
        if error is not None and _field(body, "error") != error:
            problems.append(f"error: expected {error!r}, got {_field(body, 'error')!r}")
        text = _field(body, "error")
        if error_endswith is not None and not (isinstance(text, str) and text.endswith(error_endswith)):
            problems.append(f"error: expected text ending with {error_endswith!r}, got {text!r}")
        got = _field(body, "details")
        for key, want in (details or {}).items():
            value = got.get(key, _MISSING) if isinstance(got, dict) else _MISSING
            if isinstance(want, (contains, present)):
                ok = want.matches(value)
            else:
                ok = value == want and type(value) is type(want)
            if not ok:
                problems.append(f"details.{key}: expected {want!r}, got {value!r}")
    _check_headers(resp, headers, problems)
    if schema:
        _check_schema(resp, body, problems)
    _judge(resp, f"{status} {error_type if isinstance(error_type, str) else 'error'}", problems, status)
    return body


def precondition(resp: requests.Response, what: str, *, reached_permission_check: bool = False) -> None:
    """A call a judgement rests on, not the one judged: it must succeed (200, success true) — or, with
    `reached_permission_check`, get past authentication, rate limit, 2FA and the lookup. Otherwise there
    is nothing to judge: ProvisioningError ("could not judge"), never a failure."""
    try:
        body = resp.json()
    except ValueError:
        body = None
    body = body if isinstance(body, dict) else {}
    if reached_permission_check:
        ok = resp.status_code not in (401, 429, *UNAVAILABLE) and body.get("errorType") not in BEFORE_PERMISSION
    else:
        ok = resp.status_code == 200 and body.get("success") is True
    if not ok:
        raise ProvisioningError(redact(f"{what} was refused (HTTP {resp.status_code}: {body.get('error')}); "
                                       f"cannot judge. Reproduce: {curl_line(resp.request)}"))


def expect_success(resp: requests.Response, *, headers: Iterable[str] = ()) -> Any:
    """The documented success: 200, JSON `{"success": true}`, valid against the spec."""
    __tracebackhide__ = True
    problems: list[str] = []
    _check_status(resp, 200, problems)
    body = _parse(resp, problems)
    if body is not None and _field(body, "success") is not True:
        problems.append(f"success: expected true, got {_field(body, 'success')!r}")
    _check_headers(resp, headers, problems)
    _check_schema(resp, body, problems)
    _judge(resp, '200 {"success": true}', problems, 200)
    return body


def expect_unauthorized(resp: requests.Response, *, schema: bool = True) -> Any:
    """The documented 401: `{"status": "error", "message": "You must be logged in to do this."}`."""
    __tracebackhide__ = True
    problems: list[str] = []
    _check_status(resp, 401, problems)
    body = _parse(resp, problems)
    if body is not None:
        if _field(body, "status") != "error":
            problems.append(f"status field: expected 'error', got {_field(body, 'status')!r}")
        if _field(body, "message") != UNAUTHORIZED_MESSAGE:
            problems.append(f"message: expected {UNAUTHORIZED_MESSAGE!r}, got {_field(body, 'message')!r}")
    if schema:
        _check_schema(resp, body, problems)
    _judge(resp, "401 unauthorized", problems, 401)
    return body


def expect_status(resp: requests.Response, status: int, *, json_body: bool = True) -> Any:
    """Only the status (+ a JSON body): for observations on other endpoints, e.g. GET /api/v1/me."""
    __tracebackhide__ = True
    problems: list[str] = []
    _check_status(resp, status, problems)
    body = _parse(resp, problems) if json_body else None
    _judge(resp, str(status), problems, status)
    return body


def expect_json(resp: requests.Response) -> Any:
    """Whatever the status: Content-Type application/json and a parseable JSON body."""
    __tracebackhide__ = True
    problems: list[str] = []
    body = _parse(resp, problems)
    _judge(resp, "a JSON answer", problems)
    return body


def expect_keys(resp: requests.Response, keys: tuple[str, str] | None) -> Any:
    """A `GET e2e.fetchMyKeys` answer holding exactly `keys` (public, private), or no keys when None."""
    __tracebackhide__ = True
    problems: list[str] = []
    _check_status(resp, 200, problems)
    body = _parse(resp, problems)
    if resp.status_code == 401:
        problems.append("the observed user's session was logged out")
    if isinstance(body, dict) and resp.status_code == 200:
        got = (body.get("public_key"), body.get("private_key"))
        if keys is None and any(got):
            problems.append("keys: expected none, but public_key/private_key are still set")
        elif keys is not None and got != tuple(keys):
            state = "removed" if not any(got) else "changed"
            problems.append(f"keys: expected the keys set before, but they were {state}")
    _judge(resp, "200 with no keys" if keys is None else "200 with the keys set before", problems, 200)
    return body


def expect_rate_limit_headers(resp: requests.Response) -> None:
    """X-RateLimit-Limit/Remaining/Reset present as integers, Reset in epoch milliseconds."""
    __tracebackhide__ = True
    problems: list[str] = []
    values = {}
    for name in RATE_LIMIT_HEADERS:
        raw = resp.headers.get(name)
        if raw is None:
            problems.append(f"header {name}: missing")
        elif not raw.strip().isdigit():
            problems.append(f"header {name}: expected an integer, got {raw!r}")
        else:
            values[name] = int(raw)
    reset = values.get("X-RateLimit-Reset")
    if reset is not None and reset < time.time() * 1000 - 120_000:
        problems.append(f"header X-RateLimit-Reset: expected epoch milliseconds, got {reset} (seconds?)")
    _parse(resp, problems)
    _judge(resp, "an answer with rate-limit headers", problems)
