"""login, logout, me, method.call (2fa:enable / 2fa:validateTempToken), e-mail 2FA, personal access tokens."""
from __future__ import annotations

import json
import time
from typing import Any

import pyotp
from starlette.requests import Request
from starlette.responses import Response

from .behaviour import Behaviour
from .body import read_body
from .common import authed, me_view, str_param
from .db import sha256_hex, storable
from .responses import ApiError, json_response, present, success
from .state import AppState, state_of
from .twofactor import TwoFactor, TwoFactorError, iso_ms, new_backup_codes, totp_matches


def faithful(st: AppState) -> Behaviour:
    """The second factor of the setup routes is checked as the release line does, without the defect
    switches: a 2FA mutant is a defect of users.resetE2EKey and must not make the suite's own setup
    flaky (e.g. a TOTP login at a step edge under a narrow window)."""
    return Behaviour().with_release_of(st.behaviour)

S = "Block_Multiple_Failed_Logins_"


def _login_error(error: object, message: str, details: dict[str, Any] | None = None) -> Response:
    return json_response(present(status="error", error=error, details=details, message=message), 401)


async def login(request: Request) -> Response:
    st = state_of(request)
    store = st.store
    params = (await read_body(request)).params()
    ident = next((v for k in ("user", "username", "email") if isinstance(v := params.get(k), str) and v), None)
    password = params.get("password")
    if isinstance(password, dict):  # {"digest": "<sha256 hex>", "algorithm": "sha-256"}
        digest = password.get("digest") if password.get("algorithm") == "sha-256" else None
    else:
        digest = sha256_hex(password) if isinstance(password, str) else None
    user = (store.find_by_email(ident) if "@" in ident else store.find_by_username(ident)) if ident else None
    if user is None or not isinstance(digest, str):
        return _login_error("Unauthorized", "Unauthorized")  # RC masks "User not found"
    if user["blocked_until"] > time.time():
        return _login_error("error-login-blocked-for-user", "Login has been temporarily blocked For User")
    if not user["active"]:
        return _login_error("error-user-is-not-activated", "User is not activated")
    if not store.check_password(user, digest):
        _count_failure(st, user)
        return _login_error(403, "Incorrect password")
    # Login runs the endpoint's 2FA check without the password fallback (§7, §11.1): TOTP users and
    # users with active e-mail 2FA (flag + verified address) are asked for a code, e-mailed if need be.
    code = params.get("code") if isinstance(params.get("code"), str) else request.headers.get("x-2fa-code", "")
    try:
        TwoFactor(st, faithful(st)).check(user, None, str(code), request.headers.get("x-2fa-method", ""),
                                          password_fallback=False)
    except TwoFactorError as e:
        if e.error_type != "totp-required":
            _count_failure(st, user)
        return _login_error(e.error_type, e.reason, e.details)
    store.update_user(user["id"], failed_logins=0)
    token = store.issue_token(user["id"])
    fresh = store.get_user(user["id"]) or user
    return json_response({"status": "success", "data": {"userId": user["id"], "authToken": token,
                                                        "me": me_view(fresh)}, "success": True})


def _count_failure(st: Any, user: dict[str, Any]) -> None:
    failures = user["failed_logins"] + 1
    if failures >= st.settings.number(S + "Attempts_Until_Block_By_User"):
        minutes = st.settings.number(S + "Time_To_Unblock_By_User_In_Minutes")
        st.store.update_user(user["id"], failed_logins=0, blocked_until=time.time() + 60 * minutes)
    else:
        st.store.update_user(user["id"], failed_logins=failures)


async def logout(request: Request) -> Response:
    st, caller, _ = await authed(request)
    if st.behaviour.logout_revokes_token:
        st.store.revoke_token(caller.token_row["hash"])
    return json_response({"status": "success", "data": {"message": "You've been logged out!"}})


async def me(request: Request) -> Response:
    _, caller, _ = await authed(request)
    return success(me_view(caller.user))


def _meteor_error(error: object, reason: str | None = None, details: dict[str, Any] | None = None) -> dict[str, Any]:
    """A Meteor.Error as DDP serializes it."""
    return present(isClientSafe=True, error=error, reason=reason, details=details,
                   message=f"{reason} [{error}]" if reason else f"[{error}]", errorType="Meteor.Error")


async def method_call(request: Request) -> Response:
    st, caller, body = await authed(request)
    name = request.path_params["method"]
    try:
        msg = json.loads(body.params()["message"])
        call_id, params = msg["id"], msg.get("params", [])
        if msg.get("msg") != "method" or msg.get("method") != name or not isinstance(params, list):
            raise ValueError("not a method call")
    except (KeyError, TypeError, ValueError):
        raise ApiError(None, "Invalid method call") from None
    outcome: dict[str, Any]
    store, user = st.store, caller.user
    if name == "2fa:enable":
        if user["email"] and not user["email_verified"]:  # 5.4.3+
            outcome = {"error": _meteor_error("error-invalid-user", "You need to verify your emails before "
                                              "setting up 2FA", {"method": "2fa:enable"})}
        elif user["totp_enabled"]:  # 6.10.1+
            outcome = {"error": _meteor_error("error-2fa-already-enabled")}
        else:
            secret = pyotp.random_base32(32)
            store.update_user(user["id"], totp_temp_secret=secret)
            outcome = {"result": {"secret": secret,
                                  "url": f"otpauth://totp/Rocket.Chat:{user['username']}?secret={secret}"}}
    elif name == "2fa:validateTempToken":
        code = params[0] if params else None
        temp = user["totp_temp_secret"]
        if not isinstance(code, str):
            outcome = {"error": _meteor_error(400, "Match failed")}
        elif temp and totp_matches(temp, code, st.settings.number("Accounts_TwoFactorAuthentication_MaxDelta")):
            codes = new_backup_codes()
            store.enable_totp(user["id"], temp, [sha256_hex(c) for c in codes])
            store.revoke_other_sessions(user["id"], caller.token_row["hash"])  # 6.6+
            outcome = {"result": {"codes": codes}}
        else:
            outcome = {"error": _meteor_error("invalid-totp")}  # 6.6+
    else:
        outcome = {"error": _meteor_error(404, f"Method '{name}' not found")}
    inner = {"msg": "result", "id": call_id, **outcome}
    return success({"message": json.dumps(inner, separators=(",", ":"))})


def check_2fa(st: Any, caller: Any, request: Request) -> None:
    """twoFactorRequired of a setup route: the release's 2FA rules, answered like the endpoint's."""
    TwoFactor(st, faithful(st)).check(caller.user, caller.token_row, request.headers.get("x-2fa-code", ""),
                                      request.headers.get("x-2fa-method", ""))


async def enable_email_2fa(request: Request) -> Response:
    st, caller, _ = await authed(request)
    st.store.update_user(caller.id, email2fa_enabled=1)
    return success()


async def disable_email_2fa(request: Request) -> Response:
    st, caller, _ = await authed(request)
    check_2fa(st, caller, request)  # twoFactorRequired
    st.store.update_user(caller.id, email2fa_enabled=0)
    return success()


async def generate_pat(request: Request) -> Response:
    """users.generatePersonalAccessToken: 2FA first, then the permission, then the token."""
    st, caller, body = await authed(request)
    check_2fa(st, caller, request)
    if not st.store.has_permission(caller.user, "create-personal-access-tokens"):
        raise ApiError("not-authorized", "Not Authorized")
    params = body.params()
    name = str_param(params, "tokenName")
    if not name or not storable(name):
        raise ApiError("error-token-name-required", "Token name is required")
    if st.store.db.one("SELECT 1 AS x FROM login_tokens WHERE user_id = ? AND name = ?", (caller.id, name)):
        raise ApiError("error-token-already-exists", "A token with this name already exists")
    token = st.store.issue_token(caller.id, kind="pat", name=name, bypass_2fa=params.get("bypassTwoFactor") is True)
    return success({"token": token})


async def get_pats(request: Request) -> Response:
    """users.getPersonalAccessTokens: names, never the tokens (only their last 6 characters)."""
    st, caller, _ = await authed(request)
    if not st.store.has_permission(caller.user, "create-personal-access-tokens"):
        raise ApiError("not-authorized", "Not Authorized")
    tokens = [{"name": t["name"], "createdAt": iso_ms(t["created_at"]), "lastTokenPart": t["last_part"] or "",
               "bypassTwoFactor": bool(t["bypass_2fa"])} for t in st.store.personal_tokens(caller.id)]
    return success({"tokens": tokens})


async def remove_pat(request: Request) -> Response:
    """users.removePersonalAccessToken {tokenName}: 2FA, permission, then the token is gone."""
    st, caller, body = await authed(request)
    check_2fa(st, caller, request)
    if not st.store.has_permission(caller.user, "create-personal-access-tokens"):
        raise ApiError("not-authorized", "Not Authorized")
    name = str_param(body.params(), "tokenName")
    if not name:
        raise ApiError("error-token-name-required", "Token name is required")
    if not st.store.remove_personal_token(caller.id, name):
        raise ApiError("error-token-does-not-exists", "Token does not exist")
    return success()
