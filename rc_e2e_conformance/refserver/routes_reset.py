"""POST /api/v1/users.resetE2EKey, check by check in Rocket.Chat's order (behaviour.md §1-§6)."""
from __future__ import annotations

import contextlib
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from .behaviour import Behaviour
from .body import check_object, read_body
from .common import Caller, authenticate
from .responses import ApiError, dumps, error_response, json_response, unauthorized
from .state import AppState, client_ip, log, state_of
from .store import Store
from .twofactor import JS_SPACE, TwoFactor

ROUTE = "users.resetE2EKey"
TARGET_KEYS = ("userId", "username", "user")
INVALID_USER = 'The required "userId" or "username" param provided does not match any users'
NOT_PROVIDED = 'The required "userId" or "username" param was not provided'


class NonStringParam(ApiError):
    """The JS TypeError `params.<key>?.trim is not a function` (a 400 without errorType)."""


def _given(params: dict[str, Any], key: str) -> str | None:
    """`params[key]?.trim()` as a blank test: None when absent, null or blank; a non-string throws."""
    value = params.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise NonStringParam(None, f"params.{key}?.trim is not a function")
    return value if value.strip(JS_SPACE) else None


def find_target(store: Store, b: Behaviour, params: dict[str, Any]) -> dict[str, Any] | None:
    """getUserFromParams: the first non-blank key decides, looked up by its raw (untrimmed) value; later
    keys are not even read. Returns None only for the blank-means-self mutant."""
    for key in TARGET_KEYS if b.user_id_wins else ("username", "userId", "user"):
        value = _given(params, key)
        if value is None:
            continue
        found = store.get_user(value) if key == "userId" else store.find_by_username(value, b.username_ignores_case)
        if found is None:
            raise ApiError("error-invalid-user", INVALID_USER)
        return found
    if b.blank_id_means_self:
        return None
    raise ApiError("error-user-param-not-provided", NOT_PROVIDED)


def reset_user(st: AppState, target_id: str, *, notify: bool, caller: Caller) -> None:
    """resetUserE2EEncriptionKey: e-mail (other-user path), drop keys, drop every login token."""
    b, store = st.behaviour, st.store
    named = store.get_user(target_id)
    if b.reset_caller_instead:
        target_id = caller.id
    if notify and b.send_reset_email and named and named["email"] and named["email_verified"]:
        store.send_mail(named["id"], named["email"], "E2E Key Reset Notification",
                        "Your end-to-end encryption key was reset by an administrator.")
    target = store.get_user(target_id)
    if target is not None and target["federated"]:  # §10.5: after the notice, before anything is reset
        raise ApiError("error-not-allowed", "Federated Users cant have TOTP", {"function": "resetTOTP"})
    if b.clear_keys or b.clear_bystander_keys:
        store.clear_keys(None if b.clear_bystander_keys else target_id)
    if b.clear_sessions:
        store.revoke_all_tokens(target_id)
    if b.logout_caller and target_id != caller.id:
        store.revoke_all_tokens(caller.id)


def _has_target_keys(params: dict[str, Any]) -> bool:
    return any(k in params for k in TARGET_KEYS)


async def reset_e2e_key(request: Request) -> Response:
    st = state_of(request)
    b = st.behaviour
    ctype = b.response_content_type
    headers: dict[str, str] = {}  # X-RateLimit-*, once the call is counted
    try:
        body = await read_body(request)
        params = body.params()
        caller = authenticate(request, st)
        if caller is None:
            if not b.auth_checked_first and body.error is None and _has_target_keys(params):
                find_target(st.store, b, params)  # mutant: an unauthenticated caller's lookup runs before the 401
            return unauthorized(b, ctype)  # the 6.x delay is added by the dispatcher for every 401/403
        if body.error is not None:
            raise ApiError(None, body.error)
        settings, exempt = st.settings, st.store.has_permission(caller.user, "api-bypass-rate-limit")
        if settings.flag("API_Enable_Rate_Limiter") and not exempt:
            verdict = st.limiter.hit(ROUTE, client_ip(request),
                                     settings.number("API_Enable_Rate_Limiter_Limit_Calls_Default"),
                                     settings.number("API_Enable_Rate_Limiter_Limit_Time_Default"))
            if b.rate_limit_headers:
                headers.update(verdict.headers())
            if not verdict.allowed and b.rate_limit_enforced:
                reason = ("Error, too many requests. Please slow down. You must wait "
                          f"{verdict.wait_seconds} seconds before trying this endpoint again.")
                raise ApiError("error-too-many-requests", reason, status=429)
        if b.body_schema_checked and b.body_schema_before_2fa:  # 8.x: after the limiter, before 2FA (§10.1)
            params = check_object(body, TARGET_KEYS, TARGET_KEYS, coerce=b.body_scalars_coerced)
        if not b.two_factor_checked_first:  # mutant: the handler's checks answer before 2FA
            with contextlib.suppress(NonStringParam):  # answered by the handler below, as without the mutant
                _checks_only(st, caller, params)
        if b.two_factor_checked:
            code = request.headers.get("x-2fa-code", "")
            if code == "" and "x-2fa-code" in request.headers and not b.empty_code_is_absent:
                code = "\x00"  # mutant: the empty header is checked as a code, which nothing matches
            TwoFactor(st).check(caller.user, caller.token_row, code, request.headers.get("x-2fa-method", ""))
        if b.body_schema_checked and not b.body_schema_before_2fa:  # mutant: the schema only after 2FA
            params = check_object(body, TARGET_KEYS, TARGET_KEYS, coerce=b.body_scalars_coerced)
        try:
            _handle(st, caller, params)
        except NonStringParam:
            if not b.error_500_on_non_string:
                raise
            return json_response({"success": False, "error": "Internal server error"}, 500, headers, ctype)
    except ApiError as e:
        return error_response(e, with_suffix=b.error_type_suffix, headers=headers, content_type=ctype)
    return Response(dumps({"success": "true" if b.ok_body_off_schema else True}), 200, headers, media_type=ctype)


def _handle(st: AppState, caller: Caller, params: dict[str, Any]) -> None:
    b = st.behaviour
    target = None
    if not _has_target_keys(params):
        if not b.self_reset_on_empty_body:  # mutant: no self-reset path, a target is required
            raise ApiError("error-user-param-not-provided", NOT_PROVIDED)
    else:
        if not b.lookup_before_permission:
            _check_permission(st, caller, None)
        target = find_target(st.store, b, params)  # None: the blank-means-self mutant
    if target is None or (b.self_by_id_is_self_reset and target["id"] == caller.id):
        reset_user(st, caller.id, notify=False, caller=caller)
        return
    checked_first = b.lookup_before_permission and b.reset_after_permission_check
    if checked_first:
        _check_permission(st, caller, target)
    reset_user(st, target["id"], notify=True, caller=caller)
    if b.lookup_before_permission and not checked_first:  # mutant: the damage is done before the refusal
        _check_permission(st, caller, target)


def _checks_only(st: AppState, caller: Caller, params: dict[str, Any]) -> None:
    """The handler's lookup and permission check without the reset (two_factor_checked_first mutant)."""
    if _has_target_keys(params):
        target = find_target(st.store, st.behaviour, params)
        if target is not None:
            _check_permission(st, caller, target)


def _check_permission(st: AppState, caller: Caller, target: dict[str, Any] | None) -> None:
    b = st.behaviour
    holder = target if b.permission_checked_on == "target" else caller.user  # mutant: the target's roles decide
    if not b.check_permission or holder is None:
        return
    if b.permission_checked_on == "admin-role":  # mutant: the admin role, not the permission, decides
        allowed = "admin" in holder["roles"]
    else:
        allowed = st.store.has_permission(holder, "edit-other-user-e2ee")
    if not allowed:
        log.debug("error-not-allowed for %s", caller.id)
        raise ApiError("error-not-allowed", "Not allowed")
