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

from .actors import EMAIL_CODE_WAYS_OUT, Actor, login, ok_body
from .cleanup import signals_deferred
from .client import Client
from .totp import Totp, password_code

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

    # -- the admin: the one way it calls the server ----------------------------------------------
    @property
    def admin(self) -> Actor:
        """The configured admin's session: its personal access token, else one login (never retried)."""
        with self._lock:  # the first use may come from two threads: still one login
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
        # No password on the Actor: the admin is never logged in again behind the operator's back.
        if self._admin_pat is not None:
            uid, token = self._admin_pat
            admin = Actor(id=uid, username=self._admin_user or uid, password="", email="", token=token,
                          roles=("admin",), client=self.client)
            status = admin.me().status_code
            if status != 200:
                raise ProvisioningError(f"the admin's personal access token was refused (HTTP {status}): check "
                                        "RCC_ADMIN_USER_ID and RCC_ADMIN_TOKEN")
            return admin
        uid, token = login(self.client, self._admin_user, self._admin_password, self._admin_totp)
        return Actor(id=uid, username=self._admin_user, password="", email="", token=token, roles=("admin",),
                     client=self.client)

    def admin_call(self, method: str, path: str, what: str, **kwargs: Any) -> requests.Response:
        """One call as the admin; a 2FA challenge (8.x users.create, …) is answered once with the code it names."""
        resp = self.admin.call(method, path, **kwargs)
        challenge = _two_factor_challenge(resp)
        if challenge is not None:
            resp = self.admin.call(method, path, code=self._admin_code(challenge, what), **kwargs)
        return resp

    def as_admin(self, method: str, path: str, what: str, **kwargs: Any) -> dict[str, Any]:
        """`admin_call` that must succeed: its JSON object, else ProvisioningError."""
        return ok_body(self.admin_call(method, path, what, **kwargs), what)

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
        resp = self.admin_call("GET", f"settings/{setting_id}", f"read setting {setting_id}")
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
                    verified: bool | None = None) -> Actor:
        """A new user with one role, optional TOTP and E2E keys; it logs in when it first needs a session.

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
        data = self.as_admin("POST", "users.create", f"create user {username}", json=body)
        try:
            uid = str(data["user"]["_id"])
        except (KeyError, TypeError):
            raise ProvisioningError(f"create user {username}: answer has no user._id") from None
        actor = Actor(id=uid, username=username, password=password, email=email, roles=(role,),
                      verified=False, client=self.client)
        self._created[uid] = actor
        if self.journal is not None:
            self.journal.add_user(uid, username)
        if verified:  # logged in first: once verified without TOTP, a login would need an e-mailed code
            actor.relogin()
            self.as_admin("POST", "users.update", f"mark the address of {username} verified",
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
        data = ok_body(actor.call("POST", f"method.call/{method}", json={"message": message}),
                       f"{method} for {actor.username}")
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
        ok_body(actor.call("POST", "e2e.setUserPublicAndPrivateKeys",
                           json={"public_key": public, "private_key": private, "force": True}),
                f"set E2E keys of {actor.username}")
        actor.keys = (public, private)

    # -- cleanup -------------------------------------------------------------------------------
    def pending(self) -> bool:
        """True while users created by this run are not yet deleted."""
        return bool(self._created)

    def delete_user(self, actor: Actor) -> None:
        self.as_admin("POST", "users.delete", f"delete user {actor.username}",
                      json={"userId": actor.id, "confirmRelinquish": True})
        self._created.pop(actor.id, None)
        if self.journal is not None:
            self.journal.remove_user(actor.id)

    def sweep(self) -> list[str]:
        """Delete every user whose username starts with this run's prefix (leftovers of a crash)."""
        found: list[dict[str, Any]] = []
        offset = 0
        while True:
            page = self.as_admin("GET", "users.list", "list users", params={"count": LIST_PAGE, "offset": offset})
            users = page.get("users") or []
            found += [u for u in users if str(u.get("username", "")).startswith(self.prefix)]
            offset += len(users)
            if not users or offset >= int(page.get("total") or 0):
                break
        for user in found:
            self.as_admin("POST", "users.delete", f"delete leftover user {user.get('username')}",
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
        listing = self.as_admin("GET", "permissions.listAll", "list permissions")
        before = next((p.get("roles") for p in listing.get("update", []) if p.get("_id") == permission), None)
        if before is None:
            raise ProvisioningError(f"permission {permission} not found on the target")
        after = sorted(set(before) | {role})
        if self.journal is not None:  # recorded first: a kill during the update still knows the old roles
            self.journal.permission_changing(permission, list(before), after)
        self.as_admin("POST", "permissions.update", f"grant {permission} to {role}",
                      json={"permissions": [{"_id": permission, "roles": after}]})
        try:
            yield
        finally:
            with signals_deferred(reraise=True):  # an interrupt must not land between grant and restore
                self.as_admin("POST", "permissions.update", f"restore {permission}",
                              json={"permissions": [{"_id": permission, "roles": list(before)}]})
                if self.journal is not None:
                    self.journal.permission_restored(permission)
