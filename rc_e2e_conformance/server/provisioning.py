"""Disposable users for a run: create (role, TOTP, keys), observe, and delete them all afterwards."""
from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests

from rc_e2e_conformance.contract.errors import ProvisioningError
from rc_e2e_conformance.contract.redact import redact, register_secret

from .actors import EMAIL_CODE_WAYS_OUT, Actor, json_body, login
from .cleanup import signals_deferred
from .client import Client
from .expect import expect_error
from .totp import Totp, password_code

API = "/api/v1"
RESET = f"{API}/users.resetE2EKey"
LIST_PAGE = 500


def _two_factor_challenge(resp: requests.Response) -> str | None:
    """The method a 2FA-refused setup call asks for (totp/email/password), or None when it was not one."""
    if resp.status_code not in (400, 401):
        return None
    try:
        body = resp.json()
    except ValueError:
        return None
    if not isinstance(body, dict) or (body.get("errorType") or body.get("error")) not in ("totp-required",
                                                                                          "totp-invalid"):
        return None
    details = body.get("details")
    if not isinstance(details, dict):
        details = {}
    return str(details.get("method") or "totp")


def _ok(resp: requests.Response, what: str) -> dict[str, Any]:
    body = json_body(resp, what)
    if resp.status_code != 200 or body.get("success") is False:
        reason = body.get("error") or body.get("message") or "no reason given"
        raise ProvisioningError(redact(f"{what} failed (HTTP {resp.status_code}): {reason}"))
    return body


class Provisioner:
    """Creates disposable users with a run-unique username prefix and cleans every one of them up.

    The configured admin only creates, observes and deletes: it never calls users.resetE2EKey.
    """

    def __init__(self, client: Client, *, admin_user: str, admin_password: str,
                 admin_totp_secret: str | None = None, allow_config_changes: bool = False,
                 admin_user_id: str | None = None, admin_token: str | None = None) -> None:
        self.client = client
        self.prefix = f"rcc-{secrets.token_hex(4)}-"
        self.allow_config_changes = allow_config_changes
        self._admin_user, self._admin_password = admin_user, admin_password
        self._admin_totp = Totp(admin_totp_secret) if admin_totp_secret else None
        self._admin: Actor | None = None
        self._admin_refused: ProvisioningError | None = None  # a refused login is never sent again
        self._admin_pat = (admin_user_id, admin_token) if admin_user_id and admin_token else None
        self._created: dict[str, Actor] = {}  # user id -> actor, in creation order
        self._count = 0
        self._lock = threading.Lock()
        #: The crash record (conformance.state.RunState) of a live run, set by the plugin; None = no record.
        self.journal: Any = None
        register_secret(admin_password)
        register_secret(admin_token)

    # -- the admin session ---------------------------------------------------------------------
    @property
    def admin(self) -> Actor:
        """The configured admin's session: its personal access token, else one login (never retried)."""
        if self._admin_refused is not None:
            raise self._admin_refused
        if self._admin is None:
            try:
                self._admin = self._admin_session()
            except ProvisioningError as exc:
                self._admin_refused = exc
                raise
        return self._admin

    def _admin_session(self) -> Actor:
        if self._admin_pat is not None:
            uid, token = self._admin_pat
            resp = self.client.get(f"{API}/me", headers={"X-User-Id": uid, "X-Auth-Token": token})
            body = json_body(resp, "GET /api/v1/me with the admin's personal access token")
            if resp.status_code != 200:
                raise ProvisioningError(redact(f"the admin's personal access token was refused (HTTP "
                                               f"{resp.status_code}): check RCC_ADMIN_USER_ID and RCC_ADMIN_TOKEN"))
            return Actor(id=uid, username=str(body.get("username") or self._admin_user or uid),
                         password=self._admin_password, email="", token=token, roles=("admin",),
                         client=self.client)
        uid, token = login(self.client, self._admin_user, self._admin_password, self._admin_totp)
        return Actor(id=uid, username=self._admin_user, password=self._admin_password, email="",
                     token=token, roles=("admin",), client=self.client)

    def _as_admin(self, method: str, path: str, what: str, **kwargs: Any) -> dict[str, Any]:
        """One admin call; a 2FA challenge (8.x users.create, …) is answered once with the code it names."""
        headers = self.admin.auth_headers()
        resp = self.client.request(method, f"{API}/{path}", headers=headers, **kwargs)
        challenge = _two_factor_challenge(resp)
        if challenge is not None:
            code = self._admin_code(challenge, what)
            resp = self.client.request(method, f"{API}/{path}", headers={**headers, "x-2fa-code": code}, **kwargs)
        return _ok(resp, what)

    def _admin_code(self, method: str, what: str) -> str:
        """The admin's code for a 2FA-protected setup call, by the method the server asked for."""
        if method == "totp" and self._admin_totp is not None:
            return self._admin_totp.fresh()
        if method == "password" and self._admin_password:
            return password_code(self._admin_password)
        if method == "email":
            raise ProvisioningError(f"{what}: the server asks the admin for an e-mailed 2FA code, which the "
                                    f"suite cannot read: {EMAIL_CODE_WAYS_OUT}")
        need = {"totp": "the admin's TOTP secret (RCC_ADMIN_TOTP_SECRET)",
                "password": "the admin's password (RCC_ADMIN_PASSWORD) for the password fallback"}
        raise ProvisioningError(f"{what}: the server asks the admin for a {method} 2FA code; set "
                                f"{need.get(method, 'a personal access token with bypass two-factor')}")

    def read_setting(self, setting_id: str) -> Any:
        """A server setting's value as the admin reads it (GET settings/<id>); None when it cannot be read."""
        resp = self.client.get(f"{API}/settings/{setting_id}", headers=self.admin.auth_headers())
        try:
            body = resp.json()
        except ValueError:
            return None
        if resp.status_code != 200 or not isinstance(body, dict) or "value" not in body:
            return None
        return body["value"]

    # -- users ---------------------------------------------------------------------------------
    def _next_name(self, role: str) -> str:
        with self._lock:
            self._count += 1
            return f"{self.prefix}{role[0]}{self._count}"

    def create_user(self, role: str = "user", *, totp: bool = False, keys: bool = True,
                    verified: bool | None = None, login_now: bool | None = None) -> Actor:
        """A new user with one role, optional TOTP and E2E keys, logged in when it needs a session.

        Set up the way a default Rocket.Chat allows without a mailbox (behaviour.md §11.1): created
        with an unverified address (so e-mail 2FA is not active), logged in, then — when it must be
        verified (TOTP needs it; `verified=True` for an e-mail-2FA user) — marked verified by the
        admin, and TOTP switched on with that first session. `verified` defaults to `totp`: users
        without TOTP stay unverified, so they can log in again at any time with their password.
        """
        verified = totp if verified is None else verified
        if totp and not verified:
            raise ProvisioningError("TOTP needs a verified e-mail (Rocket.Chat refuses 2fa:enable otherwise)")
        username = self._next_name(role)
        password = f"Rcc-{secrets.token_urlsafe(18)}-9a"
        register_secret(password)
        email = f"{username}@example.com"  # example.com is reserved: the reset notification goes nowhere
        body = {"username": username, "email": email, "name": f"conformance {username}", "password": password,
                "roles": [role], "verified": False, "joinDefaultChannels": False,
                "sendWelcomeEmail": False, "requirePasswordChange": False}
        data = self._as_admin("POST", "users.create", f"create user {username}", json=body)
        try:
            uid = str(data["user"]["_id"])
        except (KeyError, TypeError):
            raise ProvisioningError(f"create user {username}: answer has no user._id") from None
        actor = Actor(id=uid, username=username, password=password, email=email, roles=(role,),
                      verified=False, client=self.client)
        self._created[uid] = actor
        if self.journal is not None:
            self.journal.add_user(uid, username)
        # A verified user without TOTP has e-mail 2FA at login: its only session is the one made now.
        if verified or (login_now if login_now is not None else keys):
            actor.relogin()
        if verified:
            self._as_admin("POST", "users.update", f"mark the address of {username} verified",
                           json={"userId": uid, "data": {"verified": True}})
            actor.verified = True
        if totp:
            self.enable_totp(actor)
        if keys:
            self.set_keys(actor)
        return actor

    def _method_call(self, actor: Actor, method: str, params: list[Any]) -> Any:
        """A DDP method over REST (method.call/<name>); returns the inner result or raises."""
        message = json.dumps({"msg": "method", "id": "1", "method": method, "params": params})
        data = _ok(self.client.post(f"{API}/method.call/{method}", headers=actor.auth_headers(),
                                    json={"message": message}), f"{method} for {actor.username}")
        try:
            inner = json.loads(data["message"])
        except (KeyError, TypeError, ValueError):
            raise ProvisioningError(f"{method} for {actor.username}: answer has no JSON 'message'") from None
        if inner.get("error"):
            err = inner["error"]
            reason = err.get("reason") or err.get("error") or err.get("message") if isinstance(err, dict) else err
            raise ProvisioningError(redact(f"{method} for {actor.username} refused: {reason}"))
        return inner.get("result")

    def enable_totp(self, actor: Actor) -> None:
        """Switch TOTP on (2fa:enable, then 2fa:validateTempToken with a fresh code); keep secret + backup codes."""
        result = self._method_call(actor, "2fa:enable", [])
        secret = result.get("secret") if isinstance(result, dict) else None
        if not secret:
            raise ProvisioningError(f"2fa:enable for {actor.username}: no secret in the answer")
        register_secret(secret)
        actor.totp_secret = secret
        result = self._method_call(actor, "2fa:validateTempToken", [Totp(secret).fresh()])
        codes = result.get("codes") if isinstance(result, dict) else None
        if not codes:
            raise ProvisioningError(f"2fa:validateTempToken for {actor.username}: no backup codes in the answer")
        for code in codes:
            register_secret(code)
        actor.backup_codes = list(codes)

    def set_keys(self, actor: Actor) -> None:
        public = json.dumps({"kty": "RSA", "e": "AQAB", "n": f"rcc-{secrets.token_hex(16)}"})
        private = f"rcc-private-{secrets.token_hex(24)}"
        register_secret(private)
        _ok(self.client.post(f"{API}/e2e.setUserPublicAndPrivateKeys", headers=actor.auth_headers(),
                             json={"public_key": public, "private_key": private, "force": True}),
            f"set E2E keys of {actor.username}")
        actor.keys = (public, private)

    def fetch_keys(self, actor: Actor) -> requests.Response:
        """`GET e2e.fetchMyKeys` as `actor` with its current token (the raw answer, for an expectation)."""
        return self.client.get(f"{API}/e2e.fetchMyKeys", headers=actor.auth_headers())

    def me(self, actor: Actor) -> requests.Response:
        return self.client.get(f"{API}/me", headers=actor.auth_headers())

    def logout(self, actor: Actor) -> None:
        _ok(self.client.post(f"{API}/logout", headers=actor.auth_headers()), f"logout of {actor.username}")

    def spend_code(self, caller: Actor, code: str, target: Actor) -> None:
        """Setup step: one reset of `target` with `code` that must succeed (e.g. to use up a backup code)."""
        resp = self.client.post(RESET, headers=caller.auth_headers(code), json={"userId": target.id})
        body = json_body(resp, "setup reset")
        if resp.status_code != 200 or body.get("success") is not True:
            raise ProvisioningError(redact(f"setup reset of {target.username} with a valid code was refused "
                                           f"(HTTP {resp.status_code}: {body.get('error')}); cannot judge"))

    def attempt_refused_reset(self, caller: Actor, target: Actor) -> None:
        """Setup for PERM-02: `caller` (without the permission) names `target` with a valid code.

        The answer itself is judged by PERM-01; here it only has to have reached the permission check.
        Refused earlier (401, 429, 2FA, lookup), the call says nothing about what a refusal changes.
        """
        resp = self.client.post(RESET, headers=caller.auth_headers(caller.code()), json={"userId": target.id})
        body = json_body(resp, "refused reset")
        early = body.get("errorType") in ("totp-required", "totp-invalid", "error-invalid-user",
                                          "error-user-param-not-provided")
        if resp.status_code in (401, 429) or early:
            raise ProvisioningError(redact(f"the call by {caller.username} was refused before the permission check "
                                           f"(HTTP {resp.status_code}: {body.get('error')}); cannot judge"))

    def spend_wrong_email_codes(self, caller: Actor, body: dict[str, Any], wrong: int) -> None:
        """Setup for TFA-10: have a code e-mailed (call without a code), then send `wrong` wrong codes."""
        for code in [None] + ["000000"] * wrong:
            resp = self.client.post(RESET, headers=caller.auth_headers(code), json=body)
            if resp.status_code != 400:
                # The server broke the rule under test (TFA-10) while being set up for it: a failure, not an error.
                expect_error(resp, 400, "totp-required" if code is None else "totp-invalid")

    def exhaust_rate_limit(self, caller: Actor, body: dict[str, Any]) -> int:
        """Setup for RATE-01: call until the window is used up (Remaining 0 or a 429); returns calls made."""
        cap = 10  # Rocket.Chat's default; replaced by X-RateLimit-Limit when the server sends it
        sent = 0
        while sent <= cap:
            resp = self.client.post(RESET, headers=caller.auth_headers(), json=body)
            sent += 1
            if resp.status_code == 429 or resp.headers.get("X-RateLimit-Remaining") == "0":
                break
            limit = resp.headers.get("X-RateLimit-Limit", "")
            cap = min(int(limit), 100) if limit.isdigit() else cap
        return sent

    # -- cleanup -------------------------------------------------------------------------------
    def pending(self) -> bool:
        """True while users created by this run are not yet deleted."""
        return bool(self._created)

    def delete_user(self, actor: Actor) -> None:
        self._as_admin("POST", "users.delete", f"delete user {actor.username}",
                       json={"userId": actor.id, "confirmRelinquish": True})
        self._created.pop(actor.id, None)
        if self.journal is not None:
            self.journal.remove_user(actor.id)

    def sweep(self) -> list[str]:
        """Delete every user whose username starts with this run's prefix (leftovers of a crash)."""
        found: list[dict[str, Any]] = []
        offset = 0
        while True:
            page = self._as_admin("GET", "users.list", "list users",
                                  params={"count": LIST_PAGE, "offset": offset})
            users = page.get("users") or []
            found += [u for u in users if str(u.get("username", "")).startswith(self.prefix)]
            offset += len(users)
            if not users or offset >= int(page.get("total") or 0):
                break
        for user in found:
            self._as_admin("POST", "users.delete", f"delete leftover user {user.get('username')}",
                           json={"userId": user["_id"], "confirmRelinquish": True})
        return [str(u.get("username")) for u in found]

    def cleanup(self) -> None:
        """Delete everything created, then sweep the prefix; report every failure (never swallow it)."""
        failures: list[str] = []
        unreachable = False
        with signals_deferred(reraise=False):  # a second Ctrl-C must not strand the remaining users
            for actor in list(self._created.values()):
                try:
                    self.delete_user(actor)
                except Exception as exc:  # keep going: the other users must still be deleted
                    failures.append(str(exc))
                    # ...unless the target stopped answering: every further call would wait out its
                    # timeout too (minutes for many users); the crash record keeps what is left.
                    unreachable = str(exc).startswith(("cannot reach", "no answer from"))
                    if unreachable:
                        break
            # Without an admin session no users.create was ever sent: nothing to sweep (and no login to retry).
            if self._admin is not None and not unreachable:
                try:
                    self.sweep()
                except Exception as exc:
                    failures.append(f"sweep of {self.prefix}*: {exc}")
        if failures:
            where = (f"; leftovers are recorded in {self.journal.path}: remove them with "
                     f"`rc-conformance cleanup --url {self.journal.url}`") if self.journal is not None else ""
            raise ProvisioningError(redact(f"cleanup left users behind ({len(failures)} problem(s)): "
                                           + "; ".join(failures) + where))

    # -- server configuration (only where allowed) ---------------------------------------------
    @contextmanager
    def granted(self, permission: str, role: str) -> Iterator[None]:
        """Add `role` to `permission` for the duration of the block, then restore the previous roles."""
        if not self.allow_config_changes:
            raise ProvisioningError("changing permissions is not allowed on this target (allow_config_changes)")
        listing = self._as_admin("GET", "permissions.listAll", "list permissions")
        before = next((p.get("roles") for p in listing.get("update", []) if p.get("_id") == permission), None)
        if before is None:
            raise ProvisioningError(f"permission {permission} not found on the target")
        after = sorted(set(before) | {role})
        if self.journal is not None:  # recorded first: a kill during the update still knows the old roles
            self.journal.permission_changing(permission, list(before), after)
        self._as_admin("POST", "permissions.update", f"grant {permission} to {role}",
                       json={"permissions": [{"_id": permission, "roles": after}]})
        try:
            yield
        finally:
            with signals_deferred(reraise=True):  # an interrupt must not land between grant and restore
                self._as_admin("POST", "permissions.update", f"restore {permission}",
                               json={"permissions": [{"_id": permission, "roles": list(before)}]})
                if self.journal is not None:
                    self.journal.permission_restored(permission)
