"""Probes for the behaviour-switch matrix: each returns named facts observed over real HTTP."""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from rc_e2e_conformance.refserver.db import sha256_hex
from rc_e2e_conformance.refserver.twofactor import new_backup_codes

from .helpers import RESET, Api, User, totp_code, unique

Facts = dict[str, Any]


def provision(api: Api, role: str = "user", *, totp: bool = True, verified: bool = True) -> User:
    """Fast in-process provisioning through the server's own store (the HTTP path is tested elsewhere)."""
    import pyotp
    store = api.store
    name = unique("m")
    pw = f"pw-{name}"
    row = store.create_user(username=name, name=name, email=f"{name}@example.test", password=pw, roles=[role],
                            verified=verified, email2fa=False)
    u = User(row["id"], name, pw, row["email"], store.issue_token(row["id"]), [role])
    if totp:
        u.totp_secret = pyotp.random_base32()
        u.backup_codes = new_backup_codes()
        store.enable_totp(u.id, u.totp_secret, [sha256_hex(c) for c in u.backup_codes])
    store.set_keys(u.id, f"pub-{name}", f"priv-{name}")
    return u


def _wrong(u: User) -> str:
    return "000000" if u.code() != "000000" else "111111"


def _logged_out(api: Api, u: User) -> bool:
    return api.me_status(u) != 200


def _has_keys(api: Api, u: User) -> bool:
    return api.store.get_user(u.id)["e2e_public_key"] is not None


def p_unauth(api: Api) -> Facts:
    t0 = time.monotonic()
    r = api.http.post(api.url + RESET, json={})
    return {"unauth_status": r.status_code, "unauth_body": tuple(sorted(r.json().items())),
            "unauth_delayed": time.monotonic() - t0 >= 0.25}


def p_auth_first(api: Api) -> Facts:
    return {"lookup_before_auth": api.http.post(api.url + RESET, json={"userId": ""}).status_code == 400}


def p_wrong_method(api: Api) -> Facts:
    r = api.http.get(api.url + RESET)
    return {"wrong_method": (r.status_code, r.headers.get("allow"))}


def p_headers(api: Api) -> Facts:
    u = provision(api)
    r = api.post(RESET, user=u, json={"userId": "nobody"})
    return {"content_type": r.headers.get("content-type"), "cache_control": r.headers.get("cache-control"),
            "ratelimit_headers": "x-ratelimit-limit" in r.headers}


def p_totp_required(api: Api) -> Facts:
    u = provision(api, "admin")  # privileged: the lookup, not the permission, answers "nobody"
    r = api.post(RESET, user=u, json={"userId": "nobody"})
    empty = api.post(RESET, user=u, headers={"x-2fa-code": ""}, json={"userId": "nobody"})
    return {"no_code": r.json().get("errorType"), "empty_code": empty.json().get("errorType")}


def p_wrong_code(api: Api) -> Facts:
    u = provision(api, "admin")  # privileged: the lookup, not the permission, answers "nobody"
    body = api.post(RESET, user=u, code=_wrong(u), json={"userId": "nobody"}).json()
    return {"wrong_code": body.get("errorType"), "wrong_code_detail_keys": tuple(sorted(body.get("details", {}))),
            "wrong_code_text": body.get("error")}


def p_window(api: Api) -> Facts:
    out = {}
    for steps in (-3, -1, 1, 2):
        u = provision(api, "admin")
        code = totp_code(u.totp_secret, steps)
        out[f"code_step_{steps}"] = api.post(RESET, user=u, code=code, json={"userId": "nobody"}).json()["errorType"]
    return out


def p_remember(api: Api) -> Facts:
    u = provision(api, "admin")  # privileged: the lookup, not the permission, answers "nobody"
    api.post(RESET, user=u, code=u.code(), json={"userId": "nobody"})
    return {"second_call_without_code": api.post(RESET, user=u, json={"userId": "nobody"}).json()["errorType"]}


def p_backup(api: Api) -> Facts:
    u = provision(api, "admin")  # privileged: the lookup, not the permission, answers "nobody"
    first = api.post(RESET, user=u, code=u.backup_codes[0], json={"userId": "nobody"}).json()["errorType"]
    second = api.post(RESET, user=u, code=u.backup_codes[0], json={"userId": "nobody"}).json()["errorType"]
    return {"backup_first": first, "backup_second": second}


def p_fallback(api: Api) -> Facts:
    u = provision(api, "admin", totp=False, verified=False)
    plain = api.post(RESET, user=u, code=u.password, json={"userId": "nobody"}).json()["errorType"]
    hexed = api.post(RESET, user=u, code=u.fallback(), json={"userId": "nobody"}).json()["errorType"]
    return {"fallback_plain": plain, "fallback_hex": hexed}


def p_permission(api: Api) -> Facts:
    u, target, admin_target = provision(api), provision(api), provision(api, "admin")
    unknown = api.post(RESET, user=u, code=u.code(), json={"userId": "nobody"}).json()
    existing = api.post(RESET, user=u, code=u.code(), json={"userId": target.id})
    on_admin = api.post(RESET, user=u, code=u.code(), json={"userId": admin_target.id})
    own = api.post(RESET, user=u, code=u.code(), json={"userId": u.id})
    return {"unprivileged_unknown": unknown.get("errorType"), "unprivileged_existing": existing.status_code,
            "not_allowed_text": existing.json().get("error"), "target_untouched": _has_keys(api, target),
            "unprivileged_on_admin": on_admin.status_code, "unprivileged_self_by_id": own.status_code}


def p_lookup(api: Api) -> Facts:
    def admin() -> User:  # a fresh caller per call: some mutants log the caller out
        return provision(api, "admin")
    t1, t2, t3 = provision(api), provision(api), provision(api)
    a = admin()
    by_case = api.post(RESET, user=a, code=a.code(), json={"username": t1.username.upper()}).status_code
    a = admin()
    blank = api.post(RESET, user=a, code=a.code(), json={"userId": " "})
    a = admin()
    both = api.post(RESET, user=a, code=a.code(), json={"userId": t2.id, "username": t3.username}).status_code
    a = admin()
    non_str = api.post(RESET, user=a, code=a.code(), json={"userId": 5})
    return {"username_upper": by_case, "blank_id": (blank.status_code, blank.json().get("errorType")),
            "both_keys_resets": ("t2" if not _has_keys(api, t2) else "") + ("t3" if not _has_keys(api, t3) else ""),
            "both_status": both, "non_string": non_str.status_code}


def p_other_reset(api: Api) -> Facts:
    a, t, b = provision(api, "admin"), provision(api), provision(api)
    r = api.post(RESET, user=a, code=a.code(), json={"userId": t.id})
    return {"ok_status": r.status_code, "ok_body": r.text, "target_keys_gone": not _has_keys(api, t),
            "target_logged_out": _logged_out(api, t), "caller_logged_in": not _logged_out(api, a),
            "caller_keys_kept": _has_keys(api, a), "bystander_keys_kept": _has_keys(api, b),
            "notice_mails": len(api.store.outbox(t.id))}


def p_self_reset(api: Api) -> Facts:
    u = provision(api)
    r = api.post(RESET, user=u, code=u.code(), json={})
    return {"self_status": r.status_code, "self_logged_out": _logged_out(api, u),
            "self_keys_gone": not _has_keys(api, u)}


def p_version(api: Api) -> Facts:
    return {"version": api.http.get(api.url + "/api/info").json().get("version")}


def p_auth_variants(api: Api) -> Facts:
    """Half-sent and mismatched credentials, and a logged-out token (switches for the mutant catalogue)."""
    a, b, c = provision(api, "admin"), provision(api), provision(api)
    def authenticated(headers: dict[str, str]) -> bool:  # past authentication, whatever the 401/403 flavour
        return api.http.post(api.url + RESET, headers=headers, json={}).status_code not in (401, 403)
    facts = {"id_only_authenticates": authenticated({"X-User-Id": a.id}),
             "token_only_authenticates": authenticated({"X-Auth-Token": a.token}),
             "foreign_token_authenticates": authenticated({"X-User-Id": b.id, "X-Auth-Token": a.token})}
    api.post("/api/v1/logout", user=c)
    return {**facts, "logged_out_token_works": api.me_status(c) == 200}


def p_email_attempts(api: Api) -> Facts:
    """An e-mail-only 2FA user sending wrong codes: the fifth is totp-max-attempts."""
    u = provision(api, "admin", totp=False)
    api.store.update_user(u.id, email2fa_enabled=1)
    api.post(RESET, user=u, json={"userId": "nobody"})  # e-mails a code
    answers = [api.post(RESET, user=u, code="000000", json={"userId": "nobody"}).json().get("errorType")
               for _ in range(5)]
    return {"email_fifth_wrong": answers[-1]}


#: The matrix servers' limit: above every other probe's counted calls, so only p_past_limit reaches it.
PROBE_RATE_LIMIT = 60


def p_past_limit(api: Api) -> Facts:
    """Runs last: a non-bypass caller keeps calling until the window is used up; the answer past it."""
    u = provision(api, "user")
    status = None
    for _ in range(PROBE_RATE_LIMIT + 5):
        status = api.post(RESET, user=u, json={"userId": "nobody"}).status_code
        if status == 429:
            break
    return {"past_limit_status": status}


def p_body(api: Api) -> Facts:
    """8.x body schema: another key without a code, a numeric userId with one (≤7.x: no schema)."""
    u = provision(api, "admin")
    extra = api.post(RESET, user=u, json={"userId": "nobody", "foo": 1}).json().get("errorType")
    numeric = api.post(RESET, user=u, code=u.code(), json={"userId": 123}).json().get("errorType")
    return {"body_extra_key_without_code": extra, "body_numeric_user_id": numeric}


PROBES: tuple[Callable[[Api], Facts], ...] = (
    p_unauth, p_auth_first, p_wrong_method, p_headers, p_totp_required, p_wrong_code, p_window, p_remember,
    p_backup, p_fallback, p_permission, p_lookup, p_other_reset, p_self_reset, p_version, p_auth_variants,
    p_email_attempts, p_past_limit, p_body)
